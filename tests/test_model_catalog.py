"""The static model table of `ttszoo models` equals the registry's built-in models."""

from ttszoo.model_catalog import built_in_models


def test_catalog_equals_the_registry():
    from ttszoo.models import list_models

    registered = {
        (info.name, info.family, info.paper, info.description)
        for info in list_models()
        if info.cls.__module__.startswith("ttszoo.")
    }
    catalog = {(e.name, e.family, e.paper, e.description) for e in built_in_models()}
    assert catalog == registered

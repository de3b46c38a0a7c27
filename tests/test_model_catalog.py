"""The static model table of `ttszoo models` equals the registry's built-in models."""

from ttszoo.model_catalog import BUILT_IN_MODELS


def test_catalog_equals_the_registry():
    from ttszoo.models import list_models

    registered = {
        (info.name, info.family, info.paper, info.description)
        for info in list_models()
        if info.cls.__module__.startswith("ttszoo.")
    }
    catalog = {(e.name, e.family, e.paper, e.description) for e in BUILT_IN_MODELS}
    assert catalog == registered

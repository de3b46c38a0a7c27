"""The model registry: registration, gin bindings, lookup errors with close matches."""

import keras
import pytest

import gin
from ttszoo.models import (
    AcousticModel,
    UnknownModelError,
    VocoderModel,
    get_model,
    get_model_info,
    list_models,
    register_model,
)


@register_model("registry_probe", paper="Nobody 2024", description="A  probe\n model.")
class RegistryProbe(VocoderModel):
    def __init__(self, width=3, **kwargs):
        super().__init__(**kwargs)
        self.width = width

    def compute_losses(self, batch, training=False):
        return {"loss": keras.ops.mean(batch["mel"])}

    def vocode(self, mel):
        return {"audio": keras.ops.mean(mel, axis=-1)}


def test_registered_model_is_listed_with_its_metadata():
    info = get_model_info("registry_probe")
    assert (info.cls, info.family, info.paper, info.description) == (
        RegistryProbe,
        "vocoder",
        "Nobody 2024",
        "A probe model.",
    )
    assert (
        info in list_models()
        and info in list_models("vocoder")
        and info not in list_models("acoustic")
    )
    assert RegistryProbe.registry_name == "registry_probe"


def test_get_model_applies_gin_bindings_then_overrides():
    gin.clear_config()
    gin.parse_config("RegistryProbe.width = 7\nget_model.name = 'registry_probe'")
    try:
        assert get_model().width == 7
        assert get_model(width=9).width == 9
    finally:
        gin.clear_config()
    assert get_model("registry_probe").width == 3


def test_unknown_name_lists_close_matches():
    with pytest.raises(UnknownModelError, match="Did you mean 'registry_probe'"):
        get_model("registry_prob")


def test_bad_registrations_are_refused():
    with pytest.raises(ValueError, match="family"):
        register_model("x", family="decoder", paper="p", description="d")
    with pytest.raises(ValueError, match="paper"):
        register_model("x", family="acoustic", paper="", description="d")
    with pytest.raises(ValueError, match="already registered"):
        register_model("registry_probe", paper="p", description="d")(
            type("Other", (RegistryProbe,), {})
        )


def test_registration_takes_the_family_from_the_class_and_checks_the_contract():
    decorate = register_model("contract_probe", paper="p", description="d")
    with pytest.raises(ValueError, match="must subclass ttszoo.models.AcousticModel"):
        decorate(type("Plain", (keras.Model,), {}))
    with pytest.raises(ValueError, match=r"must implement \['compute_losses', 'synthesize'\]"):
        decorate(type("Unfinished", (AcousticModel,), {}))
    with pytest.raises(ValueError, match="registered as 'acoustic' but Probe is a vocoder"):
        register_model("contract_probe", family="acoustic", paper="p", description="d")(
            type("Probe", (VocoderModel,), {"compute_losses": None, "vocode": None})
        )
    assert "contract_probe" not in {info.name for info in list_models()}

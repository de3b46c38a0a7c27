"""Fingerprints: equal for two instances of one model, differences named setting by setting."""

import pytest
from tiny_models import TinyAcoustic, synthetic_dataset

from ttszoo.training.fingerprint import (
    FingerprintMismatchError,
    check_fingerprint,
    compute_fingerprint,
    save_fingerprint,
)


def _built(**kwargs):
    model = TinyAcoustic(**kwargs)
    model.compute_losses(next(iter(synthetic_dataset(None))), training=False)
    return model


def test_same_model_twice_has_the_same_fingerprint(tmp_path):
    first, second = compute_fingerprint(_built()), compute_fingerprint(_built())
    assert first == second
    assert first["model"] == "tiny_acoustic"
    assert first["parameter_count"] == 40 * 8 + 8 * 8 + 8
    save_fingerprint(tmp_path / "fingerprint.json", first)
    check_fingerprint(tmp_path / "fingerprint.json", _built())


def test_a_changed_hyperparameter_is_named(tmp_path):
    save_fingerprint(tmp_path / "fingerprint.json", compute_fingerprint(_built()))
    with pytest.raises(FingerprintMismatchError) as error:
        check_fingerprint(tmp_path / "fingerprint.json", _built(hidden=16))
    message = str(error.value)
    assert "hyperparameters.hidden: 8 in the model directory, 16 now" in message
    assert "parameter_count: 392 in the model directory, 776 now" in message


def test_a_hyperparameter_added_later_matches_at_its_default_only(tmp_path):
    # A directory written before TinyAcoustic had "reduction_factor": its fingerprint lacks it.
    saved = compute_fingerprint(_built())
    del saved["hyperparameters"]["reduction_factor"]
    save_fingerprint(tmp_path / "fingerprint.json", saved)
    check_fingerprint(tmp_path / "fingerprint.json", _built())  # at its default 1: loads
    with pytest.raises(FingerprintMismatchError) as error:
        check_fingerprint(tmp_path / "fingerprint.json", _built(reduction_factor=2))
    assert "hyperparameters.reduction_factor: '<absent>' in the model directory, 2 now" in str(
        error.value
    )


def test_a_hyperparameter_added_to_a_base_class_matches_at_its_default_only(tmp_path):
    """Vocos takes GANVocoder's arguments through **kwargs: a directory written before
    GANVocoder had "pretrain_mel_steps" loads while it is at its default 0."""
    from ttszoo.models.vocos import Vocos

    def built(**kwargs):
        model = Vocos(n_mels=8, dim=8, intermediate_dim=16, num_layers=1, **kwargs)
        model.build((1, 4, 8))
        return model

    saved = compute_fingerprint(built())
    del saved["hyperparameters"]["pretrain_mel_steps"]
    save_fingerprint(tmp_path / "fingerprint.json", saved)
    check_fingerprint(tmp_path / "fingerprint.json", built())
    with pytest.raises(FingerprintMismatchError, match="pretrain_mel_steps: '<absent>'"):
        check_fingerprint(tmp_path / "fingerprint.json", built(pretrain_mel_steps=5))

"""Shared pytest setup: the `slow` marker, quiet TensorFlow logs, deterministic seeds."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: trains a model for minutes; excluded from the default run (-m 'not slow')"
    )


@pytest.fixture(autouse=True)
def _seed_everything():
    """Seeds numpy, Python and TensorFlow so every test is reproducible on its own."""
    import keras

    keras.utils.set_random_seed(1234)
    yield

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


@pytest.fixture(autouse=True)
def _clear_gin_bindings():
    """Forgets every gin binding a test parsed, so no test sees another test's recipe."""
    yield
    import gin

    gin.clear_config()


@pytest.fixture(scope="session")
def demo_corpus_dir(tmp_path_factory):
    """A 12-utterance slice of the eSpeak NG demo corpus (built once per test session)."""
    from ttszoo.data import build_demo_corpus

    return build_demo_corpus(tmp_path_factory.mktemp("demo_corpus"), limit=12, progress=False)


@pytest.fixture(scope="session")
def demo_records_dir(demo_corpus_dir, tmp_path_factory):
    """The corpus slice preprocessed (in-process) into TFRecords with every feature."""
    from ttszoo.data import preprocess_corpus

    out = tmp_path_factory.mktemp("demo_records")
    preprocess_corpus(demo_corpus_dir, out, num_workers=1, validation_fraction=0.2, progress=False)
    return out

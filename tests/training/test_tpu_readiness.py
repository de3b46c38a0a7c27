"""TPU readiness on the CPU: every registered model's demo recipe, parsed with one length bucket
and mixed_bfloat16, gives batches of fully static shapes, and its training computation (loss
and gradients) lowers to XLA with no call back into the host.

Lowering to HLO (``experimental_get_compiler_ir(...)(stage="hlo")``) runs TensorFlow's XLA
bridge, where unsupported and host-only operations and dynamic shapes are refused, without the
CPU code generation that a TPU does not use (running the DCTTS step with XLA on this CPU takes
minutes; the per-model tests in tests/models run smaller XLA steps to completion).
"""

import keras
import pytest
import tensorflow as tf

import gin
from ttszoo.models import get_model, list_models
from ttszoo.training import demo_recipes, packaged_gin_files
from ttszoo.training.loss_groups import group_variables

# XLA HLO instructions that move data between the host and the device inside a step.
HOST_TRANSFER_INSTRUCTIONS = ("send(", "recv(", "infeed(", "outfeed(", "host-compute")


def test_every_registered_model_has_a_packaged_demo_recipe_for_it():
    packaged = set(packaged_gin_files())
    # The package's models (tests register tiny models of their own).
    for info in [i for i in list_models() if i.cls.__module__.startswith("ttszoo.")]:
        recipe = demo_recipes.demo_recipe(info.name)
        assert recipe in packaged
        demo_recipes.parse_static_demo_recipe(info.name, "float32", ["RECORDS_DIR = 'unused'"])
        assert gin.query_parameter("get_model.name") == info.name
        assert gin.query_parameter("ttszoo.data.make_dataset.num_buckets") == 1
    with pytest.raises(KeyError, match="No demo recipe for model 'nope'"):
        demo_recipes.demo_recipe("nope")


def test_host_callback_ops_are_found_in_called_functions():
    @tf.function
    def inner(x):
        return tf.py_function(lambda v: v * 2, [x], tf.float32)

    @tf.function
    def outer(x):
        return inner(x) + 1.0

    assert demo_recipes.host_callback_ops(outer.get_concrete_function(tf.constant(1.0))) == [
        "EagerPyFunc"
    ]
    plain = tf.function(lambda x: x * 2).get_concrete_function(tf.constant(1.0))
    assert demo_recipes.host_callback_ops(plain) == []


def test_unknown_dimensions_names_the_feature():
    spec = {
        "mel": tf.TensorSpec([2, None, 80]),
        "text": tf.TensorSpec([2, 17], tf.int32),
    }
    assert demo_recipes.unknown_dimensions(spec) == [("mel", tf.TensorShape([2, None, 80]))]


@pytest.fixture(scope="module")
def records_by_features(tmp_path_factory):
    """Preprocessed records, one folder per distinct audio/text setting (shared by recipes)."""
    return {}, tmp_path_factory.mktemp("tpu_readiness")


@pytest.mark.slow
@pytest.mark.parametrize("name", demo_recipes.package_model_names())
def test_demo_recipe_step_lowers_to_xla_with_static_shapes_in_bfloat16(
    name, demo_corpus_dir, records_by_features
):
    from ttszoo.audio import AudioConfig
    from ttszoo.text import Tokenizer

    demo_recipes.parse_static_demo_recipe(name, "mixed_bfloat16", ["BATCH_SIZE = 2"])
    cache, root = records_by_features
    features = (repr(gin.get_configurable(AudioConfig)()), repr(gin.get_configurable(Tokenizer)()))
    if features not in cache:
        cache[features] = root / f"records{len(cache)}"
        demo_recipes.preprocess_for_parsed_recipe(demo_corpus_dir, cache[features])
    dataset = demo_recipes.static_dataset(cache[features])
    assert demo_recipes.unknown_dimensions(dataset.element_spec) == []
    batch = next(iter(dataset))

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = get_model()
        # Every player active (a GAN vocoder's discriminators too), so that all of them build.
        model.set_active_groups(tuple(group.name for group in model.loss_groups()))
        model.compute_losses(batch, training=False)
    finally:
        keras.config.set_dtype_policy(previous)
    assert model.dtype_policy.name == "mixed_bfloat16"
    groups = model.loss_groups()

    @tf.function(jit_compile=True)
    def loss_and_gradients(batch):
        """Each loss group's loss and its gradients, as the trainer's step computes them."""
        results = []
        for group in groups:
            variables = group_variables(model, group)
            with tf.GradientTape() as tape:
                losses = model.compute_losses(batch, training=True)
                loss = tf.cast(losses[group.loss], tf.float32)
            results.append((loss, tape.gradient(loss, variables)))
        return results

    assert demo_recipes.host_callback_ops(loss_and_gradients.get_concrete_function(batch)) == []
    hlo = loss_and_gradients.experimental_get_compiler_ir(batch)(stage="hlo")
    assert "ENTRY" in hlo and "bf16[" in hlo
    assert not [i for i in HOST_TRANSFER_INSTRUCTIONS if i in hlo]

"""Each registered model's demo recipe, set up the way a TPU needs it.

A TPU runs only XLA-compiled steps with static shapes, so the recipe is parsed with one length
bucket (every batch padded to one shape; the pipeline batches with ``drop_remainder=True``) and
trained with ``jit_compile=True``. The TPU-readiness test (tests/training/test_tpu_readiness.py)
and benchmarks/accelerator_check.py both build their trainers here (docs/distributed.md).
"""

import tensorflow as tf

import gin
from ttszoo.errors import InvalidInputError
from ttszoo.training.gin_config import parse_gin
from ttszoo.training.optimization import make_optimizer
from ttszoo.training.trainer import Trainer

# A model's demo recipe is recipes/<model name>/demo.gin, except for these (gin/recipes/).
NAMED_DEMO_RECIPES = {
    "dctts_text2mel": "recipes/dctts/text2mel_demo.gin",
    "dctts_ssrn": "recipes/dctts/ssrn_demo.gin",
}
STATIC_SHAPE_BINDINGS = ("ttszoo.data.make_dataset.num_buckets = 1",)
PRECISION_FILES = {
    "float32": (),
    "mixed_bfloat16": ("optimization/mixed_bfloat16.gin",),
    "mixed_float16": ("optimization/mixed_float16.gin",),
}
# Operations that call back into the Python host in the middle of a step.
HOST_CALLBACK_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})


def demo_recipe(name):
    """Returns the demo recipe of registered model ``name``: ``recipes/<name>/demo.gin`` unless
    ``NAMED_DEMO_RECIPES`` names another; a ``KeyError`` when the packaged gin files lack it."""
    from ttszoo.training.gin_config import packaged_gin_files

    recipe = NAMED_DEMO_RECIPES.get(name, f"recipes/{name}/demo.gin")
    if recipe not in set(packaged_gin_files()):
        raise KeyError(
            f"No demo recipe for model {name!r}: write gin/recipes/{name}/demo.gin (or name "
            "another in NAMED_DEMO_RECIPES of ttszoo/training/demo_recipes.py)."
        )
    return recipe


def package_model_names():
    """The names of the models that ttszoo's own families register, sorted."""
    from ttszoo.models import list_models

    return sorted(i.name for i in list_models() if i.cls.__module__.startswith("ttszoo."))


def parse_static_demo_recipe(name, precision="mixed_bfloat16", params=()):
    """Clears gin and parses ``name``'s demo recipe with one length bucket, ``precision`` and
    the extra bindings ``params`` (e.g. ``"BATCH_SIZE = 2"``)."""
    if precision not in PRECISION_FILES:
        raise InvalidInputError(
            f"precision must be one of {sorted(PRECISION_FILES)}, got {precision!r}."
        )
    gin.clear_config()
    parse_gin([demo_recipe(name), *PRECISION_FILES[precision]], [*STATIC_SHAPE_BINDINGS, *params])


def preprocess_for_parsed_recipe(corpus_dir, out_dir, num_workers=1):
    """Preprocesses ``corpus_dir`` with the parsed recipe's audio and text settings."""
    from ttszoo.audio import AudioConfig
    from ttszoo.data import preprocess_corpus
    from ttszoo.text import Tokenizer

    return preprocess_corpus(
        corpus_dir,
        out_dir,
        audio_config=gin.get_configurable(AudioConfig)(),
        tokenizer=gin.get_configurable(Tokenizer)(),
        num_workers=num_workers,
        progress=False,
    )


def static_dataset(records_dir):
    """The parsed recipe's training batches from ``records_dir`` (one static shape)."""
    from ttszoo.data import make_dataset

    return gin.get_configurable(make_dataset)(records_dir, split="train")


def static_trainer(
    model_dir, dataset, precision, strategy=None, steps_per_execution=1, jit_compile=True
):
    """A ``Trainer`` for the parsed recipe's model on ``dataset`` (``static_dataset``) with
    nothing but training steps (no checkpoints, summaries, validation or samples), on
    ``strategy`` (default: this device), XLA-compiled unless ``jit_compile`` is false.
    """
    from ttszoo.models import get_model

    return Trainer(
        model_dir,
        strategy or tf.distribute.get_strategy(),
        get_model,
        make_optimizer,
        dataset,
        None,
        precision=precision,
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
        checkpoint_every=0,
        log_every=0,
        validate_every=0,
        sample_every=0,
        verbose=False,
    )


def unknown_dimensions(element_spec):
    """Returns ``[(feature name, shape)]`` of every batch feature whose shape is not static."""
    return [
        (name, spec.shape)
        for name, spec in element_spec.items()
        if not spec.shape.is_fully_defined()
    ]


def host_callback_ops(concrete_function):
    """Returns the sorted op types of ``HOST_CALLBACK_OPS`` found in a concrete function's graph
    or in any function it calls."""
    graph_def = concrete_function.graph.as_graph_def()
    nodes = list(graph_def.node)
    for function in graph_def.library.function:
        nodes.extend(function.node_def)
    return sorted({node.op for node in nodes if node.op in HOST_CALLBACK_OPS})

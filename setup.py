"""Packaging for ttszoo.

The experiment files in the top-level ``gin/`` folder are shipped inside the wheel as the
``ttszoo.gin`` package data, so ``ttszoo.gin_search_paths()`` finds them after a
non-editable ``pip install .`` as well as in a source checkout.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


# The TPU build of TensorFlow (docs/install.md). TensorFlow Probability needs tf-keras, which
# needs plain ``tensorflow``, so both wheels end up installed: they are pinned to the same
# release so their shared files agree. tensorflow-tpu 2.20 asks for ``libtpu~=0.0.14``, which
# lets pip take the newest libtpu (built for newer JAX releases); libtpu is held at the 0.0.14
# that TensorFlow 2.20 was released against.
TPU_REQUIREMENTS = [
    "tensorflow-tpu>=2.20,<2.21",
    "tensorflow>=2.20,<2.21",
    "tf-keras>=2.20,<2.21",
    "libtpu==0.0.14",
]


def _version():
    namespace = {}
    exec((HERE / "ttszoo" / "version.py").read_text(), namespace)
    return namespace["__version__"]


setup(
    name="ttszoo",
    version=_version(),
    description="A TensorFlow / Keras 3 text-to-speech model zoo: DCTTS, Transformer TTS with "
    "stepwise monotonic attention, WaveNet (mixture of logistics) and WaveGrad.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["ttszoo", "ttszoo.*"]) + ["ttszoo.gin"],
    package_dir={"ttszoo.gin": "gin"},
    package_data={"ttszoo.gin": ["*.gin", "**/*.gin"], "ttszoo.data": ["*.txt"]},
    install_requires=[
        "tensorflow>=2.18",
        "keras>=3",
        "tensorflow-probability[tf]>=0.25",
        "librosa>=0.10",
        "soundfile>=0.12",
        "gin-config>=0.5",
        "absl-py>=1.0",
        "numpy>=1.24",
        "tqdm>=4.60",
        "tensorboard>=2.18",
    ],
    extras_require={
        "demo": ["espeakng-loader>=0.2"],
        "plots": ["matplotlib>=3.6"],
        # `ttszoo evaluate` with its defaults: eSpeak NG references and pictures.
        "eval": ["espeakng-loader>=0.2", "matplotlib>=3.6"],
        # The viewer; also a requirement, since tf.summary's writers live in it.
        "tensorboard": ["tensorboard>=2.18"],
        "gpu": ["tensorflow[and-cuda]>=2.18"],
        "tpu": TPU_REQUIREMENTS,
        "dev": [
            "pytest>=7",
            "pytest-xdist>=3",
            "ruff>=0.5",
            "scipy>=1.10",
            "espeakng-loader>=0.2",
            "matplotlib>=3.6",
            "setuptools>=64",
            "wheel",
            "build>=1.0",
            "twine>=5",
            "nbformat>=5.9",
            "nbclient>=0.10",
            "ipykernel>=6.29",
        ],
    },
    entry_points={"console_scripts": ["ttszoo=ttszoo.cli:run"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Multimedia :: Sound/Audio :: Speech",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)

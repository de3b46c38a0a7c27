"""The package version, read by setup.py and exposed as ``ttszoo.__version__``."""

__version__ = "0.1.0"

"""The package version, in a module of its own so that subpackages can name it without
importing the public API in torchfuzz/__init__.py."""

__version__ = "0.1.0"

"""A generated program as a case: the graph with the seed, options and versions that made it."""

from __future__ import annotations

import torch

from torchfuzz._version import __version__
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.serialize import Case


def versions() -> dict[str, str]:
    """The versions every case records: torchfuzz's and torch's."""
    return {"torchfuzz": __version__, "torch": torch.__version__}


def generate_case(seed: int, options: GeneratorOptions | None = None) -> Case:
    """`generate(seed, options)` wrapped with what reproduces it. Cases are what campaigns
    run and what `torchfuzz generate` writes: every node is verified on FakeTensors (a few ms
    next to seconds of compiling)."""
    options = options or GeneratorOptions()
    return Case(generate(seed, options, fake=True), seed, options.to_dict(), versions())

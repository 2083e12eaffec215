"""torchfuzz: a fuzzer for PyTorch's compiler (Dynamo, AOTAutograd, Inductor, custom backends).

import torchfuzz
graph = torchfuzz.generate(seed=3)
outcome = torchfuzz.check(graph, seed=3, variants=["aot_eager"])
script = torchfuzz.to_python(graph, seed=3)
module = torchfuzz.to_fx(graph)
"""

from __future__ import annotations

from collections.abc import Sequence

from torchfuzz._version import __version__
from torchfuzz.backends.lowering import to_fx
from torchfuzz.backends.outcome import Outcome
from torchfuzz.backends.python import to_python as _to_python
from torchfuzz.backends.runner import check as _check
from torchfuzz.backends.runner import resolve_variants
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.graph import Graph


def check(
    graph: Graph,
    seed: int,
    variants: Sequence[str] | None = None,
    backend: str | None = None,
) -> Outcome:
    """Run `graph` (inputs from `seed`) eagerly and under each named variant; the verdict."""
    return _check(graph, seed, resolve_variants(variants, backend))


def to_python(
    graph: Graph,
    seed: int,
    variants: Sequence[str] | None = None,
    backend: str | None = None,
) -> str:
    """A standalone script that checks `graph` under the variants; exits 1 on a finding."""
    return _to_python(graph, seed, resolve_variants(variants, backend))


__all__ = [
    "GeneratorOptions",
    "Graph",
    "Outcome",
    "__version__",
    "check",
    "generate",
    "to_fx",
    "to_python",
]

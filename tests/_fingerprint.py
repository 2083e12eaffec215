"""A program's fingerprint: what must stay byte-identical when the code around it is
reorganised (the IR text, the JSON case, the lowered FX code and the input builders)."""

from __future__ import annotations

import hashlib
import json

from torchfuzz.backends.inputs import input_call
from torchfuzz.backends.lowering import lower_to_fx
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.serialize import graph_to_dict


def fingerprint(seed: int, options: GeneratorOptions | None = None) -> str:
    """sha256 (first 16 hex digits) of seed's program: IR text, case JSON, FX code, inputs."""
    options = options or GeneratorOptions()
    graph = generate(seed=seed, options=options)
    parts = [
        graph.text(),
        json.dumps(graph_to_dict(graph)),
        lower_to_fx(graph).python_code(root_module="self").src,
        repr([input_call(inp, seed)[1] for inp in graph.inputs]),
        repr([getattr(input_call(inp, seed)[0], "__name__", None) for inp in graph.inputs]),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]

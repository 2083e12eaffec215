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


def _chunk(job: tuple[str, int, int]) -> tuple[str, dict[str, str]]:
    from tests._core_ops import CORE_OPS

    kind, start, stop = job
    options = GeneratorOptions(ops=CORE_OPS) if kind == "core" else None
    return kind, {str(s): fingerprint(s, options) for s in range(start, stop)}


def record(path: str) -> None:
    """Rewrite the recorded fingerprints (after a change that is meant to change programs)."""
    import concurrent.futures

    jobs = [("default", a, a + 250) for a in range(0, 2000, 250)] + [("core", 0, 250)]
    recorded: dict[str, dict[str, str]] = {"default": {}, "core": {}}
    with concurrent.futures.ProcessPoolExecutor() as pool:
        for kind, chunk in pool.map(_chunk, jobs):
            recorded[kind].update(chunk)
    with open(path, "w") as handle:
        json.dump(recorded, handle, indent=0)


if __name__ == "__main__":
    record("tests/data/program_fingerprints.json")

"""Minimizer quality: seeded 30-node programs that trip synthetic bugs (tests/_bugs.py,
built on aot_eager) reduce to exactly the trigger pattern, keep their signature, are
1-minimal and come out the same on every run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests._core_ops import CORE_OPTIONS
from torchfuzz.backends.repro import to_repro
from torchfuzz.backends.runner import node_values, resolve_variants
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.shrink import moves as reduce
from torchfuzz.shrink.minimize import Minimizer, NothingToMinimize, minimize_case, run_signature

OPTIONS = GeneratorOptions(num_nodes=30, max_depth=10, dtypes=(torch.float32,), **CORE_OPTIONS)
BUGS = "tests._bugs:"
REPO = Path(__file__).resolve().parents[2]

EXPECTED = {
    ("wrong_round_into_cast", 3): (
        "mismatch",
        "graph(x6: f32[] = [0.0]) {\n"
        "  v43: f32[] = round(x6)\n"
        "  v44: f32[] = cast(v43)\n"
        "  return (v44)\n"
        "}",
    ),
    ("crash_clone_into_view", 1): (
        "crash",
        "graph(x5: f32[1,7,8,8]) {\n"
        "  v3: f32[1,7,8,8] = contiguous(x5)\n"
        "  v4: f32[8,8,7,1] = view(v3, size=(8, 8, 7, -1))\n"
        "  return (v4)\n"
        "}",
    ),
    ("crash_on_mm", 12): (
        "crash",
        "graph(x27: f32[1,6] = [0.0, 0.0, 0.0, 0.0, ...], x5: f32[6,1] = [0.0, 0.0, 0.0, 0.0, ...]) {\n"
        "  v24: f32[1,1] = mm(x27, x5)\n"
        "  return (v24)\n"
        "}",
    ),
    ("wrong_cast_into_mul", 16): (
        "mismatch",
        "graph(x13: b8[1,1,1,7] = [False, False, False, True, ...], x11: f32[1,1,1,1] = [-1.0]) {\n"
        "  v45: b8[1,1,1,7] = cast(x13)\n"
        "  v11: f32[1,1,1,7] = mul(x11, v45)\n"
        "  return (v11)\n"
        "}",
    ),
    ("nan_with_where", 7): (
        "mismatch",
        "graph(x2: b8[] = [False], x3: f32[1,1,1,1,1] = [0.0]) {\n"
        "  v4: f32[1,1,1,1,1] = where(x2, x3, x3)\n"
        "  return (v4)\n"
        "}",
    ),
}


def variant(bug: str):
    (v,) = resolve_variants(["inductor"], BUGS + bug)
    return v


# What the standalone repro prints for each kind of signature.


@pytest.mark.slow
@pytest.mark.parametrize("bug, seed", list(EXPECTED))
def test_minimizes_to_the_trigger_pattern(bug, seed, tmp_path):
    kind, expected = EXPECTED[(bug, seed)]
    graph = generate(seed, OPTIONS)
    result = minimize_case(graph, seed, variant(bug))
    assert len(graph) >= 30
    assert result.graph.text() == expected
    assert result.signature.kind == kind
    # the reduced program fails with the same signature
    assert run_signature(result.graph, seed, variant(bug), None, None) == result.signature
    assert result.stats.accepted > 0 and result.stats.candidates >= result.stats.accepted
    # and its repro.py, run alone, exits 1 reporting the same failure
    script = tmp_path / "repro.py"
    script.write_text(to_repro(result.graph, seed, variant(bug), result.signature))
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # the synthetic backend is imported by name
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "FAIL: inductor", proc.stdout
    (verdict,) = [line for line in lines if line.startswith("inductor: ")]
    if kind == "crash":
        exc_type, message = result.signature.parts[:2]
        assert f"inductor: CRASH {exc_type.rsplit('.', 1)[-1]}: {message}" in verdict
    else:
        assert verdict.startswith(f"inductor: MISMATCH output 0 {result.signature.parts[0]}")


@pytest.mark.slow
def test_result_is_one_minimal():
    """Removing any remaining node (forwarding an operand) or cutting any node into an
    input loses the failure."""
    seed, v = 16, variant("wrong_cast_into_mul")
    result = minimize_case(generate(seed, OPTIONS), seed, v)
    g = result.graph
    values = node_values(g, seed)
    for node in g.nodes:
        smaller = [reduce.cut_to_input(g, node.name, values[node.name])]
        smaller += [reduce.forward_operand(g, node.name, op) for op in node.inputs]
        for candidate in filter(None, smaller):
            assert run_signature(candidate, seed, v, None, None) != result.signature


@pytest.mark.slow
def test_same_case_gives_the_same_result():
    seed, v = 7, variant("nan_with_where")
    first = minimize_case(generate(seed, OPTIONS), seed, v)
    second = minimize_case(generate(seed, OPTIONS), seed, v)
    assert first.graph == second.graph
    assert first.stats.candidates == second.stats.candidates


@pytest.mark.slow
def test_never_revisits_a_candidate():
    seed, v = 3, variant("wrong_round_into_cast")
    target = run_signature(generate(seed, OPTIONS), seed, v, None, None)
    tried: list[str] = []

    def predicate(graph):
        tried.append(graph.content_hash())
        return run_signature(graph, seed, v, None, None) == target

    Minimizer(generate(seed, OPTIONS), seed, predicate, confirm=0).run()
    assert len(tried) == len(set(tried))


def test_a_passing_case_has_nothing_to_minimize():
    with pytest.raises(NothingToMinimize):
        minimize_case(generate(3, OPTIONS), 3, resolve_variants(["aot_eager"], None)[0])

"""Bisecting a failure to the compiler piece it needs with PyTorch's compiler bisector.

The procedure is tested first against a fake ``check`` that consults the bisector as the
compiler does (a backend, eight counted lowerings, a config flip), which is fast and
exact; then on a real Inductor bug (generator seed 8: an int32 einsum on an expanded
operand comes back int64).
"""

from __future__ import annotations

import json
import os

import pytest
import torch
from torch._inductor import compiler_bisector
from torch._inductor.compiler_bisector import CompilerBisector

from torchfuzz.backends import bisect as bisect_module
from torchfuzz.backends.bisect import BisectResult, bisect
from torchfuzz.backends.outcome import MismatchKind, OutcomeKind
from torchfuzz.backends.runner import check, resolve_variants
from torchfuzz.backends.signature import failure_signature
from torchfuzz.backends.variants import get_variant
from torchfuzz.generator.case import generate_case
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.catalogue import CATALOGUE
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import TensorSpec

INDUCTOR = get_variant("inductor")
LOWERINGS = 8
BAD = "bad"  # what the fake check returns when the bug shows; its signature is "sig"


def _add_graph() -> Graph:
    spec = TensorSpec.contiguous((3,), torch.float32)
    g = Graph()
    x = g.add_input(spec)
    g.set_outputs([g.add_node(CATALOGUE.get("add"), [x, x], (), spec)])
    return g


class FakeCompiler:
    """Stands in for ``check``: lowers ``LOWERINGS`` nodes, asking the bisector before each
    one as Inductor does, and fails when ``is_bad(backend, lowered)`` says so."""

    def __init__(self, is_bad, fail_on_call: int | None = None) -> None:
        self.is_bad, self.fail_on_call = is_bad, fail_on_call
        self.calls = 0
        self.dirs: set[str] = set()

    def __call__(self, graph, seed, variants, policy):
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("a fuzzer bug inside check")
        if CompilerBisector.in_process_cache:
            self.dirs.add(CompilerBisector.in_process_cache)
        backend = CompilerBisector.get_backend() or "inductor"  # no bisection: the variant's
        lowered = [
            i
            for i in range(LOWERINGS)
            if not CompilerBisector.disable_subsystem("inductor", "lowerings", lambda i=i: f"n{i}")
        ]
        return BAD if self.is_bad(backend, lowered) else "ok"


@pytest.fixture
def fake(monkeypatch):
    def install(is_bad, fail_on_call=None):
        compiler = FakeCompiler(is_bad, fail_on_call)
        monkeypatch.setattr(bisect_module, "check", compiler)
        monkeypatch.setattr(
            bisect_module, "failure_signature", lambda o: "sig" if o == BAD else None
        )
        return compiler

    return install


def _assert_bisector_state_clean(compiler: FakeCompiler) -> None:
    assert CompilerBisector.bisection_enabled is False
    assert CompilerBisector.in_process_cache is None
    assert CompilerBisector.get_backend() is None
    assert not compiler_bisector.subsystem_call_counter
    assert compiler.dirs and not any(os.path.exists(d) for d in compiler.dirs)


# --- the procedure, on a fake compiler --------------------------------------------------
def test_names_the_lowering_the_failure_needs(fake, capsys):
    compiler = fake(lambda backend, lowered: backend == "inductor" and 5 in lowered)
    assert bisect(_add_graph(), 0, INDUCTOR) == BisectResult("inductor", "lowerings", 5, "n5")
    # the first check, 5 backends, 9 subsystems disabled, 1 count, log2(8) halvings
    assert compiler.calls == 1 + 5 + 9 + 1 + 3
    assert capsys.readouterr().out == ""  # the bisector's prints went to the log
    _assert_bisector_state_clean(compiler)


def test_names_a_backend_without_subsystems(fake):
    compiler = fake(lambda backend, lowered: backend != "eager")
    assert bisect(_add_graph(), 0, INDUCTOR) == BisectResult("aot_eager")
    _assert_bisector_state_clean(compiler)


def test_names_a_config_flip(fake):
    def is_bad(backend, lowered):
        return backend == "inductor" and not CompilerBisector.get_config_change("inductor")

    fake(is_bad)
    found = bisect(_add_graph(), 0, INDUCTOR)
    assert found == BisectResult(
        "inductor", "inductor_fallback_random", None, "fallback_random=True"
    )


def test_failure_that_needs_no_bisectable_piece_is_none(fake):
    compiler = fake(lambda backend, lowered: CompilerBisector.get_backend() is None)
    assert bisect(_add_graph(), 0, INDUCTOR) is None
    assert compiler.calls == 1 + 5
    _assert_bisector_state_clean(compiler)


def test_max_runs_bounds_the_bisection(fake):
    compiler = fake(lambda backend, lowered: backend == "inductor" and 5 in lowered)
    assert bisect(_add_graph(), 0, INDUCTOR, max_runs=4) is None
    assert compiler.calls == 1 + 4
    _assert_bisector_state_clean(compiler)
    with pytest.raises(ValueError, match="max_runs"):
        bisect(_add_graph(), 0, INDUCTOR, max_runs=0)


def test_state_is_restored_when_check_raises(fake, capsys):
    compiler = fake(lambda backend, lowered: backend == "inductor", fail_on_call=8)
    with pytest.raises(RuntimeError, match="fuzzer bug"):
        bisect(_add_graph(), 0, INDUCTOR)
    assert capsys.readouterr().out == ""
    _assert_bisector_state_clean(compiler)
    # and a next bisection starts from scratch
    compiler = fake(lambda backend, lowered: backend == "inductor" and 2 in lowered)
    assert bisect(_add_graph(), 0, INDUCTOR) == BisectResult("inductor", "lowerings", 2, "n2")


def test_bisector_environment_variables_make_it_decline(fake, monkeypatch):
    compiler = fake(lambda backend, lowered: True)
    monkeypatch.setattr(compiler_bisector, "get_env_val", lambda name: "1")
    assert bisect(_add_graph(), 0, INDUCTOR) is None
    assert compiler.calls == 0


# --- what is not bisected ---------------------------------------------------------------
@pytest.mark.parametrize(
    "variant",
    [
        get_variant("aot_eager"),
        *resolve_variants(["inductor"], "tests.backends._backends:off_by_backend"),
    ],
    ids=["aot_eager", "custom-backend"],
)
def test_non_inductor_variant_is_none(variant, fake):
    compiler = fake(lambda backend, lowered: True)
    assert bisect(_add_graph(), 0, variant) is None
    assert compiler.calls == 0  # not even checked


@pytest.mark.inductor
def test_passing_program_is_none():
    assert bisect(_add_graph(), 0, INDUCTOR) is None


# --- a real Inductor bug ----------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.inductor
def test_int32_einsum_dtype_bug_is_the_bmm_lowering():
    graph = generate_case(8, GeneratorOptions()).graph
    outcome = check(graph, 8, (INDUCTOR,))
    assert outcome.failing[0].mismatches[0].kind is MismatchKind.DTYPE
    before = failure_signature(outcome)
    found = bisect(graph, 8, INDUCTOR)
    # eager, aot_eager and the decompositions agree; disabling Inductor's lowerings (aten
    # fallbacks) fixes it; the culprit is the lowering of the bmm that einsum becomes.
    assert found is not None
    assert (found.backend, found.subsystem, found.debug_info) == ("inductor", "lowerings", "bmm")
    assert found.bisect_number is not None
    assert found.text() == f"inductor / lowerings #{found.bisect_number} (bmm)"
    # the compiler is as it was: the same failure again
    after = check(graph, 8, (INDUCTOR,))
    assert after.kind is OutcomeKind.MISMATCH and failure_signature(after) == before


# --- the result value -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("result", "text"),
    [
        (
            BisectResult("inductor", "lowerings", 12, "einsum\n  x"),
            "inductor / lowerings #12 (einsum x)",
        ),
        (BisectResult("inductor", "cudagraphs"), "inductor / cudagraphs"),
        (BisectResult("aot_eager"), "aot_eager"),
        (
            BisectResult("inductor", "inductor_fallback_random", None, "fallback_random=True"),
            "inductor / inductor_fallback_random (fallback_random=True)",
        ),
    ],
)
def test_result_round_trip_and_text(result, text):
    assert result.text() == text and "\n" not in result.text()
    assert BisectResult.from_dict(result.to_dict()) == result
    assert BisectResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


@pytest.mark.parametrize(
    "fields",
    [("",), ("inductor", None, 3), ("inductor", None, None, "bmm"), ("inductor", "lowerings", -1)],
)
def test_result_rejects_inconsistent_fields(fields):
    with pytest.raises(ValueError):
        BisectResult(*fields)

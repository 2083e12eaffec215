"""Triage: a failing case's root cause from localization or a node-only minimization.

The synthetic bugs of tests/_multibugs.py each change one op; the seeds below (default
options) trip them: seed 5 an in-place integer add (int_add), seed 34 a flip (segfault);
seed 105 of the 6-node programs of TRIAGE_OPS a roll (hang).
"""

import pytest

from tests._multibugs import TRIAGE_OPS, root_op
from torchfuzz.backends.runner import resolve_variants
from torchfuzz.backends.signature import Signature, killed_signature, timeout_signature
from torchfuzz.backends.worker import IsolatedRunner
from torchfuzz.campaign.triage import Budget, ops_key, ops_of, triage
from torchfuzz.generator.case import generate_case
from torchfuzz.generator.options import GeneratorOptions

BACKEND = "tests._multibugs:multi_bug_backend"
VARIANTS = resolve_variants(None, BACKEND)
BY_NAME = {v.name: v for v in VARIANTS}
NAMES = tuple(BY_NAME)
FAST = Budget(candidates=200, seconds=120, floor=3.0)


def test_budget_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        Budget(seconds=0)
    with pytest.raises(ValueError, match="positive"):
        Budget(candidates=0)


def test_what_is_left_of_a_budget_is_still_a_budget():
    from torchfuzz.shrink.minimize import MinimizeStats

    left = Budget(candidates=100, seconds=60).minus(MinimizeStats(candidates=30, seconds=20))
    assert (left.candidates, left.seconds) == (70, 40)
    spent = Budget(candidates=10, seconds=5).minus(MinimizeStats(candidates=30, seconds=20))
    assert (spent.candidates, spent.seconds) == (1, 1.0)


def test_ops_key_sorts_the_ops_without_in_place_marks():
    graph = generate_case(5, GeneratorOptions()).graph
    ops = ops_of(graph)
    assert ops and all(not name.startswith("constant") for name in ops)
    key = ops_key(graph)
    assert key.split(" + ") == sorted({o.removesuffix("_") for o in ops})


@pytest.fixture(scope="module")
def runner():
    with IsolatedRunner() as opened:
        yield opened


@pytest.mark.slow
def test_a_wrong_value_is_localized_and_seen_in_every_variant(runner):
    case = generate_case(5, GeneratorOptions())
    found = triage(case, Signature("mismatch", ("value",)), NAMES, BY_NAME, runner, FAST, 30.0)
    assert found.signature.parts == ("add -> int",)  # add_ is the in-place add kernel
    assert found.variants == NAMES  # static and dynamic alike: not "dynamic"
    assert found.culprit.startswith("add_(int32") and "aten.add.Tensor" in found.culprit
    assert found.minimized is None  # localized: nothing to minimize for bucketing


@pytest.mark.slow
def test_a_killed_case_is_named_by_the_op_it_minimizes_to(runner):
    case = generate_case(34, GeneratorOptions())
    found = triage(case, killed_signature(11), ("inductor",), BY_NAME, runner, FAST, 30.0)
    assert found.signature == Signature("killed", ("SIGSEGV", "flip"))
    assert root_op(found.signature) == "flip"
    assert ops_of(found.minimized.graph) == {"flip"}
    assert found.minimized.stats.stopped is None
    # a later case of the same cheap signature tries the flip alone first
    again = triage(
        generate_case(36, GeneratorOptions()),
        killed_signature(11),
        ("inductor",),
        BY_NAME,
        runner,
        FAST,
        30.0,
        hints=frozenset({"flip"}),
    )
    assert again.signature == found.signature
    assert again.minimized.stats.by_pass.get("isolate_hinted") == 1


@pytest.mark.slow
def test_a_hang_is_minimized_with_short_run_timeouts(runner):
    # its first op rolls an input of one element: few candidates, each that hangs costing a
    # run's timeout and a new worker
    case = generate_case(105, GeneratorOptions(ops=TRIAGE_OPS, num_nodes=6))
    budget = Budget(candidates=200, seconds=90, floor=2.0)
    # the minimized hang must hang within the campaign's timeout too: 10 s of waiting
    found = triage(case, timeout_signature(), ("inductor",), BY_NAME, runner, budget, 10.0)
    assert found.signature == Signature("timeout", ("roll",))
    assert found.minimized.stats.seconds < 90 + 2 * 2.0 + 10  # the budget, a run, a restart


@pytest.mark.slow
def test_the_culprit_survives_minimization(runner):
    """The minimized program of a localized finding localizes to the same root cause."""
    from torchfuzz.backends.localize import localize_failing
    from torchfuzz.campaign.triage import minimize_finding

    case = generate_case(47, GeneratorOptions())  # a broadcast mul inside an rms_norm
    value = (BY_NAME["inductor"],)
    before = localize_failing(case.graph, case.seed, value)
    reduced = minimize_finding(case, value[0], runner, FAST, 30.0)
    after = localize_failing(reduced.graph, case.seed, value)
    assert before.culprit.op == "rms_norm" and before.culprit.key() == "mul -> float"
    assert len(reduced.graph) < len(case.graph)
    assert after.culprit.key() == before.culprit.key()


@pytest.mark.slow
def test_a_rounding_that_amplifies_a_difference_within_tolerance_is_no_bug(runner):
    """round(x * ones) at half-way points under a backend whose mul is 2e-5 off (within
    float32's tolerance): one `amplified within tolerance` finding, named no bug, and not
    minimized (tests/backends/test_amplified.py has the program)."""
    from tests.backends.test_amplified import rounding_program
    from torchfuzz.backends.signature import AMPLIFIED, no_bug
    from torchfuzz.ir.serialize import Case

    (tiny,) = resolve_variants(["inductor"], "tests._multibugs:tiny_mul_backend")
    case = Case(rounding_program()[0], 0)
    cheap = Signature("mismatch", ("value",))
    found = triage(case, cheap, ("inductor",), {"inductor": tiny}, runner, FAST, 30.0)
    assert found.signature == Signature("mismatch", (AMPLIFIED,))
    assert no_bug(found.signature) is not None and found.minimized is None
    assert found.culprit.startswith("round(float32[1] contiguous)")


class _Fresh:
    """A runner stub: counts the fresh workers a check starts."""

    def __init__(self):
        self.closed = 0

    def close(self):
        self.closed += 1


def _minimized(graph):
    from torchfuzz.shrink.minimize import MinimizeResult, MinimizeStats

    return MinimizeResult(graph, Signature("mismatch", ("value",)), MinimizeStats(), 5)


def _zeroed_program():
    from tests.backends.test_amplified import rounding_program

    graph = rounding_program()[0]  # both inputs hold literal values
    return graph


def test_a_minimized_program_that_fails_fresh_is_kept(monkeypatch):
    from torchfuzz.campaign import triage as module

    reduced = _minimized(_zeroed_program())
    monkeypatch.setattr(module, "run_signature", lambda g, *a: reduced.signature)
    runner = _Fresh()
    assert module.confirmed_fresh(reduced, 0, VARIANTS[0], runner, 5.0) is reduced
    assert runner.closed == 1 and reduced.stats.stopped is None


def test_a_minimized_program_failing_only_in_its_worker_gets_seeded_values_back(monkeypatch):
    """A kernel reading memory it never wrote: with the minimizer's literals it fails only
    in the worker that ran it many times; fresh, only with seeded (nonzero) values."""
    from torchfuzz.campaign import triage as module

    reduced = _minimized(_zeroed_program())

    def fresh_signature(graph, *args):
        seeded = all(inp.data is None for inp in graph.inputs)
        return reduced.signature if seeded else None

    monkeypatch.setattr(module, "run_signature", fresh_signature)
    runner = _Fresh()
    confirmed = module.confirmed_fresh(reduced, 0, VARIANTS[0], runner, 5.0)
    assert all(inp.data is None for inp in confirmed.graph.inputs)
    assert [n.op.name for n in confirmed.graph.nodes] == ["mul", "round"]
    assert runner.closed == 2 and confirmed.stats.stopped is None


def test_a_minimized_program_failing_nowhere_fresh_says_so(monkeypatch):
    from torchfuzz.campaign import triage as module

    reduced = _minimized(_zeroed_program())
    monkeypatch.setattr(module, "run_signature", lambda g, *a: None)
    confirmed = module.confirmed_fresh(reduced, 0, VARIANTS[0], _Fresh(), 5.0)
    assert confirmed.graph is reduced.graph and confirmed.stats.stopped == module.NOT_FRESH

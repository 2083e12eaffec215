"""An error within tolerance where it is made, amplified downstream, is blamed where made."""

from __future__ import annotations

import torch

from tests.passes._build import node, tensor
from torchfuzz.backends import amplified
from torchfuzz.backends.amplified import raise_half, upstream_culprit
from torchfuzz.backends.localize import localize, localize_failing
from torchfuzz.backends.outcome import Outcome, OutcomeKind
from torchfuzz.backends.runner import check, resolve_variants
from torchfuzz.ir.graph import Graph

BF16 = torch.bfloat16
(MUL_BUG,) = resolve_variants(["inductor"], "tests._multibugs:mul_bug_backend")


def amplifying_program() -> tuple[Graph, dict[str, str]]:
    """A bfloat16 broadcast mul (1 % off under the bug: within bfloat16's 1.6 %), scaled,
    then a cos that turns the 1 % into a wrong value."""
    g = Graph()
    x, r = tensor(g, (4, 3), BF16), tensor(g, (3,), BF16)
    m = node(g, "mul", [x, r])
    s = node(g, "mul_scalar", [m], (("other", 100.0),))
    c = node(g, "cos", [s])
    g.set_outputs([c])
    return g, dict(m=m, s=s, c=c)


def test_raise_half_makes_half_floats_float32_and_leaves_the_rest():
    g, n = amplifying_program()
    raised = raise_half(g)
    assert {i.spec.dtype for i in raised.inputs} == {torch.float32}
    assert raised.spec(n["c"]).dtype == torch.float32
    assert raise_half(raised) is None


def test_the_amplifying_node_is_found_first_and_the_mul_is_blamed():
    g, n = amplifying_program()
    assert check(g, 0, (MUL_BUG,)).results[0].kind.value == "mismatch"
    assert localize(g, 0, MUL_BUG).node == n["c"]  # first to diverge beyond tolerance
    blamed, witness = upstream_culprit(g, n["c"], 0, MUL_BUG)
    assert blamed == n["m"]
    assert check(witness, 0, (MUL_BUG,)).results[0].kind.value == "mismatch"
    found = localize_failing(g, 0, [MUL_BUG])
    assert found.culprit.node == n["m"] and found.culprit.method == "upstream"
    assert found.culprit.key() == "mul -> float"
    assert found.variants == (MUL_BUG.name,)


def test_a_node_that_fails_alone_keeps_the_blame():
    g = Graph()
    x, r = tensor(g, (4, 3), torch.float32), tensor(g, (3,), torch.float32)
    m = node(g, "mul", [x, r])
    c = node(g, "cos", [m])
    g.set_outputs([c])
    assert upstream_culprit(g, m, 0, MUL_BUG) is None
    assert localize_failing(g, 0, [MUL_BUG]).culprit.node == m


def test_an_isolated_program_eager_cannot_judge_is_no_evidence(monkeypatch):
    """Isolating a node may give a program the judge returns no results for (eager fails
    or is not bit-reproducible): the node is not blamed, nor anything upstream."""
    g, n = amplifying_program()
    judged = []

    def not_judged(program, *args, **kwargs):
        judged.append(program)
        return Outcome(OutcomeKind.SKIPPED, reason="eager is not bit-reproducible")

    monkeypatch.setattr(amplified, "check", not_judged)
    assert upstream_culprit(g, n["c"], 0, MUL_BUG) is None
    assert judged

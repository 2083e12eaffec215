"""An error within tolerance where it is made, amplified downstream, is blamed where made."""

from __future__ import annotations

import torch

from tests.passes._build import node, tensor
from torchfuzz.backends import amplified as amplified_module
from torchfuzz.backends.amplified import Verdict, amplified, blame, raise_half
from torchfuzz.backends.localize import localize, localize_failing
from torchfuzz.backends.outcome import Outcome, OutcomeKind
from torchfuzz.backends.runner import check, resolve_variants
from torchfuzz.backends.signature import (
    AMPLIFIED,
    NO_BUG,
    NOT_REPRODUCED,
    Signature,
    no_bug,
    reproduced,
    root_signature,
)
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import TensorSpec

BF16 = torch.bfloat16
F32 = torch.float32
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
    found = blame(g, n["c"], 0, MUL_BUG)
    assert found.verdict is Verdict.UPSTREAM and found.node == n["m"]
    witness = found.witness
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
    assert blame(g, m, 0, MUL_BUG).verdict is Verdict.ALONE
    assert localize_failing(g, 0, [MUL_BUG]).culprit.node == m


def test_an_isolated_program_eager_cannot_judge_is_no_evidence(monkeypatch):
    """Isolating a node may give a program the judge returns no results for (eager fails
    or is not bit-reproducible): the node is not blamed, nor anything upstream."""
    g, n = amplifying_program()
    judged = []

    def not_judged(program, *args, **kwargs):
        judged.append(program)
        return Outcome(OutcomeKind.SKIPPED, reason="eager is not bit-reproducible")

    monkeypatch.setattr(amplified_module, "check", not_judged)
    assert blame(g, n["c"], 0, MUL_BUG).verdict is Verdict.UNEXPLAINED
    assert judged


# --- a difference within tolerance, amplified: no bug ----------------------------------------
(TINY_MUL,) = resolve_variants(["inductor"], "tests._multibugs:tiny_mul_backend")
(ROUND_BUG,) = resolve_variants(["inductor"], "tests._multibugs:round_bug_backend")


def rounding_program() -> tuple[Graph, dict[str, str]]:
    """round(x * ones) on values at half-way points: a product 2e-5 too large (within
    float32's tolerance) rounds up where eager's exact one rounds to even."""
    g = Graph()
    x = g.add_input(TensorSpec.contiguous((4,), F32), data=(2.5, 0.5, -1.5, 4.5))
    one = g.add_input(TensorSpec.contiguous((4,), F32), data=(1.0, 1.0, 1.0, 1.0))
    m = node(g, "mul", [x, one])
    r = node(g, "round", [m])
    g.set_outputs([r])
    return g, dict(m=m, r=r)


def test_a_rounding_that_amplifies_a_difference_within_tolerance_is_no_bug():
    g, n = rounding_program()
    assert check(g, 0, (TINY_MUL,)).results[0].kind is OutcomeKind.MISMATCH
    assert localize(g, 0, TINY_MUL).node == n["r"]
    found = blame(g, n["r"], 0, TINY_MUL)
    assert found.verdict is Verdict.AMPLIFIED and found.node == n["r"]
    localized = localize_failing(g, 0, [TINY_MUL])
    assert localized.amplified and localized.culprit.method == "amplified"


def test_a_wrong_rounding_is_blamed_even_after_a_difference_within_tolerance():
    """round itself wrong (+1): it fails alone, and from the compiled operands too."""
    g, n = rounding_program()
    found = blame(g, n["r"], 0, ROUND_BUG)
    assert found.verdict is Verdict.ALONE
    assert not amplified(g, n["r"], 0, ROUND_BUG)
    localized = localize_failing(g, 0, [ROUND_BUG])
    assert not localized.amplified and localized.culprit.key() == "round -> float"


def test_amplification_needs_compiled_operands_that_differ():
    """Under a correct backend nothing diverges: no evidence of amplification."""
    g, n = rounding_program()
    (aot,) = resolve_variants(["aot_eager"], None)
    assert not amplified(g, n["r"], 0, aot)


def test_an_amplified_finding_is_one_finding_shown_as_no_bug():
    cheap = Signature(OutcomeKind.MISMATCH, ("value",))
    signature = root_signature(cheap, AMPLIFIED, ())
    assert no_bug(signature) == NO_BUG[AMPLIFIED]
    assert no_bug(root_signature(cheap, "round -> float")) is None
    assert not reproduced(Signature(OutcomeKind.MISMATCH, ("value", NOT_REPRODUCED)))

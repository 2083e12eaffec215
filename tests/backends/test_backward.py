"""Backward variants: the input gradients of a fixed weighted output sum, judged against
eager with the fp64-referenced oracle; synthetic gradient bugs (tests/_bugs.py, built on
aot_eager) are found, in-process, in the standalone script and in the minimized repro."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from torchfuzz.backends import judge, runner
from torchfuzz.backends.gradients import gradient_weights, with_gradients
from torchfuzz.backends.outcome import (
    Mismatch,
    MismatchKind,
    Outcome,
    OutcomeKind,
    Stage,
    VariantResult,
)
from torchfuzz.backends.python import to_python
from torchfuzz.backends.repro import to_repro
from torchfuzz.backends.runner import check, gradient_names, resolve_variants, run_eager
from torchfuzz.backends.signature import failure_signature
from torchfuzz.backends.variants import Variant, get_variant
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.catalogue import CATALOGUE
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import TensorSpec
from torchfuzz.shrink.minimize import minimize_case

BUGS = "tests._bugs:"
REPO = Path(__file__).resolve().parents[2]
FLOAT32 = GeneratorOptions(dtypes=(torch.float32,), p_scalar_output=0.0)
F32 = TensorSpec.contiguous((3, 4), torch.float32)


def bug_variants(bug: str) -> tuple[Variant, ...]:
    """(forward, backward) variants compiling with a synthetic bug instead of Inductor."""
    return resolve_variants(["inductor", "inductor_backward"], BUGS + bug)


def mul_sin() -> Graph:
    """sin(x0 * x1) and x1 + x1: a mul (what the synthetic bugs look for) and an add."""
    g = Graph()
    x0, x1 = g.add_input(F32), g.add_input(F32)
    prod = g.add_node(CATALOGUE.get("mul"), [x0, x1], (), F32)
    out = g.add_node(CATALOGUE.get("sin"), [prod], (), F32)
    twice = g.add_node(CATALOGUE.get("add"), [x1, x1], (), F32)
    g.set_outputs([out, twice])
    return g


def _run(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "repro.py"
    path.write_text(script)
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # the synthetic backend is imported by name
    return subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=300
    )


# --- the variants and values -------------------------------------------------------------


def test_backward_variants_are_builtin_but_not_default() -> None:
    assert get_variant("aot_eager_backward") == Variant(
        "aot_eager_backward", "aot_eager", backward=True
    )
    inductor = get_variant("inductor_backward")
    assert inductor.backward and inductor.backend == "inductor"
    assert inductor.inductor_config == get_variant("inductor").inductor_config
    assert get_variant("inductor_backward").with_backend("x:y").backward
    # an outcome stored before backward variants existed reads as a forward variant
    old = {k: v for k, v in get_variant("aot_eager").to_dict().items() if k != "backward"}
    assert Variant.from_dict(old).backward is False
    with pytest.raises(ValueError, match="backward"):
        Variant("v", "eager", backward=1)  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.bfloat16])
def test_gradient_weights_are_exact_in_every_float_dtype_and_not_uniform(dtype) -> None:
    weights = gradient_weights(torch.empty(5, 7, dtype=dtype), 2)
    assert weights.dtype == dtype and weights.shape == (5, 7)
    wide = gradient_weights(torch.empty(5, 7, dtype=torch.float64), 2)
    assert torch.equal(weights.double(), wide)
    assert float(wide.min()) == 0.5 and float(wide.max()) == 1.5 and len(wide.unique()) == 9


def test_gradients_are_a_weighted_sum_with_zeros_for_unused_inputs() -> None:
    x, unused = torch.randn(3, 4), torch.randn(2)
    labels = torch.arange(4)  # integer inputs get no gradient

    def program(a, b, i):
        return a * 2, a.sum(), i + 1

    outputs, grads = with_gradients(program, [x, unused, labels])
    assert len(outputs) == 3 and len(grads) == 2
    expected = 2 * gradient_weights(outputs[0], 0) + gradient_weights(outputs[1], 1)
    torch.testing.assert_close(grads[0], expected)
    assert torch.equal(grads[1], torch.zeros(2))
    assert not x.requires_grad  # the caller's tensors are not turned into leaves


def test_results_are_outputs_then_gradients_in_input_order() -> None:
    graph = mul_sin()
    assert gradient_names(graph) == ("x0", "x1")
    forward = run_eager(graph, 0)
    backward = run_eager(graph, 0, backward=True)
    assert len(backward) == len(forward) + 2
    for a, b in zip(forward, backward):
        assert torch.equal(a, b.detach())


def test_outcome_values_round_trip_with_gradient_names_and_reasons() -> None:
    mismatch = Mismatch(3, MismatchKind.VALUE, "d", max_abs_err=1.0, gradient_of="x1")
    assert mismatch.summary().startswith("grad of x1 (output 3) value")
    skipped = VariantResult("b", OutcomeKind.SKIPPED, reason="no output requires grad")
    outcome = Outcome.from_results([skipped])
    assert outcome.kind is OutcomeKind.SKIPPED and outcome.reason == "no output requires grad"
    assert Outcome.from_dict(outcome.to_dict()) == outcome
    assert Mismatch.from_dict(mismatch.to_dict()) == mismatch
    old = {k: v for k, v in mismatch.to_dict().items() if k != "gradient_of"}
    assert Mismatch.from_dict(old).gradient_of == ""


# --- no false alarms -----------------------------------------------------------------------


@pytest.mark.slow
def test_aot_eager_backward_agrees_with_eager_on_generated_programs() -> None:
    variants = resolve_variants(["aot_eager_backward"], None)
    kinds = []
    for options in (GeneratorOptions(), FLOAT32):
        for seed in range(8):
            outcome = check(generate(seed, options), seed, variants)
            assert outcome.kind in (OutcomeKind.OK, OutcomeKind.SKIPPED), (
                seed,
                options,
                outcome.summary(),
            )
            kinds.append(outcome.kind)
    assert kinds.count(OutcomeKind.OK) >= 8  # the gradients were really compared


def test_a_gradient_kink_that_float64_takes_the_other_way_is_no_mismatch() -> None:
    """relu((a + b) - d) with d the float32 sum: exactly 0 in float32 (relu' = 0), but
    +6e-8 in float64 at position 4 (relu' = 1).  Eager's own error vs fp64 there is the
    whole gradient, so a compiled result that takes eager's branch is not blamed."""
    a, b = (0.1, 0.3, 0.7, 1.1, 0.6, 0.15), (0.2, 0.6, 0.1, 2.2, 0.7, 0.35)
    d = tuple((torch.tensor(a) + torch.tensor(b)).tolist())
    spec = TensorSpec.contiguous((6,), torch.float32)
    g = Graph()
    xa, xb, xd = (g.add_input(spec, data=values) for values in (a, b, d))
    total = g.add_node(CATALOGUE.get("add"), [xa, xb], (), spec)
    kink = g.add_node(CATALOGUE.get("sub"), [total, xd], (), spec)
    g.set_outputs([g.add_node(CATALOGUE.get("relu"), [kink], (), spec)])
    eager, reference = run_eager(g, 0, backward=True), runner.run_reference(g, 0, backward=True)
    assert float(eager[1][4]) == 0.0 and float(reference[1][4]) > 0.5  # grad of xa differs
    outcome = check(g, 0, resolve_variants(["aot_eager_backward"], None))
    assert outcome.kind is OutcomeKind.OK, outcome.summary()


# --- findings ------------------------------------------------------------------------------


def test_wrong_gradients_are_a_mismatch_on_the_gradients_only() -> None:
    outcome = check(mul_sin(), 0, bug_variants("wrong_grad_with_mul"))
    forward, backward = outcome.results
    assert forward.kind is OutcomeKind.OK  # the forward of the same backend is right
    assert outcome.kind is OutcomeKind.MISMATCH and backward.kind is OutcomeKind.MISMATCH
    # outputs 0 and 1 agree; both input gradients (values 2 and 3) are 1.5x too large
    assert [(m.output_index, m.gradient_of) for m in backward.mismatches] == [(2, "x0"), (3, "x1")]
    assert all(m.kind is MismatchKind.VALUE for m in backward.mismatches)
    assert "grad of x0 (output 2) value" in outcome.summary()
    # a wrong gradient is its own signature, apart from wrong forward values
    assert failure_signature(outcome).parts == ("value", "gradient")


def test_a_failing_backward_compiler_is_a_crash_in_the_backward_stage() -> None:
    outcome = check(mul_sin(), 0, bug_variants("crash_backward_with_mul"))
    forward, backward = outcome.results
    assert forward.kind is OutcomeKind.OK
    assert backward.kind is OutcomeKind.CRASH
    assert backward.crash.stage is Stage.BACKWARD
    assert backward.crash.exc_type == "RuntimeError"
    assert backward.crash.message == "backward of mul is unsupported"


def test_program_without_differentiable_outputs_is_skipped_not_ok() -> None:
    ints = TensorSpec.contiguous((4,), torch.int64)
    g = Graph()
    x = g.add_input(ints)
    g.set_outputs([g.add_node(CATALOGUE.get("add"), [x, x], (), ints)])
    outcome = check(g, 0, resolve_variants(["aot_eager", "aot_eager_backward"], None))
    assert [r.kind for r in outcome.results] == [OutcomeKind.OK, OutcomeKind.SKIPPED]
    assert outcome.results[1].reason == "no output requires grad"
    alone = check(g, 0, resolve_variants(["aot_eager_backward"], None))
    assert alone.kind is OutcomeKind.SKIPPED and alone.reason == "no output requires grad"


def test_eager_backward_failure_is_skipped_never_a_finding(monkeypatch) -> None:
    def no_derivative(fn, inputs):
        raise RuntimeError("derivative for aten::foo is not implemented\nmore")

    monkeypatch.setattr(judge, "with_gradients", no_derivative)
    outcome = check(mul_sin(), 0, bug_variants("crash_backward_with_mul"))
    assert [r.kind for r in outcome.results] == [OutcomeKind.OK, OutcomeKind.SKIPPED]
    reason = outcome.results[1].reason
    assert (
        reason == "eager backward failed: RuntimeError: derivative for aten::foo is not implemented"
    )


# --- reproducing findings outside the fuzzer ---------------------------------------------------


@pytest.mark.slow
def test_standalone_script_reports_the_gradient_mismatch(tmp_path) -> None:
    variants = (*bug_variants("wrong_grad_with_mul"), get_variant("aot_eager_backward"))
    proc = _run(to_python(mul_sin(), 0, variants), tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert "inductor: ok" in lines and "aot_eager_backward: ok" in lines
    assert any(line.startswith("inductor_backward: MISMATCH grad of x0") for line in lines)


def _padded_mul_sin() -> Graph:
    """mul_sin with more, irrelevant work for the minimizer to remove."""
    g = mul_sin()
    out, twice = g.outputs
    cos = g.add_node(CATALOGUE.get("cos"), [twice], (), F32)
    tanh = g.add_node(CATALOGUE.get("tanh"), [out], (), F32)
    g.set_outputs([tanh, cos, twice])
    return g


@pytest.mark.slow
@pytest.mark.parametrize(
    ("bug", "fail"),
    [
        ("wrong_grad_with_mul", "inductor_backward: MISMATCH grad of x"),
        (
            "crash_backward_with_mul",
            "inductor_backward: CRASH RuntimeError: backward of mul is unsupported",
        ),
    ],
)
def test_minimized_backward_finding_gives_a_repro_that_exits_one(bug, fail, tmp_path) -> None:
    _, variant = bug_variants(bug)
    result = minimize_case(_padded_mul_sin(), 0, variant)
    assert [n.op.name for n in result.graph.nodes] == ["mul"]
    proc = _run(to_repro(result.graph, 0, variant, result.signature), tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert any(line.startswith(fail) for line in proc.stdout.splitlines()), proc.stdout


@pytest.mark.slow
@pytest.mark.inductor
def test_inductor_backward_agrees_on_a_small_program() -> None:
    outcome = check(_padded_mul_sin(), 0, resolve_variants(["inductor_backward"], None))
    assert outcome.kind is OutcomeKind.OK, outcome.summary()

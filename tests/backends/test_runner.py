"""End-to-end checks: generated programs against eager, aot_eager and deliberately broken backends."""

import pytest
import torch

from torchfuzz.backends.outcome import MismatchKind, OutcomeKind, Stage
from torchfuzz.backends.runner import check, resolve_variants, run_eager, run_reference
from torchfuzz.backends.variants import DEFAULT_VARIANTS
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions

SPEC = "tests.backends._backends:"
FLOAT32 = GeneratorOptions(dtypes=(torch.float32,), p_scalar_output=0.0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_generated_programs_agree_under_eager_and_aot_eager(seed):
    outcome = check(generate(seed), seed, resolve_variants(["eager", "aot_eager"], None))
    assert outcome.kind in (OutcomeKind.OK, OutcomeKind.SKIPPED), outcome.summary()


def test_reference_is_float64():
    graph = generate(3, FLOAT32)
    eager = run_eager(graph, 3)
    ref = run_reference(graph, 3)
    assert ref is not None and len(ref) == len(eager)
    for e, r in zip(eager, ref):
        if hasattr(e, "dtype") and e.dtype.is_floating_point:
            assert r.dtype == torch.float64


@pytest.mark.slow
def test_wrong_values_backend_is_reported_as_mismatch():
    variants = resolve_variants(["inductor"], SPEC + "off_by_backend")
    found = 0
    for seed in range(10):
        graph = generate(seed, FLOAT32)
        outcome = check(graph, seed, variants)
        assert outcome.kind in (OutcomeKind.MISMATCH, OutcomeKind.OK, OutcomeKind.SKIPPED)
        if outcome.kind is OutcomeKind.MISMATCH:
            found += 1
            mismatch = outcome.failing[0].mismatches[0]
            assert mismatch.kind in (MismatchKind.VALUE, MismatchKind.NAN)
            assert outcome.failing[0].variant == "inductor"
    assert found >= 5  # float outputs of every program shift by 1e-3 (some may be scalars/ints)


def test_crashing_backend_is_reported_as_crash_with_stage():
    variants = resolve_variants(["inductor", "aot_eager"], SPEC + "broken_backend")
    outcome = check(generate(1, FLOAT32), 1, variants)
    assert outcome.kind is OutcomeKind.CRASH
    crash = outcome.failing[0].crash
    assert crash.stage is Stage.BACKEND and crash.exc_type.endswith("RuntimeError")
    assert "refuses to compile" in crash.message
    # --backend replaces Inductor only: aot_eager still ran and agreed
    assert [r.kind for r in outcome.results] == [OutcomeKind.CRASH, OutcomeKind.OK]


def test_runtime_failure_is_stage_run():
    variants = resolve_variants(["inductor"], SPEC + "runtime_broken_backend")
    outcome = check(generate(2, FLOAT32), 2, variants)
    assert outcome.kind is OutcomeKind.CRASH
    assert outcome.failing[0].crash.stage is Stage.RUN


@pytest.mark.slow
@pytest.mark.inductor
@pytest.mark.parametrize("seed", range(3))
def test_inductor_variants_run(seed):
    """The default variants compile and agree with eager on these seeds (each known ok:
    a failure here is a regression of the runner or a new Inductor bug to triage)."""
    outcome = check(generate(seed), seed, resolve_variants(None, None))
    assert [r.variant for r in outcome.results] == list(DEFAULT_VARIANTS)
    assert all(r.kind is OutcomeKind.OK for r in outcome.results), outcome.summary()
    assert outcome.kind is OutcomeKind.OK


def test_eager_failure_is_invalid_not_a_finding():
    """A program eager rejects (FakeTensor accepts `sub` on bools, eager does not) is the
    fuzzer's fault: `invalid`, never a mismatch or crash."""
    from torchfuzz.ir.catalogue import CATALOGUE
    from torchfuzz.ir.graph import Graph
    from torchfuzz.ir.types import TensorSpec

    spec = TensorSpec.contiguous((3,), torch.bool)
    g = Graph()
    x = g.add_input(spec)
    g.set_outputs([g.add_node(CATALOGUE.get("sub"), [x, x], (), spec)])
    outcome = check(g, 0, resolve_variants(["eager"], None))
    assert outcome.kind is OutcomeKind.INVALID
    assert "eager failed" in outcome.reason and not outcome.results


def test_input_data_is_stable_when_other_inputs_go_away():
    from torchfuzz.backends.inputs import make_inputs
    from torchfuzz.ir.graph import Graph
    from torchfuzz.ir.types import TensorSpec

    spec = TensorSpec.contiguous((3,), torch.float32)
    g = Graph()
    first, second = g.add_input(spec), g.add_input(spec)
    g.set_outputs([first, second])
    both = make_inputs(g, 5)
    g.set_outputs([second])
    g.erase(first)
    (alone,) = make_inputs(g, 5)
    assert torch.equal(alone, both[1]) and not torch.equal(alone, both[0])


def test_literal_inputs_keep_their_strides_and_values():
    from torchfuzz.backends.inputs import make_inputs
    from torchfuzz.ir.graph import Graph
    from torchfuzz.ir.types import TensorSpec

    g = Graph()
    x = g.add_input(TensorSpec((2, 3), (1, 2), torch.float32), data=(1.0, 2.0, 3.0, 4.0, 5.0, 6.0))
    g.set_outputs([x])
    (value,) = make_inputs(g, 0)
    assert value.stride() == (1, 2)
    assert value.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


def test_a_mismatch_is_confirmed_against_more_eager_runs(monkeypatch):
    """Eager that only sometimes differs can pass the two-run gate; before a mismatch is
    reported eager is run again, and a different answer makes the program skipped."""
    import dataclasses

    from torchfuzz.backends import runner
    from torchfuzz.backends.lowering import to_fx
    from torchfuzz.backends.variants import CompiledRun

    graph, real_subject = generate(1, FLOAT32), runner.subject
    calls = []

    def shifted(outputs):
        return tuple(o + 1 if isinstance(o, torch.Tensor) else o for o in outputs)

    def flaky_program():
        def run(*inputs):
            calls.append(1)
            outputs = to_fx(graph)(*inputs)
            return outputs if len(calls) <= 2 else shifted(outputs)  # the gate's runs agree

        return run

    def flaky_subject(g, seed, variants=()):
        return dataclasses.replace(real_subject(g, seed, variants), program=flaky_program)

    def compiled_like_a_later_eager_run(fn, calls, variant, marked):
        return CompiledRun(calls=tuple(shifted(to_fx(graph)(*inputs)) for inputs in calls))

    monkeypatch.setattr(runner, "run_compiled_calls", compiled_like_a_later_eager_run)
    assert check(graph, 1, resolve_variants(["aot_eager"], None)).kind is OutcomeKind.MISMATCH
    monkeypatch.setattr(runner, "subject", flaky_subject)
    outcome = check(graph, 1, resolve_variants(["aot_eager"], None))
    assert outcome.kind is OutcomeKind.SKIPPED and "bit-reproducible" in outcome.reason
    assert len(calls) > 2


def test_outputs_are_judged_in_the_precision_they_were_computed_in():
    """A bfloat16 value cast to float64 at the end carries bfloat16's error: float64's
    tolerance row would call a compiled result within a bfloat16 ulp wrong."""
    from torchfuzz.backends.runner import computed_in
    from torchfuzz.ir.catalogue import CATALOGUE
    from torchfuzz.ir.graph import Graph
    from torchfuzz.ir.types import TensorSpec

    g = Graph()
    x = g.add_input(TensorSpec.contiguous((4,), torch.bfloat16))
    y = g.add_input(TensorSpec.contiguous((4,), torch.float64))
    wide = TensorSpec.contiguous((4,), torch.float64)
    v = g.add_node(CATALOGUE.get("exp"), [x], (), TensorSpec.contiguous((4,), torch.bfloat16))
    cast = g.add_node(CATALOGUE.get("cast"), [v], (("dtype", torch.float64),), wide)
    g.set_outputs([cast, g.add_node(CATALOGUE.get("exp"), [y], (), wide), v])
    # Only the float64 output with a bfloat16 past gets another row; bf16 is its own.
    assert computed_in(g) == (torch.bfloat16, None, None)

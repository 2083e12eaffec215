"""Tests for torchfuzz.backends.outcome: verdicts, summaries, exact JSON round trip."""

from __future__ import annotations

import json

import pytest

from torchfuzz.backends.outcome import (
    Crash,
    Mismatch,
    MismatchKind,
    Outcome,
    OutcomeKind,
    Stage,
    VariantResult,
)

MISMATCH = Mismatch(0, MismatchKind.VALUE, "1 of 4 differ", max_abs_err=1.2e-3, max_rel_err=1e-3)
CRASH = Crash(Stage.BACKEND, "RuntimeError", "boom\nsecond line", "Traceback ...")


def _ok(name: str = "inductor") -> VariantResult:
    return VariantResult(name, OutcomeKind.OK, seconds=0.25)


def _mismatch(name: str = "inductor") -> VariantResult:
    return VariantResult(name, OutcomeKind.MISMATCH, mismatches=(MISMATCH,), seconds=1.5)


def _crash(name: str = "inductor_dynamic") -> VariantResult:
    return VariantResult(name, OutcomeKind.CRASH, crash=CRASH)


def _skipped(name: str = "inductor") -> VariantResult:
    return VariantResult(name, OutcomeKind.SKIPPED)


@pytest.mark.parametrize(
    "outcome",
    [
        Outcome.from_results([_ok(), _mismatch("inductor_dynamic"), _crash()]),
        Outcome.from_results([_ok()]),
        Outcome(OutcomeKind.INVALID, reason="eager raised ZeroDivisionError"),
        Outcome(
            OutcomeKind.MISMATCH,
            (
                VariantResult(
                    "x",
                    OutcomeKind.MISMATCH,
                    (
                        Mismatch(2, MismatchKind.COUNT, "eager 3, compiled 2"),
                        Mismatch(0, MismatchKind.NAN, "nan"),
                    ),
                ),
            ),
        ),
    ],
)
def test_dict_round_trip_is_exact_through_json(outcome: Outcome) -> None:
    data = outcome.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert Outcome.from_dict(json.loads(text)) == outcome
    assert json.loads(text) == data


def test_from_dict_restores_enum_members() -> None:
    restored = Outcome.from_dict(Outcome.from_results([_crash(), _mismatch()]).to_dict())
    assert restored.kind is OutcomeKind.CRASH
    assert restored.results[0].crash is not None
    assert restored.results[0].crash.stage is Stage.BACKEND
    assert restored.results[1].mismatches[0].kind is MismatchKind.VALUE


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([_ok(), _ok("b")], OutcomeKind.OK),
        ([_ok(), _mismatch("b")], OutcomeKind.MISMATCH),
        ([_ok(), _crash("b")], OutcomeKind.CRASH),
        ([_mismatch("a"), _crash("b")], OutcomeKind.MISMATCH),
        ([_crash("a"), _mismatch("b")], OutcomeKind.CRASH),
        ([_skipped("a"), _skipped("b")], OutcomeKind.SKIPPED),
        ([_skipped("a"), _ok("b")], OutcomeKind.OK),
        ([_skipped("a"), _crash("b")], OutcomeKind.CRASH),
        ([], OutcomeKind.SKIPPED),
    ],
)
def test_from_results_picks_the_first_failing_variant(
    results: list[VariantResult], expected: OutcomeKind
) -> None:
    outcome = Outcome.from_results(results)
    assert outcome.kind is expected
    assert outcome.failing == tuple(
        r for r in results if r.kind in (OutcomeKind.MISMATCH, OutcomeKind.CRASH)
    )


def test_summary_is_one_line() -> None:
    outcome = Outcome.from_results([_ok(), _mismatch("inductor_dynamic"), _crash()])
    assert outcome.summary() == (
        "mismatch in inductor_dynamic: output 0 value max_abs=1.2e-03 max_rel=1.0e-03"
        " [+1 failing variants]"
    )
    crash_only = Outcome.from_results([_crash()])
    assert (
        crash_only.summary() == "crash in inductor_dynamic at backend compile: RuntimeError: boom"
    )
    assert Outcome(OutcomeKind.INVALID, reason="eager raised").summary() == "invalid: eager raised"
    assert Outcome.from_results([_ok(), _ok("b")]).summary() == "ok (2 variants)"
    for text in (outcome.summary(), crash_only.summary()):
        assert "\n" not in text


def test_inconsistent_values_are_rejected() -> None:
    with pytest.raises(ValueError, match="crash"):
        VariantResult("a", OutcomeKind.CRASH)
    with pytest.raises(ValueError, match="mismatches"):
        VariantResult("a", OutcomeKind.MISMATCH)
    with pytest.raises(ValueError, match="mismatches"):
        VariantResult("a", OutcomeKind.OK, mismatches=(MISMATCH,))
    with pytest.raises(ValueError, match="OK"):
        Outcome(OutcomeKind.OK, (_mismatch(),))
    with pytest.raises(ValueError, match="finite"):
        Mismatch(0, MismatchKind.VALUE, "x", max_abs_err=float("inf"))
    with pytest.raises(ValueError, match="output_index"):
        Mismatch(-1, MismatchKind.VALUE, "x")

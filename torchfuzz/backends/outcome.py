"""Outcomes of running one program under compile variants, as plain values.

A run of the oracle ends in one :class:`Outcome`: the overall verdict plus one
:class:`VariantResult` per compile variant (``inductor``, ``inductor_dynamic``, ...).
A variant either agrees with eager (``OK``), disagrees (``MISMATCH``, with one
:class:`Mismatch` per offending output) or raises (``CRASH``, with a :class:`Crash`
saying in which compile stage).  ``INVALID`` marks a program that eager itself cannot
run (a fuzzer bug, never a finding) and ``SKIPPED`` one whose result cannot be judged
(e.g. eager is not bit-reproducible, or a backward variant meets a program without
differentiable outputs).

Everything here is a frozen value with an exact JSON round trip (``to_dict`` /
``from_dict``), so outcomes can be stored, compared and deduplicated.  This module
depends only on the standard library.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

__all__ = [
    "CASE_KINDS",
    "FAILING_KINDS",
    "CaseKind",
    "Crash",
    "Mismatch",
    "MismatchKind",
    "Outcome",
    "OutcomeKind",
    "ProcessFate",
    "Stage",
    "VariantResult",
    "case_kind",
]


class OutcomeKind(str, enum.Enum):
    """Verdict of one variant, or of a whole program."""

    OK = "ok"
    MISMATCH = "mismatch"
    CRASH = "crash"
    INVALID = "invalid"  # eager itself failed: a fuzzer bug, not a finding
    SKIPPED = "skipped"  # not comparable, e.g. eager is not bit-reproducible


class Stage(str, enum.Enum):
    """Compile stage in which a crash happened."""

    DYNAMO = "dynamo"
    AOT = "aot"
    BACKEND = "backend compile"
    RUN = "run"
    BACKWARD = "backward"  # computing gradients through the compiled program


class MismatchKind(str, enum.Enum):
    """What differs between an eager output and the compiled one."""

    KIND = "kind"  # tensor vs Python scalar, or the Python type of a scalar
    SHAPE = "shape"
    DTYPE = "dtype"
    VALUE = "value"
    NAN = "nan"  # the pattern of non-finite values differs
    COUNT = "count"  # the number of outputs differs


class ProcessFate(str, enum.Enum):
    """Why the worker process gave no outcome for a case; a case records it in place of an
    :class:`OutcomeKind` (same column, same JSON field)."""

    KILLED = "killed"  # died by a signal, or exited by itself
    TIMEOUT = "timeout"  # no answer in time: the runner killed it

    def __str__(self) -> str:
        return self.value


# What a checked case is recorded as: a verdict, or the fate of a worker that gave none.
CaseKind = OutcomeKind | ProcessFate
# Every case kind, in display order (the stored text is the kind's value).
CASE_KINDS: tuple[CaseKind, ...] = (*OutcomeKind, *ProcessFate)
# The kinds of a case that is a finding (and has a signature).
FAILING_KINDS: frozenset[CaseKind] = frozenset(
    {OutcomeKind.MISMATCH, OutcomeKind.CRASH, *ProcessFate}
)
_CASE_KIND_OF_TEXT: Mapping[str, CaseKind] = {kind.value: kind for kind in CASE_KINDS}


def case_kind(value: str) -> CaseKind:
    """The case kind stored as ``value`` (a kind itself is returned as is)."""
    try:
        return _CASE_KIND_OF_TEXT[value.value if isinstance(value, enum.Enum) else value]
    except KeyError:
        known = ", ".join(_CASE_KIND_OF_TEXT)
        raise ValueError(f"unknown case kind {value!r}; expected one of {known}") from None


def _optional_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One output of a compiled run that disagrees with eager.

    ``output_index`` is the position in the output sequence; for ``COUNT`` it is the
    first position that only one side has.  A backward variant compares the outputs
    followed by the input gradients: ``gradient_of`` names the input whose gradient
    this is, and is empty for an output.  The values of the graph inputs the program
    writes in place, read after the call, come last: ``written_input`` names the input
    such a value belongs to.  ``second_call`` marks a mismatch of the second call of a
    recompile variant (inputs of new sizes); ``output_index`` counts within that call.  The error fields measure compiled against
    the fp64 reference (or against eager when there is none) and are finite or None.
    """

    output_index: int
    kind: MismatchKind
    detail: str
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    gradient_of: str = ""
    written_input: str = ""
    second_call: bool = False

    def __post_init__(self) -> None:
        if self.gradient_of and self.written_input:
            raise ValueError("a Mismatch is of a gradient or of a written input, not both")
        if self.output_index < 0:
            raise ValueError(f"Mismatch.output_index must be >= 0, got {self.output_index}")
        object.__setattr__(self, "kind", MismatchKind(self.kind))
        for name in ("max_abs_err", "max_rel_err"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"Mismatch.{name} must be finite or None, got {value}")

    def summary(self) -> str:
        """One-line text such as ``output 0 value max_abs=1.2e-03 max_rel=1.0e-03``
        (``grad of x1 (output 3) value ...`` for a gradient, ``x1 after the call (output 3)
        ...`` for a written input, led by ``second call:`` for a recompile's second call)."""
        text = f"output {self.output_index}"
        if self.gradient_of:
            text = f"grad of {self.gradient_of} ({text})"
        elif self.written_input:
            text = f"{self.written_input} after the call ({text})"
        if self.second_call:
            text = f"second call: {text}"
        text += f" {self.kind.value}"
        if self.max_abs_err is not None:
            text += f" max_abs={self.max_abs_err:.1e}"
        if self.max_rel_err is not None:
            text += f" max_rel={self.max_rel_err:.1e}"
        if self.max_abs_err is None and self.max_rel_err is None:
            text += f": {self.detail}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; inverse of :meth:`from_dict`."""
        return {
            "output_index": self.output_index,
            "kind": self.kind.value,
            "detail": self.detail,
            "max_abs_err": self.max_abs_err,
            "max_rel_err": self.max_rel_err,
            "gradient_of": self.gradient_of,
            "written_input": self.written_input,
            "second_call": self.second_call,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Mismatch:
        """Rebuild a :class:`Mismatch` from :meth:`to_dict` output."""
        return cls(
            output_index=int(data["output_index"]),
            kind=MismatchKind(data["kind"]),
            detail=str(data["detail"]),
            max_abs_err=_optional_float(data.get("max_abs_err")),
            max_rel_err=_optional_float(data.get("max_rel_err")),
            gradient_of=str(data.get("gradient_of", "")),
            written_input=str(data.get("written_input", "")),
            second_call=bool(data.get("second_call", False)),
        )


@dataclass(frozen=True, slots=True)
class Crash:
    """An exception raised while compiling or running a compiled program."""

    stage: Stage
    exc_type: str
    message: str
    traceback: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "stage", Stage(self.stage))

    def summary(self) -> str:
        """One-line text such as ``backend compile: RuntimeError: boom``."""
        lines = self.message.strip().splitlines()
        text = f"{self.stage.value}: {self.exc_type}"
        return f"{text}: {lines[0]}" if lines else text

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; inverse of :meth:`from_dict`."""
        return {
            "stage": self.stage.value,
            "exc_type": self.exc_type,
            "message": self.message,
            "traceback": self.traceback,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Crash:
        """Rebuild a :class:`Crash` from :meth:`to_dict` output."""
        return cls(
            stage=Stage(data["stage"]),
            exc_type=str(data["exc_type"]),
            message=str(data["message"]),
            traceback=str(data["traceback"]),
        )


@dataclass(frozen=True, slots=True)
class VariantResult:
    """Verdict for one compile variant.

    ``CRASH`` carries exactly a ``crash``, ``MISMATCH`` at least one mismatch, and
    every other kind neither.  ``reason`` says why a ``SKIPPED`` variant was not judged.
    """

    variant: str
    kind: OutcomeKind
    mismatches: tuple[Mismatch, ...] = ()
    crash: Crash | None = None
    seconds: float = 0.0
    reason: str = ""

    def __post_init__(self) -> None:
        kind = OutcomeKind(self.kind)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "mismatches", tuple(self.mismatches))
        where = f"VariantResult {self.variant!r}: kind {kind.value}"
        if (kind is OutcomeKind.CRASH) != (self.crash is not None):
            raise ValueError(f"{where} with crash {self.crash!r}")
        if (kind is OutcomeKind.MISMATCH) != bool(self.mismatches):
            raise ValueError(f"{where} with {len(self.mismatches)} mismatches")

    @property
    def is_failing(self) -> bool:
        """True for a mismatch or a crash, i.e. a candidate finding."""
        return self.kind in FAILING_KINDS

    def summary(self) -> str:
        """One-line human text for this variant."""
        if self.crash is not None:
            return f"crash in {self.variant} at {self.crash.summary()}"
        if self.mismatches:
            more = f" (+{len(self.mismatches) - 1} more)" if len(self.mismatches) > 1 else ""
            return f"mismatch in {self.variant}: {self.mismatches[0].summary()}{more}"
        if self.reason:
            return f"{self.kind.value} in {self.variant}: {self.reason}"
        return f"{self.kind.value} in {self.variant}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; inverse of :meth:`from_dict`."""
        return {
            "variant": self.variant,
            "kind": self.kind.value,
            "mismatches": [m.to_dict() for m in self.mismatches],
            "crash": None if self.crash is None else self.crash.to_dict(),
            "seconds": self.seconds,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VariantResult:
        """Rebuild a :class:`VariantResult` from :meth:`to_dict` output."""
        crash = data.get("crash")
        return cls(
            variant=str(data["variant"]),
            kind=OutcomeKind(data["kind"]),
            mismatches=tuple(Mismatch.from_dict(m) for m in data.get("mismatches", ())),
            crash=None if crash is None else Crash.from_dict(crash),
            seconds=float(data.get("seconds", 0.0)),
            reason=str(data.get("reason", "")),
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """Overall verdict for one program, with the per-variant results behind it."""

    kind: OutcomeKind
    results: tuple[VariantResult, ...] = ()
    reason: str = ""

    def __post_init__(self) -> None:
        kind = OutcomeKind(self.kind)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "results", tuple(self.results))
        if kind is OutcomeKind.OK and any(r.is_failing for r in self.results):
            raise ValueError("Outcome is OK but some variant mismatched or crashed")

    @classmethod
    def from_results(cls, results: Iterable[VariantResult], reason: str = "") -> Outcome:
        """Combine variant results: the first failing variant decides the verdict.

        With no failing variant the outcome is ``INVALID`` if any result is, ``SKIPPED``
        if there are no results or all were skipped (with the first skipped variant's
        reason unless one is given), and ``OK`` otherwise.
        """
        results = tuple(results)
        failing = [r for r in results if r.is_failing]
        if failing:
            kind = failing[0].kind
        elif any(r.kind is OutcomeKind.INVALID for r in results):
            kind = OutcomeKind.INVALID
        elif all(r.kind is OutcomeKind.SKIPPED for r in results):
            kind = OutcomeKind.SKIPPED
            first = next((r.reason for r in results if r.reason), "")
            reason = reason or first or ("no variant ran" if not results else "")
        else:
            kind = OutcomeKind.OK
        return cls(kind=kind, results=results, reason=reason)

    @property
    def failing(self) -> tuple[VariantResult, ...]:
        """Variant results that mismatched or crashed, in order."""
        return tuple(r for r in self.results if r.is_failing)

    def summary(self) -> str:
        """Short one-line human text, led by the first failing variant if any."""
        failing = self.failing
        if failing:
            text = failing[0].summary()
            if len(failing) > 1:
                text += f" [+{len(failing) - 1} failing variants]"
            return text
        if self.reason:
            return f"{self.kind.value}: {self.reason}"
        return f"{self.kind.value} ({len(self.results)} variants)"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; inverse of :meth:`from_dict`."""
        return {
            "kind": self.kind.value,
            "results": [r.to_dict() for r in self.results],
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Outcome:
        """Rebuild an :class:`Outcome` from :meth:`to_dict` output."""
        return cls(
            kind=OutcomeKind(data["kind"]),
            results=tuple(VariantResult.from_dict(r) for r in data.get("results", ())),
            reason=str(data.get("reason", "")),
        )

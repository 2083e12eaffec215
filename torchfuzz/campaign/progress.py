"""A campaign's progress: the live counts the driver keeps (`Progress`), the facts shown about
them at one instant (`Snapshot`) and the plain log line.

Pure functions of a `Progress` and a clock reading (`now`, on the `time.monotonic` scale of
`Progress.started`; default the current time), so the same state always gives the same facts.
The CLI draws them (`torchfuzz.commands.live`).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from torchfuzz.backends.outcome import OutcomeKind, ProcessFate

# Findings first, then the fuzzer's own failures, then the uneventful kinds.
_FAILURE_KINDS = tuple(
    kind.value for kind in (OutcomeKind.MISMATCH, OutcomeKind.CRASH, *ProcessFate)
)
_OUTCOME_ORDER = (*_FAILURE_KINDS, OutcomeKind.INVALID.value)
_QUIET_KINDS = (OutcomeKind.OK.value, OutcomeKind.SKIPPED.value)


@dataclass
class Progress:
    """Live counts for progress display.

    ``total`` is the number of seeds this run will check (None for a time-limited
    campaign, which has ``time_limit`` instead); ``in_flight`` the cases being checked.
    """

    checked: int = 0
    skipped_done: int = 0
    outcomes: Counter = field(default_factory=Counter)
    unique: int = 0
    started: float = field(default_factory=time.monotonic)
    total: int | None = None
    time_limit: float | None = None
    in_flight: int = 0
    triaging: int = 0  # triage and minimization jobs not finished
    minimized: int = 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        elapsed = self.elapsed
        return self.checked / elapsed if elapsed > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The facts shown about a campaign at one instant."""

    checked: int
    total: int | None
    fraction: float | None  # of the seeds or of the time limit; None if unbounded
    elapsed: float
    rate: float  # cases per second
    eta: float | None  # seconds left; None before the rate is known
    outcomes: tuple[tuple[str, int], ...]  # non-zero counts, failures first
    unique: int
    in_flight: int
    resumed: int
    triaging: int = 0
    minimized: int = 0

    @property
    def failures(self) -> tuple[tuple[str, int], ...]:
        return tuple(item for item in self.outcomes if item[0] not in _QUIET_KINDS)

    @property
    def quiet(self) -> tuple[tuple[str, int], ...]:
        return tuple(item for item in self.outcomes if item[0] in _QUIET_KINDS)


def snapshot(progress: Progress, now: float | None = None) -> Snapshot:
    """Freeze `progress` at clock reading `now` (default: `time.monotonic()`)."""
    now = time.monotonic() if now is None else now
    elapsed = max(now - progress.started, 0.0)
    checked = progress.checked
    rate = checked / elapsed if elapsed > 0 else 0.0
    fraction = eta = None
    if progress.total is not None:
        left = max(progress.total - checked, 0)
        fraction = min(checked / progress.total, 1.0) if progress.total > 0 else 1.0
        eta = 0.0 if left == 0 else (left / rate if rate > 0 else None)
    elif progress.time_limit is not None:
        limit = progress.time_limit
        fraction = min(elapsed / limit, 1.0) if limit > 0 else 1.0
        eta = max(limit - elapsed, 0.0)
    return Snapshot(
        checked=checked,
        total=progress.total,
        fraction=fraction,
        elapsed=elapsed,
        rate=rate,
        eta=eta,
        outcomes=_ordered(progress.outcomes),
        unique=progress.unique,
        in_flight=progress.in_flight,
        resumed=progress.skipped_done,
        triaging=progress.triaging,
        minimized=progress.minimized,
    )


def _ordered(outcomes) -> tuple[tuple[str, int], ...]:
    def key(kind: str) -> tuple[int, str]:
        if kind in _OUTCOME_ORDER:
            return (_OUTCOME_ORDER.index(kind), "")
        if kind in _QUIET_KINDS:
            return (len(_OUTCOME_ORDER) + 1 + _QUIET_KINDS.index(kind), "")
        return (len(_OUTCOME_ORDER), kind)  # an unforeseen kind: shown with the failures

    return tuple((k, outcomes[k]) for k in sorted(outcomes, key=key) if outcomes[k] > 0)


def format_duration(seconds: float) -> str:
    """`M:SS` below an hour, `H:MM:SS` above."""
    total = int(max(seconds, 0.0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_rate(rate: float) -> str:
    """Cases per second, about three digits, with a steady width while the rate settles."""
    return f"{rate:.2f}" if rate < 10 else f"{rate:.1f}" if rate < 100 else f"{rate:.0f}"


def count_text(snap: Snapshot) -> str:
    """`74/200` with a total, else `74 cases`."""
    return f"{snap.checked}/{snap.total}" if snap.total is not None else f"{snap.checked} cases"


def eta_text(snap: Snapshot) -> str:
    """The time left, `?` before the rate is known."""
    return "?" if snap.eta is None else format_duration(snap.eta)


def _pairs(items: tuple[tuple[str, int], ...], tie: str, sep: str) -> str:
    return sep.join(f"{kind}{tie}{n}" for kind, n in items)


def render_line(progress: Progress, now: float | None = None) -> str:
    """One plain log line with the same facts as the bar."""
    snap = snapshot(progress, now)
    head = f"progress: {count_text(snap)}" + (" cases" if snap.total is not None else "")
    if snap.fraction is not None:
        head += f" ({snap.fraction:.0%})"
    left = "time left" if snap.total is None and snap.fraction is not None else "eta"
    fields = [
        head,
        f"{format_rate(snap.rate)} cases/s",
        f"elapsed {format_duration(snap.elapsed)}",
        f"{left} {eta_text(snap)}" if snap.fraction is not None else "",
        f"outcomes: {_pairs(snap.outcomes, ' ', ', ')}" if snap.outcomes else "outcomes: none yet",
        f"unique findings {snap.unique}",
        f"in flight {snap.in_flight}",
        f"triaging {snap.triaging}" if snap.triaging else "",
        f"minimized {snap.minimized}" if snap.minimized else "",
        f"resumed {snap.resumed} recorded earlier" if snap.resumed else "",
    ]
    return "; ".join(field for field in fields if field)

"""Text for a campaign's progress: a bar for a terminal, a plain line for logs.

Pure functions of a `Progress` and a clock reading (`now`, on the `time.monotonic` scale of
`Progress.started`; default the current time), so the same state always renders the same text.
`ProgressDisplay` draws them on a stream the CLI hands it, throttled.
"""

from __future__ import annotations

import math
import os
import shutil
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from torchfuzz.backends.outcome import OutcomeKind, ProcessFate

if TYPE_CHECKING:
    from torchfuzz.campaign.driver import Progress

# Findings first, then the fuzzer's own failures, then the uneventful kinds.
_FAILURE_KINDS = tuple(
    kind.value for kind in (OutcomeKind.MISMATCH, OutcomeKind.CRASH, *ProcessFate)
)
_OUTCOME_ORDER = (*_FAILURE_KINDS, OutcomeKind.INVALID.value)
_QUIET_KINDS = (OutcomeKind.OK.value, OutcomeKind.SKIPPED.value)
_MIN_BAR = 10  # cells; a narrower bar is dropped instead
_MAX_BAR = 50  # a wider bar shows nothing more
_BAR = "<bar>"  # stands for the bar among the parts of a line (compared by identity)


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


def _count(snap: Snapshot) -> str:
    return f"{snap.checked}/{snap.total}" if snap.total is not None else f"{snap.checked} cases"


def _eta(snap: Snapshot) -> str:
    return "?" if snap.eta is None else format_duration(snap.eta)


def _pairs(items: tuple[tuple[str, int], ...], tie: str, sep: str) -> str:
    return sep.join(f"{kind}{tie}{n}" for kind, n in items)


def render_bar(progress: Progress, width: int, now: float | None = None) -> str:
    """One terminal line of at most `width` characters, no control characters.

    Parts are dropped least important first until the rest fits (the bar counting as
    `_MIN_BAR` cells); the bar then takes a quarter of the width, or less if crowded.
    """
    if width <= 0:
        return ""
    snap = snapshot(progress, now)
    bounded = snap.fraction is not None
    # (importance: lower is kept longer, text) in display order; "" parts are left out and
    # _BAR stands for the bar, drawn once its width is known.
    parts = [
        (3, f"{snap.fraction:4.0%}" if bounded else ""),
        (4, _BAR if bounded else ""),
        (0, _count(snap)),
        (6, f"{format_rate(snap.rate)}/s"),
        (5, format_duration(snap.elapsed) + (f"<{_eta(snap)}" if bounded else "")),
        (7, _pairs(snap.quiet, ":", " ")),
        *((1 + i / 100, f"{kind}:{n}") for i, (kind, n) in enumerate(snap.failures)),
        (2, f"unique:{snap.unique}"),
        (8, f"running:{snap.in_flight}" if snap.in_flight else ""),
        (9, f"resumed:{snap.resumed}" if snap.resumed else ""),
    ]
    parts = [(rank, text) for rank, text in parts if text]

    def length(kept: list[tuple[int, str]], cells: int) -> int:
        bar = cells + 2 if any(text is _BAR for _, text in kept) else 0
        return sum(len(text) for _, text in kept if text is not _BAR) + bar + len(kept) - 1

    while len(parts) > 1 and length(parts, _MIN_BAR) > width:
        parts.remove(max(parts, key=lambda part: part[0]))
    # A steady quarter of the line, so the bar does not jump as parts come and go.
    steady = min(max(width // 4, _MIN_BAR), _MAX_BAR)
    cells = min(steady, _MIN_BAR + width - length(parts, _MIN_BAR))
    texts = [_draw_bar(snap.fraction, cells) if text is _BAR else text for _, text in parts]
    return " ".join(texts)[:width]


def _draw_bar(fraction: float, cells: int) -> str:
    done = round(fraction * cells)
    return "[" + "#" * done + "." * (cells - done) + "]"


def render_line(progress: Progress, now: float | None = None) -> str:
    """One plain log line with the same facts as the bar."""
    snap = snapshot(progress, now)
    head = f"progress: {_count(snap)}" + (" cases" if snap.total is not None else "")
    if snap.fraction is not None:
        head += f" ({snap.fraction:.0%})"
    left = "time left" if snap.total is None and snap.fraction is not None else "eta"
    fields = [
        head,
        f"{format_rate(snap.rate)} cases/s",
        f"elapsed {format_duration(snap.elapsed)}",
        f"{left} {_eta(snap)}" if snap.fraction is not None else "",
        f"outcomes: {_pairs(snap.outcomes, ' ', ', ')}" if snap.outcomes else "outcomes: none yet",
        f"unique findings {snap.unique}",
        f"in flight {snap.in_flight}",
        f"resumed {snap.resumed} recorded earlier" if snap.resumed else "",
    ]
    return "; ".join(field for field in fields if field)


class ProgressDisplay:
    """The campaign's progress callback: on a terminal a bar redrawn in place (at most every
    `every` seconds, default 0.1), elsewhere a log line (default every 30 s); `finish()` shows
    the last state. The bar never ends its line: the caller starts what follows on a new one.
    Writes only to the `stream` it is given (the CLI passes stderr)."""

    def __init__(self, stream: TextIO, every: float | None = None, clock=time.monotonic) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.every = every if every is not None else (0.1 if self.tty else 30.0)
        self._clock = clock
        self._last = -math.inf if self.tty else clock()  # a log's first line waits a period
        self._progress: Progress | None = None
        self._dirty = False  # a state arrived that is not shown yet
        self._lock = threading.RLock()  # the campaign may call from a ticker thread

    def __call__(self, progress: Progress) -> None:
        with self._lock:
            self._progress, self._dirty = progress, True
            if self._clock() - self._last >= self.every:
                self._draw()

    def finish(self) -> None:
        with self._lock:
            if self._progress is not None and self._dirty:
                self._draw()

    def _draw(self) -> None:
        now = self._clock()
        self._last, self._dirty = now, False
        if self.tty:
            width = columns(self.stream) - 1  # the last column would wrap on some terminals
            text = "\r" + render_bar(self._progress, width, now).ljust(width)
        else:
            text = render_line(self._progress, now) + "\n"
        self.stream.write(text)
        self.stream.flush()


def columns(stream: TextIO) -> int:
    """The width of the terminal `stream` is attached to (stdout's when it cannot tell)."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        columns = 0
    return columns if columns > 0 else shutil.get_terminal_size().columns

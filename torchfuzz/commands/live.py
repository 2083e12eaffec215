"""The `fuzz` progress display: on a terminal a rich live bar, elsewhere a plain log line.

The bar shows done/total, cases/s, elapsed<remaining, failures by kind, unique findings and
cases in flight; when the terminal is too narrow the least important parts go first.
"""

from __future__ import annotations

import io
import math
import os
import threading
import time
from collections.abc import Callable
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from torchfuzz.campaign.progress import (
    Progress,
    Snapshot,
    count_text,
    eta_text,
    format_duration,
    format_rate,
    render_line,
    snapshot,
)

_MIN_BAR, _MAX_BAR = 10, 50  # cells: a narrower bar is dropped, a wider one shows no more
_BAR = None  # the bar among the parts of a line, drawn once its width is known


def _parts(snap: Snapshot) -> list[tuple[float, str | None]]:
    """(importance: lower is kept longer, text or _BAR) in display order."""
    bounded = snap.fraction is not None
    quiet = " ".join(f"{kind}:{n}" for kind, n in snap.quiet)
    parts = [
        (3, f"{snap.fraction:4.0%}" if bounded else ""),
        (4, _BAR if bounded else ""),
        (0, count_text(snap)),
        (6, f"{format_rate(snap.rate)}/s"),
        (5, format_duration(snap.elapsed) + (f"<{eta_text(snap)}" if bounded else "")),
        (7, quiet),
        *((1 + i / 100, f"{kind}:{n}") for i, (kind, n) in enumerate(snap.failures)),
        (2, f"unique:{snap.unique}"),
        (8, f"running:{snap.in_flight}" if snap.in_flight else ""),
        (2.5, f"triaging:{snap.triaging}" if snap.triaging else ""),
        (8.5, f"minimized:{snap.minimized}" if snap.minimized else ""),
        (9, f"resumed:{snap.resumed}" if snap.resumed else ""),
    ]
    return [(rank, text) for rank, text in parts if text != ""]


def _length(parts: list[tuple[float, str | None]], bar: int) -> int:
    texts = [text for _, text in parts]
    return sum(bar if t is _BAR else len(t) for t in texts) + len(texts) - 1


def progress_bar(progress: Progress, width: int, now: float | None = None) -> Table:
    """One line of at most `width` cells: the parts that fit, least important dropped first;
    the bar takes a steady quarter of the width (less if crowded)."""
    snap = snapshot(progress, now)
    parts = _parts(snap)
    while len(parts) > 1 and _length(parts, _MIN_BAR) > width:
        parts.remove(max(parts, key=lambda part: part[0]))
    steady = min(max(width // 4, _MIN_BAR), _MAX_BAR)
    cells = min(steady, _MIN_BAR + width - _length(parts, _MIN_BAR))
    line = Table.grid(padding=(0, 1, 0, 0))
    cells_of_line = []
    for _, text in parts:
        if text is _BAR:
            line.add_column(width=cells, no_wrap=True)
            cells_of_line.append(ProgressBar(total=1.0, completed=snap.fraction, width=cells))
        else:
            line.add_column(no_wrap=True, overflow="crop")
            cells_of_line.append(Text(text, style=_style(text)))
    line.add_row(*cells_of_line)
    return line


def _style(text: str) -> str:
    kind = text.partition(":")[0]
    return "bold red" if kind in ("mismatch", "crash", "killed", "timeout") else ""


class ProgressDisplay:
    """The campaign's progress callback: on a terminal a rich live bar redrawn at most every
    `every` seconds (default 0.1), elsewhere a `progress:` line (default every 30 s);
    `finish()` shows the last state and ends the bar's line. Writes only to `stream`."""

    def __init__(
        self,
        stream: TextIO,
        every: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.every = every if every is not None else (0.1 if self.tty else 30.0)
        self._clock = clock
        self._last = -math.inf if self.tty else clock()  # a log's first line waits a period
        self._progress: Progress | None = None
        self._dirty = False  # a state arrived that is not shown yet
        self._lock = threading.RLock()  # the campaign may call from a ticker thread
        self._live: Live | None = None

    def __call__(self, progress: Progress) -> None:
        with self._lock:
            self._progress, self._dirty = progress, True
            if self._clock() - self._last >= self.every:
                self._draw()

    def finish(self) -> None:
        with self._lock:
            if self._progress is not None and self._dirty:
                self._draw()
            if self._live is not None:
                self._live.stop()  # leaves the last bar, ends its line, shows the cursor
                self._live = None

    def _draw(self) -> None:
        now = self._clock()
        self._last, self._dirty = now, False
        if not self.tty:
            self.stream.write(render_line(self._progress, now) + "\n")
            self.stream.flush()
            return
        if self._live is None:
            # Python-level writes to stdout/stderr (log records) go above the bar; worker
            # processes write to the terminal directly and may still break it.
            console = Console(file=self.stream, highlight=False)
            self._live = Live(console=console, auto_refresh=False, transient=False)
            self._live.start()
        # The width of the terminal we draw on, at each draw (resizes); rich's own guess looks
        # at stdin/stdout first and answers 80 for TERM=dumb unless given both dimensions.
        console = self._live.console
        console.size = (_columns(self.stream, console.width), console.height)
        width = console.width - 1  # the last column would wrap on some terminals
        self._live.update(progress_bar(self._progress, width, now), refresh=True)


def _columns(stream: TextIO, fallback: int) -> int:
    """The width of the terminal `stream` is attached to; `fallback` when it cannot tell."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        columns = 0
    return columns if columns > 0 else fallback

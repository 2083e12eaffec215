"""The `fuzz` progress display: the bar's text at fixed clock readings, throttled redraws on a
terminal, periodic lines in a log."""

import io
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from tests.campaign._states import NOW, STATES, done, fresh, mid_run, time_limited
from torchfuzz.campaign.progress import Progress
from torchfuzz.cli import main
from torchfuzz.commands import campaign
from torchfuzz.commands.live import ProgressDisplay, progress_bar

# rich's control sequences: colours, cursor moves, line erasure, cursor shown/hidden
_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def bar(progress: Progress, width: int, now: float | None = None) -> str:
    """The bar as a terminal `width` columns wide shows it, without colours."""
    console = Console(width=width, height=25, file=io.StringIO(), color_system=None)
    with console.capture() as captured:
        console.print(progress_bar(progress, width, now))
    text = captured.get()
    assert text.count("\n") == 1, text  # one line
    return text.removesuffix("\n")


def visible_lines(output: str) -> list[str]:
    """What a terminal shows of `output`: escapes removed, split at returns and newlines."""
    return [line for line in re.split("[\r\n]", _ESCAPE.sub("", output)) if line]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("width", [1, 10, 20, 40, 60, 80, 120, 200])
def test_bar_never_exceeds_the_width(state, width):
    text = bar(state(), width, now=NOW + 24)
    assert len(text) <= width and text.isprintable()


def test_bar_before_the_first_case():
    text = bar(fresh(), 80, now=NOW + 3)
    assert text.startswith("  0% " + " " * 20 + " 0/200")  # an empty bar, a quarter of the width
    assert "0:03<?" in text and "unique:0" in text


def test_bar_mid_run_shows_progress_rate_eta_and_failures():
    wide = bar(mid_run(), 200, now=NOW)
    assert wide.startswith(" 37% ━━━━━━━━━━━━━━━━━━╸" + " " * 31 + " 74/200")  # 50 cells
    assert wide.endswith(
        "74/200 3.08/s 0:24<0:40 ok:70 mismatch:2 crash:1 timeout:1 unique:3 running:4 resumed:12"
    )
    # 80 columns: the least important parts go, the bar shrinks, the failures stay
    narrow = bar(mid_run(), 80, now=NOW)
    assert len(narrow) == 80
    assert narrow.startswith(" 37% ━━━━╸") and "0:24<0:40" in narrow
    assert "mismatch:2 crash:1 timeout:1 unique:3" in narrow
    assert "resumed" not in narrow and "running" not in narrow


def test_narrow_bar_keeps_count_and_first_failures():
    assert bar(mid_run(), 20, now=NOW) == "74/200 mismatch:2"
    assert bar(mid_run(), 10, now=NOW) == "74/200"


def test_bar_of_a_time_limited_campaign_is_the_time_used():
    text = bar(time_limited(), 120, now=NOW)
    assert text.startswith("  4% ━ ") and "74 cases" in text and "0:24<9:36" in text
    assert "killed:1" in text and "timeout:1" in text


def test_bar_when_done():
    text = bar(done(), 80, now=NOW)
    assert text.startswith("100% " + "━" * 20 + " ")
    assert "200/200" in text and "<0:00" in text and "ok:199 mismatch:1" in text


def test_unbounded_progress_has_no_bar():
    assert bar(Progress(checked=5, started=NOW - 10), 80, now=NOW) == "5 cases 0.50/s 0:10 unique:0"


def test_failures_stand_out_on_a_colour_terminal():
    console = Console(
        width=120, height=25, file=io.StringIO(), force_terminal=True, color_system="standard"
    )
    with console.capture() as captured:
        console.print(progress_bar(mid_run(), 120, now=NOW))
    assert "\x1b[1;31mmismatch:2\x1b[0m" in captured.get()


class FakeStream(io.StringIO):
    """A stderr that records each write; `fileno()` is unsupported, so COLUMNS decides."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty
        self.writes: list[str] = []

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _feed(display, clock, progress, until: float, step: float) -> None:
    """One case every `step` seconds until `until`, as the campaign would report them."""
    while clock.now + step <= until + 1e-9:
        clock.now += step
        progress.checked += 1
        progress.outcomes["ok"] += 1
        display(progress)


def test_terminal_bar_redraws_in_place_at_most_ten_times_a_second(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("TERM", "xterm")  # rich draws no live display on TERM=dumb
    stream, clock = FakeStream(tty=True), FakeClock()
    display = ProgressDisplay(stream, clock=clock)
    progress = Progress(started=0.0, total=200)
    _feed(display, clock, progress, until=1.0, step=0.01)  # 100 cases in one second
    draws = visible_lines(stream.getvalue())
    assert 9 <= len(draws) <= 11 and "\n" not in stream.getvalue()  # redrawn in place
    assert all(len(draw) <= 59 and "/200" in draw for draw in draws)  # the last column free
    assert "100/200" not in draws[-1]  # the last case fell inside the throttle
    display.finish()
    draws = visible_lines(stream.getvalue())
    assert "100/200" in draws[-1] and _ESCAPE.sub("", stream.getvalue()).endswith("\n")
    written = stream.getvalue()
    display.finish()  # nothing new: no redraw
    assert stream.getvalue() == written and len(draws) <= 12


def test_log_gets_a_line_every_30_seconds_and_one_at_the_end():
    stream, clock = FakeStream(tty=False), FakeClock()
    display = ProgressDisplay(stream, clock=clock)
    progress = Progress(started=0.0, total=200)
    _feed(display, clock, progress, until=95.0, step=1.0)
    assert [w.split(";")[0] for w in stream.writes] == [
        "progress: 30/200 cases (15%)",
        "progress: 60/200 cases (30%)",
        "progress: 90/200 cases (45%)",
    ]
    display.finish()
    assert stream.writes[-1].startswith("progress: 95/200 cases") and len(stream.writes) == 4
    assert all(w.endswith("\n") and "\r" not in w for w in stream.writes)
    display.finish()  # already shown
    assert len(stream.writes) == 4


def test_finish_without_any_progress_writes_nothing():
    stream = FakeStream(tty=True)
    ProgressDisplay(stream).finish()
    assert stream.writes == []


def test_ctrl_c_still_shows_the_last_counts(monkeypatch):
    stream = FakeStream(tty=False)
    monkeypatch.setattr(campaign.sys, "stderr", stream)

    def interrupted_campaign(config, progress):
        state = Progress(checked=7, total=50)
        progress(state)  # inside the first 30 s: not shown yet
        raise KeyboardInterrupt

    monkeypatch.setattr(campaign, "run_campaign", interrupted_campaign)
    with pytest.raises(KeyboardInterrupt):
        campaign.run_with_progress(config=None)
    assert len(stream.writes) == 1 and stream.writes[0].startswith("progress: 7/50 cases")


FUZZ = ["fuzz", "--seeds", "0:2", "--variants", "eager", "--no-minimize", "--workers", "1"]


@pytest.mark.slow
def test_short_campaign_logs_one_progress_line(capsys, tmp_path):
    assert main([*FUZZ, "--out", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.startswith("progress:")]
    assert len(lines) == 1 and lines[0].startswith("progress: 2/2 cases (100%)")
    assert "cases: 2" in out


@pytest.mark.slow
def test_bar_on_a_terminal_then_the_summary_on_a_fresh_line(tmp_path):
    pty = pytest.importorskip("pty")
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))
    repo = str(Path(__file__).resolve().parents[2])
    proc = subprocess.Popen(
        [sys.executable, "-m", "torchfuzz.cli", *FUZZ, "--out", str(tmp_path)],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "PYTHONPATH": repo, "TERM": "xterm"},
        start_new_session=True,
    )
    os.close(slave)
    data = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 1)[0]:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every holder of the terminal has closed it
                break
            if not chunk:
                break
            data += chunk
        assert proc.wait(timeout=30) == 0, data
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    before, summary_starts, _ = _ESCAPE.sub("", data.decode()).partition("\r\ncases: 2 ")
    assert summary_starts, data  # the summary follows the bar, on a line of its own
    # log records (a slow worker start under load) are printed above the bar: not draws
    draws = [line for line in visible_lines(before) if not line.startswith(("WARNING", "ERROR"))]
    assert draws and all(len(draw) <= 59 for draw in draws), [d for d in draws if len(d) > 59]
    assert draws[-1].startswith("100% ━") and "2/2" in draws[-1]

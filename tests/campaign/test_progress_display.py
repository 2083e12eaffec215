"""The `fuzz` progress display: throttled redraws on a terminal, periodic lines in a log."""

import io
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from torchfuzz import cli
from torchfuzz.campaign.driver import Progress
from torchfuzz.campaign.progress import ProgressDisplay


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
    stream, clock = FakeStream(tty=True), FakeClock()
    display = ProgressDisplay(stream, clock=clock)
    progress = Progress(started=0.0, total=200)
    _feed(display, clock, progress, until=1.0, step=0.01)  # 100 cases in one second
    assert 9 <= len(stream.writes) <= 11
    assert all(w.startswith("\r") and "\n" not in w and len(w) == 60 for w in stream.writes)
    assert "100/200" not in stream.writes[-1]  # the last case fell inside the throttle
    display.finish()
    assert "100/200" in stream.writes[-1] and "\n" not in stream.writes[-1]
    display.finish()  # nothing new: no redraw
    assert len(stream.writes) <= 12


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
    monkeypatch.setattr(cli.sys, "stderr", stream)

    def interrupted_campaign(config, progress):
        state = Progress(checked=7, total=50)
        progress(state)  # inside the first 30 s: not shown yet
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_campaign", interrupted_campaign)
    with pytest.raises(KeyboardInterrupt):
        cli._run_with_progress(config=None)
    assert len(stream.writes) == 1 and stream.writes[0].startswith("progress: 7/50 cases")


FUZZ = ["fuzz", "--seeds", "0:2", "--variants", "eager", "--no-minimize", "--workers", "1"]


def test_short_campaign_logs_one_progress_line(capsys, tmp_path):
    assert cli.main([*FUZZ, "--out", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.startswith("progress:")]
    assert len(lines) == 1 and lines[0].startswith("progress: 2/2 cases (100%)")
    assert "cases: 2" in out


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
        env={**os.environ, "PYTHONPATH": repo},
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
    before, summary_starts, _ = data.decode().partition("\r\ncases: 2 ")
    assert summary_starts, data  # the summary follows the bar, on a line of its own
    draws = before.split("\r")[1:]  # each redraw returns to column 0 and rewrites the line
    assert draws and all(len(draw) == 59 for draw in draws)  # 60 columns, the last left free
    assert draws[-1].startswith("100% [") and "2/2" in draws[-1]

"""Progress facts and the plain log line, at fixed clock readings (the terminal bar drawn
from them is tested in tests/commands/test_live.py)."""

import pytest

from tests.campaign._states import NOW, STATES, done, fresh, mid_run, time_limited
from torchfuzz.campaign.progress import (
    Progress,
    format_duration,
    format_rate,
    render_line,
    snapshot,
)


def test_snapshot_of_a_time_limited_campaign_is_the_time_used():
    snap = snapshot(time_limited(), now=NOW)
    assert snap.fraction == pytest.approx(24 / 600) and snap.eta == pytest.approx(576)
    assert snap.failures == (("mismatch", 2), ("crash", 1), ("killed", 1), ("timeout", 1))
    assert snap.quiet == (("ok", 69),)


def test_snapshot_mid_run_and_done():
    snap = snapshot(mid_run(), now=NOW)
    assert (snap.checked, snap.total, snap.in_flight, snap.resumed) == (74, 200, 4, 12)
    assert snap.fraction == pytest.approx(0.37) and snap.rate == pytest.approx(74 / 24)
    assert snap.eta == pytest.approx(126 / (74 / 24))
    assert snapshot(done(), now=NOW).eta == 0.0 and snapshot(fresh(), now=NOW).eta is None


def test_line_mid_run():
    assert render_line(mid_run(), now=NOW) == (
        "progress: 74/200 cases (37%); 3.08 cases/s; elapsed 0:24; eta 0:40; "
        "outcomes: mismatch 2, crash 1, timeout 1, ok 70; unique findings 3; in flight 4; "
        "resumed 12 recorded earlier"
    )


def test_line_fresh_and_time_limited():
    assert "eta ?" in render_line(fresh(), now=NOW) and "outcomes: none yet" in render_line(
        fresh(), now=NOW
    )
    line = render_line(time_limited(), now=NOW)
    assert line.startswith("progress: 74 cases (4%);") and "time left 9:36" in line


@pytest.mark.parametrize("state", STATES)
def test_line_has_no_control_characters(state):
    line = render_line(state(), now=NOW + 5)
    assert line.isprintable() and "\r" not in line and "\n" not in line


def test_clock_defaults_to_now():
    progress = Progress(checked=1, total=2)
    assert "1/2 cases" in render_line(progress) and snapshot(progress).elapsed >= 0


@pytest.mark.parametrize(
    "rate, text", [(0, "0.00"), (0.3, "0.30"), (12.34, "12.3"), (250.4, "250")]
)
def test_format_rate(rate, text):
    assert format_rate(rate) == text


@pytest.mark.parametrize(
    "seconds, text", [(0, "0:00"), (59.9, "0:59"), (61, "1:01"), (3600, "1:00:00"), (-3, "0:00")]
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text

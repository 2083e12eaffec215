"""Progress text: the terminal bar and the plain log line, at fixed clock readings."""

from collections import Counter

import pytest

from torchfuzz.campaign.driver import Progress
from torchfuzz.campaign.progress import (
    format_duration,
    format_rate,
    render_bar,
    render_line,
    snapshot,
)

NOW = 1000.0  # every state below started 24 s before NOW


def fresh() -> Progress:
    return Progress(started=NOW, total=200)


def mid_run() -> Progress:
    return Progress(
        checked=74,
        skipped_done=12,
        outcomes=Counter(ok=70, mismatch=2, crash=1, timeout=1),
        unique=3,
        started=NOW - 24,
        total=200,
        in_flight=4,
    )


def time_limited() -> Progress:
    return Progress(
        checked=74,
        outcomes=Counter(ok=69, mismatch=2, crash=1, killed=1, timeout=1),
        unique=4,
        started=NOW - 24,
        time_limit=600,
        in_flight=2,
    )


def done() -> Progress:
    return Progress(
        checked=200, outcomes=Counter(ok=199, mismatch=1), unique=1, started=NOW - 24, total=200
    )


STATES = [fresh, mid_run, time_limited, done]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("width", [1, 10, 20, 40, 60, 80, 120, 200])
def test_bar_never_exceeds_the_width(state, width):
    text = render_bar(state(), width, now=NOW + 24)
    assert len(text) <= width and text.isprintable()


def test_bar_before_the_first_case():
    text = render_bar(fresh(), 80, now=NOW + 3)
    assert text.startswith("  0% [" + "." * 20 + "] ")  # a steady quarter of the width
    assert "0/200" in text and "0:03<?" in text and "unique:0" in text


def test_bar_mid_run_shows_progress_rate_eta_and_failures():
    wide = render_bar(mid_run(), 200, now=NOW)
    assert wide == (
        " 37% [##################................................] 74/200 3.08/s 0:24<0:40 "
        "ok:70 mismatch:2 crash:1 timeout:1 unique:3 running:4 resumed:12"
    )
    # 80 columns: the least important parts go, the bar shrinks, the failures stay
    narrow = render_bar(mid_run(), 80, now=NOW)
    assert len(narrow) == 80
    assert " 37% [####" in narrow and "0:24<0:40" in narrow
    assert "mismatch:2 crash:1 timeout:1 unique:3" in narrow
    assert "resumed" not in narrow and "running" not in narrow


def test_narrow_bar_keeps_count_and_first_failures():
    assert render_bar(mid_run(), 20, now=NOW) == "74/200 mismatch:2"
    assert render_bar(mid_run(), 10, now=NOW) == "74/200"


def test_bar_of_a_time_limited_campaign_is_the_time_used():
    snap = snapshot(time_limited(), now=NOW)
    assert snap.fraction == pytest.approx(24 / 600) and snap.eta == pytest.approx(576)
    text = render_bar(time_limited(), 120, now=NOW)
    assert text.startswith("  4% [#...") and "74 cases" in text and "0:24<9:36" in text
    assert "killed:1" in text and "timeout:1" in text


def test_bar_when_done():
    text = render_bar(done(), 80, now=NOW)
    assert text.startswith("100% [" + "#" * 20 + "] ")
    assert "200/200" in text and "<0:00" in text and "ok:199 mismatch:1" in text


def test_unbounded_progress_has_no_bar():
    text = render_bar(Progress(checked=5, started=NOW - 10), 80, now=NOW)
    assert text == "5 cases 0.50/s 0:10 unique:0"


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
    assert "1/2" in render_bar(progress, 80) and "1/2 cases" in render_line(progress)


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

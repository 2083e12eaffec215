"""Campaign progress at fixed clock readings, shared by the progress and live-display tests."""

from collections import Counter

from torchfuzz.campaign.progress import Progress

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

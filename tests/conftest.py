"""How the suite is laid out over xdist workers (``-n auto``, the default in pyproject).

A few slow tests run for minutes (campaigns that wait on hangs and worker restarts), and
xdist's default scheduler hands each worker a run of consecutive tests: the campaign tests
of one directory landed on one worker, which ran on for minutes after the other had
finished.  So slow tests start first, and an idle worker takes queued tests from a busy
one.  Neither changes what a test runs or asserts.
"""

from __future__ import annotations

from typing import Any

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow and Inductor tests first, each group in collection order: a long test then
    never starts when the other workers have nothing left to run."""
    items.sort(
        key=lambda item: (
            not (item.get_closest_marker("slow") or item.get_closest_marker("inductor"))
        )
    )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's work-stealing scheduler in place of its default (``--dist load``): a worker
    that runs out of tests takes half of the queue of the busiest one."""
    if config.getoption("dist") != "load":
        return None  # another distribution asked for explicitly
    from xdist.scheduler import WorkStealingScheduling

    return WorkStealingScheduling(config, log)

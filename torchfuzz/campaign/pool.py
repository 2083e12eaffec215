"""Worker threads that each own an isolated worker process, for triage and minimization.

A job is a function taking ``runner=`` (the thread's
:class:`~torchfuzz.backends.worker.IsolatedRunner`); a job runs candidates one after the
other, so each thread keeps its worker process warm between candidates and jobs.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

from torchfuzz.backends.worker import IsolatedRunner

__all__ = ["RunnerPool"]


class RunnerPool:
    """``workers`` threads, each with its own :class:`IsolatedRunner`."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"a runner pool needs at least one worker, got {workers}")
        self.workers = workers
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, "torchfuzz-triage")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._runners: list[IsolatedRunner] = []
        self._killed = False

    def _runner(self) -> IsolatedRunner:
        runner = getattr(self._local, "runner", None)
        if runner is None:
            runner = IsolatedRunner()
            self._local.runner = runner
            with self._lock:
                self._runners.append(runner)
                if self._killed:
                    runner.kill()
        return runner

    def submit(
        self, job: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future:
        """Run ``job(*args, runner=..., **kwargs)`` on a pool thread."""
        return self._pool.submit(lambda: job(*args, runner=self._runner(), **kwargs))

    def kill(self) -> None:
        """Kill every worker process now: a job in flight gets RunnerKilled (a minimization
        returns its smallest program so far); jobs not started are cancelled."""
        with self._lock:
            self._killed = True
            for runner in self._runners:
                runner.kill()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Wait for the threads and stop the worker processes."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for runner in self._runners:
                runner.close()

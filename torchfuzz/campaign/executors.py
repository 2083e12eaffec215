"""Where a campaign's cases are checked: local worker threads or a Ray cluster.

Both executors take a :class:`~torchfuzz.ir.serialize.Case` (and the variants it runs,
when they are not the campaign's: sampled configurations) and return a
``concurrent.futures.Future`` of its :class:`Verdict`, so the campaign driver waits on
either the same way and stays the only writer of the store.  Either way each case runs in
an :class:`~torchfuzz.backends.worker.IsolatedRunner`: a long-lived worker process that a
crashing or hanging case kills alone.

* ``local``: one thread per worker, each owning a runner (the threads only wait on pipes).
* ``ray``: one Ray actor per worker, each owning a runner on whichever node Ray placed it.
  An actor is a plain Python process; compiled code never runs in it, so a segfault is
  recorded by the actor's runner exactly as locally.  An actor lost with its node is
  restarted by Ray and its case retried.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from torchfuzz.backends.outcome import CaseKind, Outcome, OutcomeKind, case_kind
from torchfuzz.backends.signature import Signature, failure_signature, result_signature
from torchfuzz.backends.variants import Variant, resolve_backend
from torchfuzz.backends.worker import IsolatedRunner, RunResult
from torchfuzz.ir.serialize import Case

log = logging.getLogger(__name__)

__all__ = [
    "EXECUTORS",
    "Executor",
    "ExecutorError",
    "LocalExecutor",
    "RayExecutor",
    "Verdict",
    "check_case",
    "make_executor",
]


class ExecutorError(ValueError):
    """An executor cannot be used as asked (e.g. Ray is not installed)."""


@dataclass(frozen=True)
class Verdict:
    """What a worker says of one case: its outcome kind, the failing variants (those
    with the same kind of failure as the first one, in order; empty when nothing failed),
    the cheap signature of the first (None when nothing failed), seconds, and the full
    outcome when the worker answered (None when it was killed or timed out)."""

    outcome_kind: CaseKind
    variants: tuple[str, ...]
    signature: Signature | None
    seconds: float
    outcome: Outcome | None

    @property
    def variant(self) -> str | None:
        """The first failing variant."""
        return self.variants[0] if self.variants else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome_kind": self.outcome_kind.value,
            "variants": list(self.variants),
            "signature": None if self.signature is None else self.signature.to_dict(),
            "seconds": self.seconds,
            "outcome": None if self.outcome is None else self.outcome.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        signature, outcome = data["signature"], data["outcome"]
        return cls(
            case_kind(data["outcome_kind"]),
            tuple(data["variants"]),
            None if signature is None else Signature.from_dict(signature),
            data["seconds"],
            None if outcome is None else Outcome.from_dict(outcome),
        )


def _failure(result: RunResult, variants: tuple[str, ...], seconds: float) -> Verdict:
    return Verdict(result.fate, variants, result.signature(), seconds, None)


def _failing_variants(outcome: Outcome, signature: Signature | None) -> tuple[str, ...]:
    """The variants that failed like the first: the same crash, or any mismatch (which
    of them one bug explains is for localization to say)."""
    if signature is None:
        return ()
    first = outcome.failing[0]
    return tuple(
        r.variant
        for r in outcome.failing
        if r.kind is first.kind
        and (r.kind is OutcomeKind.MISMATCH or result_signature(r) == signature)
    )


def check_case(
    runner: IsolatedRunner, case: Case, variants: Sequence[Variant], timeout: float
) -> Verdict:
    """Check one case in the runner's worker process, attributing a dead or hung worker."""
    start = time.monotonic()
    result = runner.run(case, variants, timeout)
    if result.process_failure:
        # Run each variant alone in a fresh worker: which one kills it (the previous case
        # may also have corrupted the heap this case died on).
        for variant in variants:
            alone = runner.run(case, [variant], timeout)
            if alone.process_failure:
                return _failure(alone, (variant.name,), time.monotonic() - start)
        log.warning("seed %d: worker failure did not reproduce; recording the clean run", case.seed)
        result = runner.run(case, variants, timeout)
        if result.process_failure:  # the signature names all variants; no one failed alone
            together = tuple(v.name for v in variants)
            return _failure(result, together, time.monotonic() - start)
    outcome = result.outcome
    signature = failure_signature(outcome)
    variants = _failing_variants(outcome, signature)
    return Verdict(outcome.kind, variants, signature, time.monotonic() - start, outcome)


class Executor(Protocol):
    """Checks cases somewhere; the driver keeps about ``2 * workers`` of them in flight."""

    workers: int

    def submit(
        self, case: Case, variants: Sequence[Variant] | None = None
    ) -> concurrent.futures.Future[Verdict]:
        """Check ``case`` under ``variants`` (None: the executor's own)."""

    def close(self) -> None:
        """Stop every worker now, also those in the middle of a case (Ctrl-C)."""


class LocalExecutor:
    """``workers`` threads, each owning a long-lived isolated worker process."""

    def __init__(
        self, variants: Sequence[Variant], timeout: float, workers: int, recycle_after: int
    ) -> None:
        self.variants = tuple(variants)
        self.timeout = timeout
        self.workers = workers
        self.recycle_after = recycle_after
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, "torchfuzz-worker")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._runners: list[IsolatedRunner] = []

    def _runner(self) -> IsolatedRunner:
        runner = getattr(self._local, "runner", None)
        if runner is None:
            runner = IsolatedRunner(recycle_after=self.recycle_after)
            self._local.runner = runner
            with self._lock:
                self._runners.append(runner)
        return runner

    def _check(self, case: Case, variants: Sequence[Variant] | None) -> Verdict:
        return check_case(self._runner(), case, variants or self.variants, self.timeout)

    def submit(
        self, case: Case, variants: Sequence[Variant] | None = None
    ) -> concurrent.futures.Future[Verdict]:
        return self._pool.submit(self._check, case, variants)

    def close(self) -> None:
        with self._lock:
            for runner in self._runners:
                runner.kill()  # a thread waiting on it gets RunnerKilled, not a new worker
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for runner in self._runners:
                runner.close()


class _Checker:
    """A Ray actor's state: one isolated runner, the campaign's variants and timeout."""

    def __init__(self, variants: list[dict[str, Any]], timeout: float, recycle_after: int) -> None:
        logging.getLogger("torchfuzz").setLevel(logging.WARNING)
        self.variants = [Variant.from_dict(v) for v in variants]
        self.timeout = timeout
        self.runner = IsolatedRunner(recycle_after=recycle_after)

    def check(self, case_json: str, variants: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        chosen = [Variant.from_dict(v) for v in variants] if variants else self.variants
        return check_case(self.runner, Case.from_json(case_json), chosen, self.timeout).to_dict()

    def close(self) -> None:
        self.runner.close()


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ExecutorError("the ray executor needs Ray: pip install 'torchfuzz[ray]'") from None
    return ray


class RayExecutor:
    """One Ray actor per worker (1 CPU each), on a local instance or the cluster at
    ``address``; each case goes to the actor with the fewest cases in flight.

    ``workers=None`` uses one actor per CPU of the cluster.  A local instance (no address)
    is started with ``workers`` CPUs and shut down by :meth:`close`; its actors get the
    driver's ``sys.path`` so ``pkg.mod:attr`` backends import as they do here.  On a
    cluster, torchfuzz, torch and any custom backend must be installed on every node.
    """

    max_task_retries = 2  # a case whose actor died is retried on the restarted actor

    def __init__(
        self,
        variants: Sequence[Variant],
        timeout: float,
        workers: int | None,
        recycle_after: int,
        address: str | None = None,
    ) -> None:
        ray = _import_ray()
        for variant in variants:
            resolve_backend(variant.backend)  # bad input fails here, not in an actor
        self._ray = ray
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            init: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": logging.WARNING,
            }
            if address is None:
                init["num_cpus"] = workers or os.cpu_count() or 1
                path = os.pathsep.join(os.path.abspath(p or os.curdir) for p in sys.path)
                init["runtime_env"] = {"env_vars": {"PYTHONPATH": path}}
            else:
                init["address"] = address
            ray.init(**init)
        self.workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        actor = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=self.max_task_retries)(
            _Checker
        )
        self._actors = [
            actor.remote([v.to_dict() for v in variants], timeout, recycle_after)
            for _ in range(self.workers)
        ]
        self._load = [0] * self.workers
        self._lock = threading.Lock()
        log.info("ray executor: %d actors", self.workers)

    def submit(
        self, case: Case, variants: Sequence[Variant] | None = None
    ) -> concurrent.futures.Future[Verdict]:
        with self._lock:
            index = min(range(self.workers), key=self._load.__getitem__)
            self._load[index] += 1
        chosen = None if variants is None else [v.to_dict() for v in variants]
        remote = self._actors[index].check.remote(case.to_json(), chosen).future()
        verdict: concurrent.futures.Future[Verdict] = concurrent.futures.Future()
        remote.add_done_callback(_relay(remote, verdict, self._done(index)))
        return verdict

    def _done(self, index: int) -> Callable[[], None]:
        def done() -> None:
            with self._lock:
                self._load[index] -= 1

        return done

    def close(self) -> None:
        ray = self._ray
        try:
            ray.get([a.close.remote() for a in self._actors], timeout=10)
        except Exception as exc:  # busy or dead actors: their runners die with them
            log.debug("ray actors did not close in time: %s", exc)
        for actor in self._actors:
            ray.kill(actor, no_restart=True)
        if self._owns_ray:
            ray.shutdown()


def _relay(
    remote: concurrent.futures.Future,
    verdict: concurrent.futures.Future,
    done: Callable[[], None],
) -> Callable[[concurrent.futures.Future], None]:
    def relay(_: concurrent.futures.Future) -> None:
        done()
        if remote.cancelled():
            verdict.cancel()
        elif remote.exception() is not None:
            verdict.set_exception(remote.exception())
        else:
            verdict.set_result(Verdict.from_dict(remote.result()))

    return relay


def _local_executor(
    variants: Sequence[Variant],
    timeout: float,
    workers: int | None,
    recycle_after: int,
    address: str | None = None,
) -> LocalExecutor:
    if address is not None:
        raise ExecutorError("--address needs --executor ray")
    return LocalExecutor(variants, timeout, workers or os.cpu_count() or 1, recycle_after)


# name -> factory(variants, timeout, workers, recycle_after, address)
EXECUTORS: dict[str, Callable[..., Executor]] = {"local": _local_executor, "ray": RayExecutor}


def make_executor(
    name: str,
    variants: Sequence[Variant],
    timeout: float,
    workers: int | None,
    recycle_after: int,
    address: str | None = None,
) -> Executor:
    """The executor called ``name`` (a key of :data:`EXECUTORS`)."""
    factory = EXECUTORS.get(name)
    if factory is None:
        raise ExecutorError(f"unknown executor {name!r} (choose from {', '.join(EXECUTORS)})")
    return factory(variants, timeout, workers, recycle_after, address)

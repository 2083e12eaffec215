"""Fuzzing campaigns: many seeds, long-lived crash-isolated workers, one findings store.

Programs are generated on the driver thread; worker threads each own an `IsolatedRunner` (a worker process that keeps torch imported and
compile caches warm, replaced when a case kills it, hangs past the timeout, or after
`recycle_after` cases). Only the driver thread writes: every checked seed becomes one row of
`DIR/findings.db` in one transaction, and the first occurrence of a signature also gets an
example directory `DIR/findings/<signature-id>/` written atomically. Killing the driver loses
at most the cases in flight; running again with the same directory skips recorded seeds.
New findings are minimized after the seeds are done.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import itertools
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

from torchfuzz import __version__
from torchfuzz.backends.outcome import Outcome
from torchfuzz.backends.python import to_python
from torchfuzz.backends.repro import to_repro
from torchfuzz.backends.signature import (
    Signature,
    failure_signature,
    killed_signature,
    timeout_signature,
)
from torchfuzz.backends.variants import Variant
from torchfuzz.backends.worker import IsolatedRunner, RunResult
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.dot import to_dot
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.serialize import Case
from torchfuzz.known_issues import KnownIssues
from torchfuzz.minimize import MinimizeResult, NothingToMinimize, minimize_case
from torchfuzz.store import FindingsStore, StoreSummary, write_files_atomically

log = logging.getLogger(__name__)


class CampaignBusyError(ValueError):
    """Another campaign is writing to the same directory."""


@contextlib.contextmanager
def exclusive(out: Path) -> Iterator[None]:
    """Hold `out/.lock` for the campaign: two drivers on one store would interleave seeds."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CampaignBusyError(f"another campaign is running in {out}") from None
        yield  # the lock goes with the file descriptor, also when the process is killed


def versions() -> dict[str, str]:
    return {"torchfuzz": __version__, "torch": torch.__version__}


@dataclass(frozen=True)
class CampaignConfig:
    """What a campaign runs: `seeds` (a range) or `time_limit` seconds of fresh seeds."""

    out: Path
    variants: tuple[Variant, ...]
    options: GeneratorOptions = GeneratorOptions()
    seeds: range | None = None
    time_limit: float | None = None
    workers: int = os.cpu_count() or 1
    timeout: float = 300.0
    known_issues: KnownIssues | None = None
    minimize: bool = True
    recycle_after: int = 200

    def __post_init__(self) -> None:
        if (self.seeds is None) == (self.time_limit is None):
            raise ValueError("a campaign needs seeds or a time limit, not both")
        if self.workers < 1:
            raise ValueError("a campaign needs at least one worker")


@dataclass(frozen=True)
class CaseResult:
    """The verdict on one seed, as the driver records it."""

    seed: int
    graph: Graph
    outcome_kind: str  # an OutcomeKind value, "killed" or "timeout"
    variant: str | None
    signature: Signature | None
    seconds: float
    outcome: Outcome | None


@dataclass
class Progress:
    """Live counts for progress display."""

    checked: int = 0
    skipped_done: int = 0
    outcomes: Counter = field(default_factory=Counter)
    unique: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.checked / elapsed if elapsed > 0 else 0.0


def _signature_of(result: RunResult, variant: str) -> tuple[str, Signature | None]:
    if result.outcome is not None:
        return result.outcome.kind.value, failure_signature(result.outcome)
    if result.timed_out:
        return "timeout", timeout_signature(variant)
    return "killed", killed_signature(variant, result.killed_by or abs(result.exit_code or 1))


def check_seed(
    runner: IsolatedRunner, seed: int, graph: Graph, config: CampaignConfig
) -> CaseResult:
    """Check one generated program in the runner's worker process."""
    case = Case(graph, seed, config.options.to_dict(), versions())
    start = time.monotonic()
    result = runner.run(case, config.variants, config.timeout)
    if result.process_failure:
        # Attribute a dead or hung worker: run each variant alone in a fresh worker (the
        # previous case may also have corrupted the heap this case died on).
        for variant in config.variants:
            alone = runner.run(case, [variant], config.timeout)
            if alone.process_failure:
                kind, signature = _signature_of(alone, variant.name)
                return CaseResult(
                    seed, graph, kind, variant.name, signature, time.monotonic() - start, None
                )
        log.warning("seed %d: worker failure did not reproduce; recording the clean run", seed)
        result = runner.run(case, config.variants, config.timeout)
        if result.process_failure:
            kind, signature = _signature_of(result, "+".join(v.name for v in config.variants))
            return CaseResult(seed, graph, kind, None, signature, time.monotonic() - start, None)
    outcome = result.outcome
    signature = failure_signature(outcome)
    variant = signature.variant if signature else None
    return CaseResult(
        seed, graph, outcome.kind.value, variant, signature, time.monotonic() - start, outcome
    )


def _seed_stream(config: CampaignConfig, done: set[int]) -> Iterator[int]:
    seeds = config.seeds if config.seeds is not None else itertools.count()
    return (s for s in seeds if s not in done)


def finding_files(result: CaseResult, config: CampaignConfig) -> dict[str, str]:
    """Artifacts of a finding's first example: case, full script, graph, outcome."""
    case = Case(result.graph, result.seed, config.options.to_dict(), versions())
    header = result.signature.text() if result.signature else ""
    variants = [v for v in config.variants if v.name == result.variant] or list(config.variants)
    return {
        "case.json": case.to_json(),
        "repro.py": to_python(result.graph, result.seed, variants, header=header),
        "graph.dot": to_dot(result.graph),
    }


class Campaign:
    """Runs a campaign and keeps its store; `run()` returns the store's summary."""

    def __init__(
        self, config: CampaignConfig, progress: Callable[[Progress], None] | None = None
    ) -> None:
        self.config = config
        self.progress_callback = progress
        self.progress = Progress()
        self._local = threading.local()
        self._runners: list[IsolatedRunner] = []
        self._lock = threading.Lock()
        self._new: list[CaseResult] = []

    def _runner(self) -> IsolatedRunner:
        runner = getattr(self._local, "runner", None)
        if runner is None:
            runner = IsolatedRunner(recycle_after=self.config.recycle_after)
            self._local.runner = runner
            with self._lock:
                self._runners.append(runner)
        return runner

    def _work(self, seed: int, graph: Graph) -> CaseResult:
        return check_seed(self._runner(), seed, graph, self.config)

    def _record(self, store: FindingsStore, result: CaseResult) -> None:
        known = None
        if result.signature is not None and self.config.known_issues is not None:
            issue = self.config.known_issues.match(result.signature)
            known = issue.link if issue else None
        record = store.record(
            result.seed,
            self.config.options.to_dict(),
            result.outcome_kind,
            result.variant,
            result.signature,
            result.seconds,
            known,
        )
        self.progress.checked += 1
        self.progress.outcomes[result.outcome_kind] += 1
        if record.is_new and result.signature is not None:
            directory = self.config.out / "findings" / result.signature.id
            write_files_atomically(directory, finding_files(result, self.config))
            store.set_example_dir(result.signature.id, directory)
            self.progress.unique += 1
            if known is None:
                self._new.append(result)
        if self.progress_callback is not None:
            self.progress_callback(self.progress)

    def run(self) -> StoreSummary:
        config = self.config
        deadline = None if config.time_limit is None else time.monotonic() + config.time_limit
        with exclusive(config.out), FindingsStore.open(config.out) as store:
            store.set_meta("variants", [v.to_dict() for v in config.variants])
            store.set_meta("options", config.options.to_dict())
            done = store.done_seeds()
            self.progress.skipped_done = len(done)
            seeds = _seed_stream(config, done)
            pool = concurrent.futures.ThreadPoolExecutor(config.workers, "torchfuzz-worker")
            in_flight: set[concurrent.futures.Future] = set()
            try:
                while True:
                    while len(in_flight) < 2 * config.workers and (
                        deadline is None or time.monotonic() < deadline
                    ):
                        seed = next(seeds, None)
                        if seed is None:
                            break
                        # Generation stays on this thread: FakeTensor modes are not
                        # shared across threads; workers only wait on their processes.
                        graph = generate(seed, config.options)
                        in_flight.add(pool.submit(self._work, seed, graph))
                    if not in_flight:
                        break
                    finished, in_flight = concurrent.futures.wait(
                        in_flight, return_when=concurrent.futures.FIRST_COMPLETED
                    )
                    for future in finished:
                        self._record(store, future.result())
                if config.minimize:
                    self._minimize_new(store)
            finally:
                for future in in_flight:
                    future.cancel()
                with self._lock:
                    for runner in self._runners:
                        runner.close()  # kills workers still running a case (Ctrl-C)
                pool.shutdown(wait=True, cancel_futures=True)
            return store.summary()

    def _minimize_new(self, store: FindingsStore) -> None:
        """Minimize each new finding once, in its own worker process."""
        with IsolatedRunner() as runner:
            for result in self._new:
                variant = next((v for v in self.config.variants if v.name == result.variant), None)
                if variant is None:
                    continue
                try:
                    reduced = minimize_case(
                        result.graph, result.seed, variant, runner, self.config.timeout
                    )
                except NothingToMinimize:
                    log.warning("seed %d no longer fails alone; not minimized", result.seed)
                    continue
                self._write_minimized(store, result, variant, reduced)

    def _write_minimized(
        self, store: FindingsStore, result: CaseResult, variant: Variant, reduced: MinimizeResult
    ) -> None:
        directory = self.config.out / "findings" / result.signature.id / "minimized"
        original = Case(result.graph, result.seed, self.config.options.to_dict(), versions())
        write_minimized(directory, original, reduced, variant)
        store.set_minimized(
            result.signature.id, reduced.original_nodes, len(reduced.graph), directory / "repro.py"
        )


def run_campaign(
    config: CampaignConfig, progress: Callable[[Progress], None] | None = None
) -> StoreSummary:
    """Run a campaign to the end of its seeds or time (or Ctrl-C) and summarize the store."""
    return Campaign(config, progress).run()


def write_minimized(
    out_dir: Path, original: Case, result: MinimizeResult, variant: Variant
) -> list[Path]:
    """Write the minimized case, a standalone repro.py, the DOT graph and the signature into
    `out_dir` (atomically); return their paths."""
    case = Case(result.graph, original.seed, original.options, versions())
    files = {
        "case.json": case.to_json(),
        "repro.py": to_repro(result.graph, original.seed, variant, result.signature),
        "graph.dot": to_dot(result.graph),
        "signature.json": json.dumps(result.signature.to_dict(), indent=1) + "\n",
    }
    write_files_atomically(out_dir, files)
    return [out_dir / name for name in files]

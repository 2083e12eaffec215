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
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from torchfuzz.backends.outcome import CaseKind
from torchfuzz.backends.python import to_python
from torchfuzz.backends.signature import Signature
from torchfuzz.backends.variants import Variant
from torchfuzz.backends.worker import IsolatedRunner
from torchfuzz.campaign.artifacts import write_minimized
from torchfuzz.campaign.executors import Executor, Verdict, make_executor
from torchfuzz.campaign.progress import Progress
from torchfuzz.findings.atomic import write_files_atomically
from torchfuzz.findings.known_issues import KnownIssues
from torchfuzz.findings.layout import CampaignDir, FindingDir
from torchfuzz.findings.report import StoreSummary
from torchfuzz.findings.store import FindingsStore
from torchfuzz.generator.case import generate_case
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.dot import to_dot
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.serialize import Case
from torchfuzz.shrink.minimize import MinimizeResult, NothingToMinimize, minimize_case

log = logging.getLogger(__name__)

_TICK = 1.0  # seconds between progress callbacks while cases are in flight


@dataclass(frozen=True)
class CampaignConfig:
    """What a campaign runs: `seeds` (a range) or `time_limit` seconds of fresh seeds."""

    out: Path
    variants: tuple[Variant, ...]
    options: GeneratorOptions = GeneratorOptions()
    seeds: range | None = None
    time_limit: float | None = None
    workers: int | None = None  # None: one per core (local) or per cluster CPU (ray)
    timeout: float = 300.0
    known_issues: KnownIssues | None = None
    minimize: bool = True
    recycle_after: int = 200
    executor: str = "local"
    address: str | None = None  # of a Ray cluster, with executor="ray"

    def __post_init__(self) -> None:
        if (self.seeds is None) == (self.time_limit is None):
            raise ValueError("a campaign needs seeds or a time limit, not both")
        if self.workers is not None and self.workers < 1:
            raise ValueError("a campaign needs at least one worker")


@dataclass(frozen=True)
class CaseResult:
    """The verdict on one case, as the driver records it."""

    case: Case
    verdict: Verdict

    @property
    def seed(self) -> int:
        return self.case.seed

    @property
    def graph(self) -> Graph:
        return self.case.graph

    @property
    def outcome_kind(self) -> CaseKind:
        return self.verdict.outcome_kind

    @property
    def variant(self) -> str | None:
        return self.verdict.variant

    @property
    def signature(self) -> Signature | None:
        return self.verdict.signature


def _seed_stream(config: CampaignConfig, done: set[int]) -> Iterator[int]:
    seeds = config.seeds if config.seeds is not None else itertools.count()
    return (s for s in seeds if s not in done)


def finding_files(result: CaseResult, config: CampaignConfig) -> dict[str, str]:
    """Artifacts of a finding's first example: case, full script, graph, outcome."""
    header = result.signature.text() if result.signature else ""
    variants = [v for v in config.variants if v.name == result.variant] or list(config.variants)
    return {
        FindingDir.CASE: result.case.to_json(),
        FindingDir.REPRO: to_python(result.graph, result.seed, variants, header=header),
        FindingDir.DOT: to_dot(result.graph),
    }


class Campaign:
    """Runs a campaign and keeps its store; `run()` returns the store's summary."""

    def __init__(
        self, config: CampaignConfig, progress: Callable[[Progress], None] | None = None
    ) -> None:
        self.config = config
        self.progress_callback = progress
        self.progress = Progress(time_limit=config.time_limit)
        self._new: list[CaseResult] = []

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
            result.verdict.seconds,
            known,
        )
        self.progress.checked += 1
        self.progress.outcomes[result.outcome_kind.value] += 1
        if record.is_new and result.signature is not None:
            directory = CampaignDir(self.config.out).finding(result.signature.id).path
            write_files_atomically(directory, finding_files(result, self.config))
            store.set_example_dir(result.signature.id, directory)
            self.progress.unique += 1
            if known is None:
                self._new.append(result)

    def run(self) -> StoreSummary:
        config = self.config
        with CampaignDir(config.out).exclusive(), FindingsStore.open(config.out) as store:
            store.set_meta("variants", [v.to_dict() for v in config.variants])
            store.set_meta("options", config.options.to_dict())
            done = store.done_seeds()
            self.progress.skipped_done = len(done)
            if config.seeds is not None:
                self.progress.total = sum(1 for s in config.seeds if s not in done)
            executor = make_executor(
                config.executor,
                config.variants,
                config.timeout,
                config.workers,
                config.recycle_after,
                config.address,
            )
            try:
                self._check_seeds(store, executor, _seed_stream(config, done))
            finally:
                executor.close()  # kills workers still running a case (Ctrl-C)
            if self.progress_callback is not None:
                self.progress_callback(self.progress)
            if config.minimize:
                self._minimize_new(store)
            return store.summary()

    def _check_seeds(self, store: FindingsStore, executor: Executor, seeds: Iterator[int]) -> None:
        """Keep about two cases per worker in flight and record each verdict as it comes."""
        config = self.config
        deadline = None if config.time_limit is None else time.monotonic() + config.time_limit
        in_flight: dict[concurrent.futures.Future[Verdict], Case] = {}
        while True:
            while len(in_flight) < 2 * executor.workers and (
                deadline is None or time.monotonic() < deadline
            ):
                seed = next(seeds, None)
                if seed is None:
                    break
                # Generation stays on this thread: FakeTensor modes are not shared across
                # threads, and workers only need the case.
                case = generate_case(seed, config.options)
                in_flight[executor.submit(case)] = case
            self.progress.in_flight = len(in_flight)
            if not in_flight:
                break
            finished, _ = concurrent.futures.wait(
                in_flight, timeout=_TICK, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for future in finished:
                self._record(store, CaseResult(in_flight.pop(future), future.result()))
            self.progress.in_flight = len(in_flight)
            if self.progress_callback is not None:
                self.progress_callback(self.progress)

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
        directory = CampaignDir(self.config.out).finding(result.signature.id).minimized
        write_minimized(directory.path, result.case, reduced, variant)
        store.set_minimized(
            result.signature.id, reduced.original_nodes, len(reduced.graph), directory.repro
        )


def run_campaign(
    config: CampaignConfig, progress: Callable[[Progress], None] | None = None
) -> StoreSummary:
    """Run a campaign to the end of its seeds or time (or Ctrl-C) and summarize the store."""
    return Campaign(config, progress).run()

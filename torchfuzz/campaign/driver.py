"""Fuzzing campaigns: many seeds, long-lived crash-isolated workers, one findings store.

Programs are generated on the driver thread; worker threads each own an `IsolatedRunner`
(a worker process that keeps torch imported and compile caches warm, replaced when a case
kills it, hangs past the timeout, or after `recycle_after` cases). Only the driver thread
writes: every checked seed becomes one row of `DIR/findings.db` in one transaction, and the
first occurrence of a root cause also gets an example directory `DIR/findings/<id>/`
written atomically. A failing case whose cheap signature is ambiguous stays *pending* until
triage (:mod:`torchfuzz.campaign.triage`) names its root cause; new findings are minimized
on the triage workers while checking goes on. Killing the driver loses at most the cases in
flight: running again with the same directory skips recorded seeds, triages the pending
cases and minimizes the findings left unminimized.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchfuzz.backends.outcome import CaseKind, OutcomeKind
from torchfuzz.backends.python import to_python
from torchfuzz.backends.signature import Signature
from torchfuzz.backends.variants import Variant
from torchfuzz.backends.worker import RunnerKilled, WorkerError
from torchfuzz.campaign.artifacts import write_minimized
from torchfuzz.campaign.executors import Executor, Verdict, make_executor
from torchfuzz.campaign.pool import RunnerPool
from torchfuzz.campaign.progress import Progress
from torchfuzz.campaign.triage import Budget, Triaged, minimize_finding, triage
from torchfuzz.findings.atomic import write_files_atomically
from torchfuzz.findings.known_issues import KnownIssues
from torchfuzz.findings.layout import CampaignDir, FindingDir
from torchfuzz.findings.report import FindingStatus, StoreSummary
from torchfuzz.findings.store import FindingsStore
from torchfuzz.generator.case import generate_case
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.dot import to_dot
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.serialize import Case
from torchfuzz.shrink.minimize import MinimizeResult, NothingToMinimize

log = logging.getLogger(__name__)

_TICK = 1.0  # seconds between progress callbacks while cases are in flight
TRIAGE, MINIMIZE = "triage", "minimize"  # the kinds of job of the triage workers


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
    budget: Budget = Budget()  # of each triage minimization and each finding's
    triage_workers: int | None = None  # None: half the workers (at least one)
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
    def variants(self) -> tuple[str, ...]:
        return self.verdict.variants

    @property
    def signature(self) -> Signature | None:
        return self.verdict.signature


def _seed_stream(config: CampaignConfig, done: set[int]) -> Iterator[int]:
    seeds = config.seeds if config.seeds is not None else itertools.count()
    return (s for s in seeds if s not in done)


def finding_files(
    case: Case, signature: Signature, variant: str, config: CampaignConfig
) -> dict[str, str]:
    """Artifacts of a finding's first example: case, full script, graph."""
    variants = [v for v in config.variants if v.name == variant] or list(config.variants)
    return {
        FindingDir.CASE: case.to_json(),
        FindingDir.REPRO: to_python(case.graph, case.seed, variants, header=signature.text()),
        FindingDir.DOT: to_dot(case.graph),
    }


class Campaign:
    """Runs a campaign and keeps its store; `run()` returns the store's summary.

    Checking and triage run at the same time: failing cases whose cheap signature is
    ambiguous (mismatch, killed, timeout) are recorded as pending and triaged
    (:mod:`torchfuzz.campaign.triage`) on ``triage_workers`` worker processes of their own;
    while triage is busy, fewer cases are checked, so the machine stays at ``workers``
    busy processes.  New findings are minimized the same way.
    """

    def __init__(
        self, config: CampaignConfig, progress: Callable[[Progress], None] | None = None
    ) -> None:
        self.config = config
        self.progress_callback = progress
        self.progress = Progress(time_limit=config.time_limit)
        self._variants = {v.name: v for v in config.variants}
        self._jobs: dict[concurrent.futures.Future, tuple[str, Case, Any]] = {}
        self._stopping = False

    # --- recording (driver thread only) ---------------------------------------------------

    def _known(self, signature: Signature, variants: tuple[str, ...]) -> str | None:
        if self.config.known_issues is None:
            return None
        issue = self.config.known_issues.match(signature, variants)
        return issue.link if issue else None

    def _record(self, store: FindingsStore, result: CaseResult) -> None:
        verdict = result.verdict
        self.progress.checked += 1
        self.progress.outcomes[result.outcome_kind.value] += 1
        cheap = verdict.signature
        if cheap is not None and cheap.kind is not OutcomeKind.CRASH:
            store.record(
                result.seed,
                self.config.options.to_dict(),
                result.outcome_kind,
                verdict.variants,
                None,
                verdict.seconds,
                cheap=cheap,
                pending=True,
            )
            self._submit(TRIAGE, result.case, (cheap, verdict.variants))
            return
        known = None if cheap is None else self._known(cheap, verdict.variants)
        record = store.record(
            result.seed,
            self.config.options.to_dict(),
            result.outcome_kind,
            verdict.variants,
            cheap,
            verdict.seconds,
            known,
        )
        if record.is_new and cheap is not None:
            self._new_finding(store, result.case, cheap, verdict.variants[0], known, None)

    def _new_finding(
        self,
        store: FindingsStore,
        case: Case,
        signature: Signature,
        variant: str,
        known: str | None,
        minimized: MinimizeResult | None,
    ) -> None:
        """Write a new finding's example and minimize it (or write its minimization)."""
        finding = CampaignDir(self.config.out).finding(signature.id)
        write_files_atomically(finding.path, finding_files(case, signature, variant, self.config))
        store.set_example_dir(signature.id, finding.path)
        self.progress.unique += 1
        if minimized is not None:
            self._write_minimized(store, signature, case, variant, minimized)
        elif self.config.minimize and known is None:
            self._submit(MINIMIZE, case, (signature, variant))

    def _triaged(self, store: FindingsStore, case: Case, triaged: Triaged) -> None:
        known = self._known(triaged.signature, triaged.variants)
        record = store.resolve(
            case.seed, triaged.signature, triaged.variants, known, triaged.culprit
        )
        if record.is_new:
            variant = triaged.variant.name
            self._new_finding(store, case, triaged.signature, variant, known, triaged.minimized)

    def _write_minimized(
        self,
        store: FindingsStore,
        signature: Signature,
        case: Case,
        variant: str,
        reduced: MinimizeResult,
    ) -> None:
        directory = CampaignDir(self.config.out).finding(signature.id).minimized
        write_minimized(directory.path, case, reduced, self._variants[variant], signature)
        store.set_minimized(
            signature.id, reduced.original_nodes, len(reduced.graph), directory.repro
        )
        self.progress.minimized += 1

    # --- triage and minimization jobs ---------------------------------------------------

    def _submit(self, kind: str, case: Case, detail: Any) -> None:
        """Start a triage or minimization job (none once the campaign is stopping: a pending
        case or an unminimized finding is taken up by the next run)."""
        if self._stopping:
            return
        if kind == TRIAGE:
            cheap, failing = detail
            job: tuple = (triage, case, cheap, failing, self._variants)
        else:
            signature, variant = detail
            job = (minimize_finding, case, self._variants[variant])
        budget = {"budget": self.config.budget, "campaign_timeout": self.config.timeout}
        future = self._pool.submit(*job, **budget)
        self._jobs[future] = (kind, case, detail)
        self.progress.triaging = len(self._jobs)

    def _finish(self, store: FindingsStore, future: concurrent.futures.Future) -> None:
        kind, case, detail = self._jobs.pop(future)
        self.progress.triaging = len(self._jobs)
        try:
            result = future.result()
        except NothingToMinimize:
            log.warning("seed %d no longer fails alone; not minimized", case.seed)
            return
        except (RunnerKilled, concurrent.futures.CancelledError):
            return  # stopped by Ctrl-C: a pending case stays pending for the next run
        except WorkerError as exc:  # a fuzzer bug; the case stays pending
            log.error("seed %d: %s failed: %s", case.seed, kind, exc)
            return
        if kind == TRIAGE:
            self._triaged(store, case, result)
        else:
            signature, variant = detail
            self._write_minimized(store, signature, case, variant, result)

    def _resume(self, store: FindingsStore) -> None:
        """Triage the pending cases and minimize the new findings an earlier run left."""
        for seed, failing, cheap, options in store.pending_cases():
            case = generate_case(seed, GeneratorOptions.from_dict(json.loads(options)))
            self._submit(TRIAGE, case, (cheap, failing))
        if not self.config.minimize:
            return
        campaign = CampaignDir(self.config.out)
        for row in store.summary().findings:
            path = campaign.finding(row.signature_id).case
            if row.status is not FindingStatus.NEW or row.minimized_nodes is not None:
                continue
            if path.exists() and row.variant in self._variants:
                case = Case.from_json(path.read_text())
                self._submit(MINIMIZE, case, (row.signature, row.variant))

    # --- the run ------------------------------------------------------------------------

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
            self._pool = RunnerPool(config.triage_workers or max(1, executor.workers // 2))
            try:
                self._resume(store)
                self._check_seeds(store, executor, _seed_stream(config, done))
                self._drain(store)
            except BaseException:
                self._stopping = True
                self._pool.kill()  # a minimization in flight keeps its smallest program
                self._drain(store)
                raise
            finally:
                executor.close()  # kills workers still running a case (Ctrl-C)
                self._pool.close()
            if self.progress_callback is not None:
                self.progress_callback(self.progress)
            return store.summary()

    def _check_seeds(self, store: FindingsStore, executor: Executor, seeds: Iterator[int]) -> None:
        """Keep about two cases per free worker in flight; record verdicts and triage
        results as they come."""
        config = self.config
        deadline = None if config.time_limit is None else time.monotonic() + config.time_limit
        in_flight: dict[concurrent.futures.Future[Verdict], Case] = {}
        while True:
            # Triage jobs take workers' share of the machine (at least one keeps checking).
            free = max(1, executor.workers - min(len(self._jobs), self._pool.workers))
            while len(in_flight) < 2 * free and (deadline is None or time.monotonic() < deadline):
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
                [*in_flight, *self._jobs],
                timeout=_TICK,
                return_when=concurrent.futures.FIRST_COMPLETED,
            )
            for future in finished:
                if future in in_flight:
                    self._record(store, CaseResult(in_flight.pop(future), future.result()))
                else:
                    self._finish(store, future)
            self.progress.in_flight = len(in_flight)
            self._tick()

    def _drain(self, store: FindingsStore) -> None:
        """Wait for the triage and minimization jobs (and those they start)."""
        while self._jobs:
            finished, _ = concurrent.futures.wait(
                list(self._jobs), timeout=_TICK, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for future in finished:
                self._finish(store, future)
            self._tick()

    def _tick(self) -> None:
        if self.progress_callback is not None:
            self.progress_callback(self.progress)


def run_campaign(
    config: CampaignConfig, progress: Callable[[Progress], None] | None = None
) -> StoreSummary:
    """Run a campaign to the end of its seeds or time (or Ctrl-C) and summarize the store."""
    return Campaign(config, progress).run()

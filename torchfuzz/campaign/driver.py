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

import collections
import concurrent.futures
import dataclasses
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from torchfuzz.backends.outcome import OutcomeKind
from torchfuzz.backends.signature import Signature, functional_op, no_bug, root_op
from torchfuzz.backends.worker import RunnerKilled
from torchfuzz.campaign.artifacts import write_minimized
from torchfuzz.campaign.config import CampaignConfig, CaseResult, CaseVariants, finding_files
from torchfuzz.campaign.executors import Executor, Verdict, make_executor
from torchfuzz.campaign.pool import RunnerPool
from torchfuzz.campaign.progress import Progress
from torchfuzz.campaign.triage import (
    Triaged,
    bisect_finding,
    minimize_finding,
    ops_of,
    triage,
)
from torchfuzz.findings.atomic import write_files_atomically
from torchfuzz.findings.layout import CampaignDir
from torchfuzz.findings.report import FindingStatus, StoreSummary
from torchfuzz.findings.store import FindingsStore
from torchfuzz.generator.case import generate_case
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.serialize import Case
from torchfuzz.shrink.minimize import MinimizeResult, NothingToMinimize

log = logging.getLogger(__name__)

_TICK = 1.0  # seconds between progress callbacks while cases are in flight
# The bisector re-runs a failure in process: only failures that return an outcome.
BISECTABLE = frozenset({OutcomeKind.CRASH, OutcomeKind.MISMATCH})
TRIAGE, MINIMIZE, BISECT = "triage", "minimize", "bisect"  # the triage workers' jobs


def _seed_stream(config: CampaignConfig, done: set[int]) -> Iterator[int]:
    seeds = config.seeds if config.seeds is not None else itertools.count()
    return (s for s in seeds if s not in done)


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
        self._variants = CaseVariants(config)
        self._jobs: dict[concurrent.futures.Future, tuple[str, Case, Any]] = {}
        self._queue: collections.deque[tuple[str, Case, Any]] = collections.deque()
        self._slots = 1  # jobs run at once: a share of the workers while checking, then all
        self._hints: dict[Signature, set[str]] = collections.defaultdict(set)
        self._crash_ops: dict[str, str] = {}  # crash finding -> the one op it minimized to
        self._stopping = False

    # --- recording (driver thread only) ---------------------------------------------------

    def _known(self, signature: Signature, variants: tuple[str, ...]) -> str | None:
        if self.config.known_issues is None:
            return None
        issue = self.config.known_issues.match(signature, self._variants.with_origins(variants))
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
        """Write a new finding's example and minimize it; a node-only minimization from
        triage is written at once and minimized on from there."""
        finding = CampaignDir(self.config.out).finding(signature.id)
        files = finding_files(case, signature, self._variants[variant])
        write_files_atomically(finding.path, files)
        store.set_example_dir(signature.id, finding.path)
        self.progress.unique += 1
        start = case
        if minimized is not None:
            self._write_minimized(store, signature, case, variant, minimized, bisect=False)
            start = Case(minimized.graph, case.seed, case.options, case.versions)
        if self.config.minimize and known is None and no_bug(signature) is None:
            self._submit(MINIMIZE, start, (signature, variant, case, minimized))

    def _merge_crash(self, store: FindingsStore, crash_id: str, graph: Graph) -> None:
        """A crash whose minimized program is one op that another finding names as its
        root cause is that finding seen another way: merge it in (now, or when it comes)."""
        ops = {functional_op(op) for op in ops_of(graph)}
        if len(ops) != 1:
            return
        self._crash_ops[crash_id] = op = ops.pop()
        for finding in store.summary().findings:
            if root_op(finding.signature) == op:
                self._merge(store, crash_id, finding.signature_id)
                return

    def _merge(self, store: FindingsStore, crash_id: str, target_id: str) -> None:
        log.warning("finding %s minimized to the root cause of %s: merged", crash_id, target_id)
        store.merge_into(crash_id, target_id)
        self._crash_ops.pop(crash_id, None)
        self.progress.unique -= 1

    def _triaged(self, store: FindingsStore, case: Case, triaged: Triaged) -> None:
        known = self._known(triaged.signature, triaged.variants)
        record = store.resolve(
            case.seed, triaged.signature, triaged.variants, known, triaged.culprit
        )
        if record.is_new:
            variant = triaged.variant.name
            self._new_finding(store, case, triaged.signature, variant, known, triaged.minimized)
            op = root_op(triaged.signature)
            for crash_id in [c for c, crash_op in self._crash_ops.items() if crash_op == op]:
                self._merge(store, crash_id, triaged.signature.id)

    def _write_minimized(
        self,
        store: FindingsStore,
        signature: Signature,
        case: Case,
        variant: str,
        reduced: MinimizeResult,
        bisect: bool = True,
    ) -> None:
        directory = CampaignDir(self.config.out).finding(signature.id).minimized
        write_minimized(directory.path, case, reduced, self._variants[variant], signature)
        store.set_minimized(
            signature.id,
            reduced.original_nodes,
            len(reduced.graph),
            directory.repro,
            reduced.stats.seconds,
        )
        self.progress.minimized += 1
        if bisect and self.config.bisect and signature.kind in BISECTABLE:
            small = Case(reduced.graph, case.seed, case.options, case.versions)
            self._submit(BISECT, small, (signature, variant))

    # --- triage and minimization jobs ---------------------------------------------------

    def _submit(self, kind: str, case: Case, detail: Any) -> None:
        """Queue a triage, minimization or bisection job (none once the campaign is
        stopping: a pending case or an unminimized finding is taken up by the next run)."""
        if not self._stopping:
            self._queue.append((kind, case, detail))
            self._pump()

    def _pump(self) -> None:
        """Start queued jobs while fewer than ``self._slots`` run."""
        while self._queue and len(self._jobs) < self._slots and not self._stopping:
            self._start(*self._queue.popleft())
        self.progress.triaging = len(self._jobs) + len(self._queue)

    def _start(self, kind: str, case: Case, detail: Any) -> None:
        limits: dict[str, Any] = {"campaign_timeout": self.config.timeout}
        if kind == TRIAGE:
            cheap, failing = detail
            job: tuple = (triage, case, cheap, failing, dict(self._variants))
            limits["budget"] = self.config.budget
            limits["hints"] = frozenset(self._hints[cheap])
        elif kind == MINIMIZE:
            signature, variant, _, earlier = detail
            job = (minimize_finding, case, self._variants[variant])
            limits["budget"] = self.config.budget
            if earlier is not None:  # the budget is per finding: triage spent some of it
                limits["budget"] = self.config.budget.minus(earlier.stats)
        else:
            signature, variant = detail
            job = (bisect_finding, case, self._variants[variant])
        future = self._pool.submit(*job, **limits)
        self._jobs[future] = (kind, case, detail)

    def _finish(self, store: FindingsStore, future: concurrent.futures.Future) -> None:
        kind, case, detail = self._jobs.pop(future)
        self._pump()
        try:
            result = future.result()
        except NothingToMinimize:
            log.warning("seed %d no longer fails alone; not minimized", case.seed)
            return
        except (RunnerKilled, concurrent.futures.CancelledError):
            return  # stopped by Ctrl-C: a pending case stays pending for the next run
        except Exception:  # a fuzzer bug: logged, the case stays pending, the campaign goes on
            log.exception("seed %d: %s job failed", case.seed, kind)
            return
        if kind == TRIAGE:
            if result.minimized is not None:
                self._hints[detail[0]] |= ops_of(result.minimized.graph)
            self._triaged(store, case, result)
        elif kind == MINIMIZE:
            signature, variant, original, earlier = detail
            if earlier is not None:  # minimized on from triage's node-only result
                seconds = earlier.stats.seconds + result.stats.seconds
                result = dataclasses.replace(
                    result,
                    original_nodes=earlier.original_nodes,
                    stats=dataclasses.replace(result.stats, seconds=seconds),
                )
            self._write_minimized(store, signature, original, variant, result)
            if signature.kind is OutcomeKind.CRASH:
                self._merge_crash(store, signature.id, result.graph)
        elif result is not None:
            signature, variant = detail
            store.set_bisect(signature.id, result.text())

    def _resume(self, store: FindingsStore) -> None:
        """Triage the pending cases and minimize the new findings an earlier run left."""
        for seed, failing, cheap, options in store.pending_cases():
            case = generate_case(seed, GeneratorOptions.from_dict(json.loads(options)))
            self._variants.of(seed)  # the configurations it ran, known by name
            self._submit(TRIAGE, case, (cheap, failing))
        if not self.config.minimize:
            return
        campaign = CampaignDir(self.config.out)
        for row in store.summary().findings:
            path = campaign.finding(row.signature_id).case
            if row.status is not FindingStatus.NEW or row.minimized_nodes is not None:
                continue
            if not path.exists():
                continue
            case = Case.from_json(path.read_text())
            self._variants.of(case.seed)  # the configurations it ran, known by name
            if row.variant in self._variants:
                self._submit(MINIMIZE, case, (row.signature, row.variant, case, None))

    # --- the run ------------------------------------------------------------------------

    def run(self) -> StoreSummary:
        config = self.config
        with CampaignDir(config.out).exclusive(), FindingsStore.open(config.out) as store:
            store.set_meta("variants", [v.to_dict() for v in config.variants])
            store.set_meta("options", config.options.to_dict())
            store.set_meta("config_space", config.space and config.space.to_dict())
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
            share = config.triage_workers or max(1, executor.workers // 2)
            self._pool = RunnerPool(max(share, executor.workers))
            try:
                self._slots = share
                self._resume(store)
                self._check_seeds(store, executor, _seed_stream(config, done))
                self._slots = self._pool.workers  # checking is done: every worker triages
                self._pump()
                self._drain(store)
            except BaseException as exc:
                if not isinstance(exc, KeyboardInterrupt):
                    log.exception("campaign stopping on an error; draining its jobs")
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
            free = max(1, executor.workers - len(self._jobs))
            while len(in_flight) < 2 * free and (deadline is None or time.monotonic() < deadline):
                seed = next(seeds, None)
                if seed is None:
                    break
                # Generation stays on this thread: FakeTensor modes are not shared across
                # threads, and workers only need the case.
                case = generate_case(seed, config.options)
                in_flight[executor.submit(case, self._variants.of(seed))] = case
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
            concurrent.futures.wait(
                list(self._jobs), timeout=_TICK, return_when=concurrent.futures.FIRST_COMPLETED
            )
            # done() includes futures cancelled by RunnerPool.kill, which wait() never returns
            for future in [f for f in self._jobs if f.done()]:
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

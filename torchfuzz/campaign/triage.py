"""From a failing case to its root cause: localize or minimize, then name the bug.

A crash's message and frames name the failing code, but what one run says of a wrong
value (``mismatch: value``), a killed worker (``SIGABRT``) or a hang says little: a
campaign against a backend with five miscompilations would report one finding.  So a
campaign triages such a case before it buckets it, in a worker process
(:class:`~torchfuzz.backends.worker.IsolatedRunner`) of its own:

* **mismatch**: localize the first diverging node under the first failing variant and
  ask the other failing variants whether they show it too
  (:func:`~torchfuzz.backends.localize.localize_failing`); the root cause is the
  culprit's :meth:`~torchfuzz.backends.localize.Culprit.key`.  When nothing localizes,
  minimize and localize the minimized program; failing that, name its ops.
* **killed, timeout**: minimize within the :class:`Budget` and name the ops of the
  minimized program after the signal.  A new hang must also hang within the campaign's
  timeout; a case that does not fail again is ``not reproduced`` (one finding for all such,
  shown apart and never counted as a new bug).
* a mismatch whose first diverging node computes right from its compiled operands, which
  agree with eager's within tolerance, is ``amplified within tolerance``: no node is wrong,
  a rounding or comparison turned a small difference into a large one (one finding for all
  such, shown apart, no bug; :mod:`~torchfuzz.backends.amplified`).

Every run of a candidate gets a timeout scaled to the case's own runtime (its check under
Dynamo's ``eager`` backend, measured here), not the campaign's, so a hang costs seconds per candidate, not minutes;
and a minimization stops at its budget of candidates and seconds, keeping the smallest
program so far.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from torchfuzz.backends.bisect import BisectResult
from torchfuzz.backends.localize import Localized
from torchfuzz.backends.outcome import OutcomeKind, ProcessFate
from torchfuzz.backends.signature import (
    AMPLIFIED,
    NOT_REPRODUCED,
    Signature,
    functional_op,
    root_signature,
)
from torchfuzz.backends.variants import Variant, get_variant
from torchfuzz.backends.worker import IsolatedRunner
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.ops.base import Trait
from torchfuzz.ir.serialize import Case
from torchfuzz.shrink.minimize import (
    MinimizeResult,
    MinimizeStats,
    NothingToMinimize,
    minimize_case,
    run_signature,
)

log = logging.getLogger(__name__)

__all__ = [
    "Budget",
    "Triaged",
    "bisect_finding",
    "candidate_timeout",
    "minimize_finding",
    "confirmed_fresh",
    "ops_key",
    "ops_of",
    "triage",
]


# The root cause of a killed or hung case that does not fail again when triage re-runs it.


@dataclass(frozen=True, slots=True)
class Budget:
    """What one minimization may spend: ``candidates`` runs and ``seconds`` of wall time;
    each run times out after ``factor`` times the case's own runtime, but never sooner
    than ``floor`` seconds (one compile must fit) nor later than the campaign's timeout."""

    candidates: int = 400
    seconds: float = 300.0
    factor: float = 10.0
    floor: float = 10.0

    def __post_init__(self) -> None:
        if self.candidates < 1 or self.seconds <= 0 or self.factor <= 0 or self.floor <= 0:
            raise ValueError(f"a minimization budget must be positive: {self}")

    def minus(self, spent: MinimizeStats) -> Budget:
        """What is left after a minimization that ran ``spent`` (at least one candidate
        and a second, so that what is left is still a budget)."""
        return dataclasses.replace(
            self,
            candidates=max(1, self.candidates - spent.candidates),
            seconds=max(1.0, self.seconds - spent.seconds),
        )


@dataclass(frozen=True)
class Triaged:
    """A case's root cause: its ``signature``, the ``variants`` it was seen in, the
    culprit's op pattern when localized, and the node-only minimization done on the way
    (if any), under ``variant``."""

    signature: Signature
    variants: tuple[str, ...]
    culprit: str | None
    minimized: MinimizeResult | None
    variant: Variant


def ops_of(graph: Graph) -> frozenset[str]:
    """The names of the ops a program calls (not its constants)."""
    return frozenset(node.op.name for node in graph.nodes if not node.op.has(Trait.CONSTANT))


def ops_key(graph: Graph) -> str:
    """The ops of a (minimized) program, sorted and without in-place ``_``, e.g.
    ``cumsum + flip``: the root cause of a failure nothing localizes."""
    ops = {functional_op(name) for name in ops_of(graph)}
    return " + ".join(sorted(ops)) or "no ops"


def candidate_timeout(
    runner: IsolatedRunner, case: Case, budget: Budget, campaign_timeout: float
) -> float:
    """A timeout for each run of ``case``'s minimization: ``budget.factor`` times the
    case's check under Dynamo with the ``eager`` backend (tracing and running, but no
    compiler; the floor covers one compile), within the budget's floor and the
    campaign's timeout."""
    result = runner.run(case, (get_variant("eager"),), campaign_timeout)
    own = result.seconds if result.outcome is not None else campaign_timeout
    return min(campaign_timeout, max(budget.floor, budget.factor * own))


def minimize_finding(
    case: Case,
    variant: Variant,
    runner: IsolatedRunner,
    budget: Budget,
    campaign_timeout: float,
    hints: frozenset[str] = frozenset(),
    nodes_only: bool = False,
) -> MinimizeResult:
    """Minimize ``case`` under ``variant`` within ``budget`` (trying nodes of the ``hints``
    ops alone first; only removing nodes if ``nodes_only``); NothingToMinimize when it
    does not fail there any more."""
    timeout = candidate_timeout(runner, case, budget, campaign_timeout)
    log.info("seed %d: minimizing under %s, %.1f s per run", case.seed, variant.name, timeout)
    reduced = minimize_case(
        case.graph,
        case.seed,
        variant,
        runner,
        timeout,
        max_candidates=budget.candidates,
        max_seconds=budget.seconds,
        hints=hints,
        nodes_only=nodes_only,
    )
    if nodes_only or reduced.stats.stopped == "interrupted":
        return reduced
    return confirmed_fresh(reduced, case.seed, variant, runner, timeout)


def seeded_values(graph: Graph) -> Graph:
    """``graph`` with every input's literal values replaced by values drawn from the seed
    (distinct, nonzero floats where the minimizer had put zeros)."""
    result = graph.copy()
    for inp in graph.inputs:
        if inp.data is not None:
            result.replace_input(inp.name, data=None)
    return result


def confirmed_fresh(
    reduced: MinimizeResult,
    seed: int,
    variant: Variant,
    runner: IsolatedRunner,
    timeout: float,
) -> MinimizeResult:
    """The minimized program, checked to fail in a fresh worker process too.  A kernel that
    reads memory it never wrote fails by what earlier runs of the process left there: with
    the minimizer's zeros for inputs it may fail in the worker and pass in a fresh process
    (the repro a user pastes).  Then the seeded input values come back, if that fails fresh;
    else the result is kept with ``stats.stopped`` saying it did not fail fresh."""
    runner.close()  # the next run starts a new worker
    if run_signature(reduced.graph, seed, variant, runner, timeout) == reduced.signature:
        return reduced
    seeded = seeded_values(reduced.graph)
    runner.close()
    if seeded != reduced.graph and (
        run_signature(seeded, seed, variant, runner, timeout) == reduced.signature
    ):
        log.warning("seed %d: minimized repro fails fresh with seeded values only", seed)
        return dataclasses.replace(reduced, graph=seeded)
    log.warning("seed %d: the minimized program does not fail in a fresh process", seed)
    reduced.stats.stopped = NOT_FRESH
    return reduced


# MinimizeStats.stopped of a minimized program that failed in the minimizing worker only.
NOT_FRESH = "does not fail in a fresh process"


def bisect_finding(
    case: Case, variant: Variant, runner: IsolatedRunner, campaign_timeout: float
) -> BisectResult | None:
    """What the compiler bisector names for ``case`` failing under an Inductor
    ``variant`` (:func:`~torchfuzz.backends.bisect.bisect`, in the runner's worker), or
    None (another backend, nothing found, or the worker died doing it)."""
    if variant.backend != "inductor":
        return None
    found = _ask(runner, "bisect", case, [variant], campaign_timeout * 8)
    return None if found is None else BisectResult.from_dict(found)


def _localized(
    runner: IsolatedRunner, case: Case, variants: Sequence[Variant], timeout: float
) -> Localized | None:
    """:func:`~torchfuzz.backends.localize.localize_failing` in the runner's worker."""
    found = _ask(runner, "localize", case, variants, timeout)
    return None if found is None else Localized.from_dict(found)


# The reply key of each worker request triage makes.
_ANSWER_KEYS = {"bisect": "bisect", "localize": "localized"}


def _ask(
    runner: IsolatedRunner, op: str, case: Case, variants: Sequence[Variant], timeout: float
) -> Any:
    """The answer to worker request ``op``, or None when the worker died or hung on it."""
    reply, failure = runner.request(op, case, variants, timeout)
    if failure is not None:
        log.warning("seed %d: %s failed: %s", case.seed, op, failure.summary())
        return None
    return reply[_ANSWER_KEYS[op]]


def _found(
    cheap: Signature, found: Localized, reduced: MinimizeResult | None, first: Variant
) -> Triaged:
    """The root cause of a localized mismatch: its culprit's key, or :data:`AMPLIFIED`
    when the culprit only amplified a difference within tolerance (no bug)."""
    culprit = found.culprit
    if found.amplified:
        return Triaged(
            root_signature(cheap, AMPLIFIED, ()), found.variants, culprit.pattern(), None, first
        )
    signature = root_signature(cheap, culprit.key(), found.flags)
    return Triaged(signature, found.variants, culprit.pattern(), reduced, first)


def triage(
    case: Case,
    cheap: Signature,
    failing: Sequence[str],
    variants: Mapping[str, Variant],
    runner: IsolatedRunner,
    budget: Budget,
    campaign_timeout: float,
    hints: frozenset[str] = frozenset(),
) -> Triaged:
    """The root cause of ``case``, which failed with the ``cheap`` signature in the
    ``failing`` variants (names of ``variants``); see the module docstring.  ``hints``
    are the ops earlier cases of this cheap signature minimized to."""
    chosen = [variants[name] for name in failing if name in variants]
    if not chosen:
        raise ValueError(f"seed {case.seed}: none of the failing variants {failing} is known")
    first = chosen[0]
    if cheap.kind is OutcomeKind.CRASH:
        return Triaged(cheap, tuple(failing), None, None, first)
    if cheap.kind is OutcomeKind.MISMATCH:
        found = _localized(runner, case, chosen, campaign_timeout * max(4, len(case.graph)))
        if found is not None:
            return _found(cheap, found, None, first)
    try:
        # Which ops the failure needs is all bucketing asks: the sizes and values of a new
        # finding's repro are minimized later, from this small program.
        reduced = minimize_finding(
            case, first, runner, budget, campaign_timeout, hints, nodes_only=True
        )
    except NothingToMinimize:
        log.warning("seed %d: %s no longer fails under %s", case.seed, cheap.text(), first.name)
        return Triaged(root_signature(cheap, NOT_REPRODUCED), (first.name,), None, None, first)
    if cheap.kind is ProcessFate.TIMEOUT and not ops_of(reduced.graph) <= hints:
        # A new hang found with short run timeouts must hang in the campaign's time too (a
        # loaded machine makes slow runs, not hangs).
        if run_signature(reduced.graph, case.seed, first, runner, campaign_timeout) != cheap:
            log.warning("seed %d: its minimized hang ends within %g s", case.seed, campaign_timeout)
            return Triaged(root_signature(cheap, NOT_REPRODUCED), (first.name,), None, None, first)
    if cheap.kind is OutcomeKind.MISMATCH:
        small = Case(reduced.graph, case.seed, case.options, case.versions)
        found = _localized(runner, small, [first], campaign_timeout * max(4, len(small.graph)))
        if found is not None:
            return _found(cheap, found, reduced, first)
    signature = root_signature(reduced.signature, ops_key(reduced.graph))
    return Triaged(signature, (first.name,), None, reduced, first)

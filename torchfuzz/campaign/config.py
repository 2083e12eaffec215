"""What a campaign runs (:class:`CampaignConfig`), the verdict on one of its cases as the
driver records it (:class:`CaseResult`), and the files of a finding's first example."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from torchfuzz.backends.outcome import CaseKind
from torchfuzz.backends.python import to_python
from torchfuzz.backends.signature import Signature
from torchfuzz.backends.variants import Variant
from torchfuzz.campaign.executors import Verdict
from torchfuzz.campaign.triage import Budget
from torchfuzz.findings.known_issues import KnownIssues
from torchfuzz.findings.layout import FindingDir
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.dot import to_dot
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.serialize import Case

__all__ = ["CampaignConfig", "CaseResult", "finding_files"]


@dataclass(frozen=True)
class CampaignConfig:
    """What a campaign runs: `seeds` (a range, or any sequence of seeds) or `time_limit`
    seconds of fresh seeds."""

    out: Path
    variants: tuple[Variant, ...]
    options: GeneratorOptions = GeneratorOptions()
    seeds: Sequence[int] | None = None
    time_limit: float | None = None
    workers: int | None = None  # None: one per core (local) or per cluster CPU (ray)
    timeout: float = 300.0
    known_issues: KnownIssues | None = None
    minimize: bool = True
    budget: Budget = Budget()  # of each triage minimization and each finding's
    bisect: bool = True  # bisect minimized Inductor crashes and mismatches
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

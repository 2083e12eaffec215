"""What a campaign runs (:class:`CampaignConfig`), the variants each of its cases runs
(:class:`CaseVariants`), the verdict on one of its cases as the driver records it
(:class:`CaseResult`), and the files of a finding's first example."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from torchfuzz.backends.config_space import ConfigSpace, sample_variants
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

__all__ = ["CampaignConfig", "CaseResult", "CaseVariants", "finding_files"]


@dataclass(frozen=True)
class CampaignConfig:
    """What a campaign runs: `seeds` (a range, or any sequence of seeds) or `time_limit`
    seconds of fresh seeds; with a `space`, each case runs configurations of `variants`
    sampled from it (:mod:`torchfuzz.backends.config_space`)."""

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
    space: ConfigSpace | None = None

    def __post_init__(self) -> None:
        if (self.seeds is None) == (self.time_limit is None):
            raise ValueError("a campaign needs seeds or a time limit, not both")
        if self.workers is not None and self.workers < 1:
            raise ValueError("a campaign needs at least one worker")


class CaseVariants(Mapping[str, Variant]):
    """The variants a campaign's cases run, by name: the campaign's own and each
    configuration sampled for a case so far (a name always means one configuration)."""

    def __init__(self, config: CampaignConfig) -> None:
        self._config = config
        self._by_name = {v.name: v for v in config.variants}
        self._drawn_from = {v.name: v.name for v in config.variants}

    def of(self, seed: int) -> tuple[Variant, ...]:
        """The variants case `seed` runs, each remembered by its name."""
        variants = sample_variants(self._config.variants, self._config.space, seed)
        for own, variant in zip(self._config.variants, variants):
            self._by_name.setdefault(variant.name, variant)
            self._drawn_from.setdefault(variant.name, own.name)
        return variants

    def with_origins(self, names: Sequence[str]) -> tuple[str, ...]:
        """`names` followed by the campaign variants they were sampled from (a known issue
        of `inductor` is one of its sampled configurations too)."""
        return tuple(dict.fromkeys([*names, *(self._drawn_from.get(n, n) for n in names)]))

    def __getitem__(self, name: str) -> Variant:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)


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


def finding_files(case: Case, signature: Signature, variant: Variant) -> dict[str, str]:
    """Artifacts of a finding's first example: case, full script (under the `variant` it
    failed in, as that case ran it), graph."""
    return {
        FindingDir.CASE: case.to_json(),
        FindingDir.REPRO: to_python(case.graph, case.seed, [variant], header=signature.text()),
        FindingDir.DOT: to_dot(case.graph),
    }

"""Replaying a campaign's findings on the installed torch: which still fail, which are fixed."""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from torchfuzz.backends.config_space import ConfigSpace, sample_variants
from torchfuzz.backends.variants import Variant
from torchfuzz.backends.worker import IsolatedRunner
from torchfuzz.findings.layout import CampaignDir
from torchfuzz.findings.report import FindingRow, FindingStatus
from torchfuzz.findings.store import FindingsStore
from torchfuzz.ir.serialize import Case
from torchfuzz.shrink.minimize import run_signature

log = logging.getLogger(__name__)


class ReplayVerdict(str, enum.Enum):
    STILL_FAILS = "still fails"  # the same signature again
    FIXED = "fixed"  # passes, or fails differently: marked fixed in the store
    UNREPLAYABLE = "cannot replay"  # no example case on disk, or its variant is unknown


@dataclass(frozen=True, slots=True)
class Replayed:
    finding: FindingRow
    verdict: ReplayVerdict


def replay_findings(directory: Path, timeout: float | None = None) -> Iterator[Replayed]:
    """Re-run the example case of every unique finding of the campaign in `directory` under the
    campaign's variant, each in a worker process; mark the ones that no longer fail with the
    same signature as fixed. Yields each verdict as it is known (a replay may take minutes).
    A campaign that sampled configurations replays the one its example case ran (the case's
    seed and the stored space give it again)."""
    campaign = CampaignDir(directory)
    with FindingsStore.open(directory) as store, IsolatedRunner() as runner:
        variants = [Variant.from_dict(v) for v in store.get_meta("variants", [])]
        space = store.get_meta("config_space")
        space = None if space is None else ConfigSpace.from_dict(space)
        for row in store.summary().findings:
            verdict = _replay(campaign, row, variants, space, runner, timeout)
            if verdict is ReplayVerdict.FIXED:
                store.set_status(row.signature_id, FindingStatus.FIXED)
            yield Replayed(row, verdict)


def _replay(
    campaign: CampaignDir,
    row: FindingRow,
    variants: list[Variant],
    space: ConfigSpace | None,
    runner: IsolatedRunner,
    timeout: float | None,
) -> ReplayVerdict:
    case_path = campaign.finding(row.signature_id).case
    case = Case.from_json(case_path.read_text()) if case_path.exists() else None
    ran = {} if case is None else {v.name: v for v in sample_variants(variants, space, case.seed)}
    # The finding's first variant that the example case ran (after a merge the example may
    # come from another shard than the first variant).
    variant = next((ran[name] for name in row.variants if name in ran), None)
    if case is None or variant is None:
        log.info(
            "%s: no case at %s or unknown variant %s", row.signature_id, case_path, row.variant
        )
        return ReplayVerdict.UNREPLAYABLE
    now = run_signature(case.graph, case.seed, variant, runner, timeout)
    if now is not None and now == row.cheap:
        return ReplayVerdict.STILL_FAILS
    return ReplayVerdict.FIXED

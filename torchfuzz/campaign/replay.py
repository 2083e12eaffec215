"""Replaying a campaign's findings on the installed torch: which still fail, which are fixed."""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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
    same signature as fixed. Yields each verdict as it is known (a replay may take minutes)."""
    campaign = CampaignDir(directory)
    with FindingsStore.open(directory) as store, IsolatedRunner() as runner:
        variants = {v["name"]: Variant.from_dict(v) for v in store.get_meta("variants", [])}
        for row in store.summary().findings:
            verdict = _replay(campaign, row, variants.get(row.variant), runner, timeout)
            if verdict is ReplayVerdict.FIXED:
                store.set_status(row.signature_id, FindingStatus.FIXED)
            yield Replayed(row, verdict)


def _replay(
    campaign: CampaignDir,
    row: FindingRow,
    variant: Variant | None,
    runner: IsolatedRunner,
    timeout: float | None,
) -> ReplayVerdict:
    case_path = campaign.finding(row.signature_id).case
    if variant is None or not case_path.exists():
        log.info(
            "%s: no case at %s or unknown variant %s", row.signature_id, case_path, row.variant
        )
        return ReplayVerdict.UNREPLAYABLE
    case = Case.from_json(case_path.read_text())
    now = run_signature(case.graph, case.seed, variant, runner, timeout)
    if now is not None and now == row.cheap:
        return ReplayVerdict.STILL_FAILS
    return ReplayVerdict.FIXED

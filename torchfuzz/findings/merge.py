"""Merging the stores of a sharded campaign into one store to triage.

Each shard (``torchfuzz fuzz --seeds A:B --out SHARD``) is a directory with ``findings.db``
and ``findings/<signature-id>/`` example directories.  :func:`merge_stores` adds shards to a
destination store, which may be new or hold earlier merges; merging a shard again adds
nothing.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchfuzz.findings.atomic import copy_tree_durably, replace_directory_atomically
from torchfuzz.findings.layout import CampaignDir, FindingDir
from torchfuzz.findings.report import FindingRow, FindingStatus, StoreSummary
from torchfuzz.findings.store import CaseRow, FindingsStore

log = logging.getLogger(__name__)

__all__ = ["CONFIG_KEYS", "MergeError", "MergeReport", "SourceMerge", "merge_stores"]

# Campaign settings (meta keys) that must agree: counts under other settings don't compare.
CONFIG_KEYS = ("variants", "options", "config_space")


class MergeError(ValueError):
    """Stores that cannot be merged (missing, the destination itself, other settings)."""


@dataclass(frozen=True, slots=True)
class SourceMerge:
    """What merging one source added to the destination.

    ``duplicates`` counts the source's seeds that the destination already had (kept as
    they were); ``new_signatures`` the signatures the destination did not have before.
    """

    source: Path
    cases_added: int
    duplicates: int
    new_signatures: int


@dataclass(frozen=True, slots=True)
class MergeReport:
    """The per-source results, in merge order, and the summary of the merged store."""

    dest: Path
    sources: tuple[SourceMerge, ...]
    summary: StoreSummary


def merge_stores(dest: Path, sources: Sequence[Path]) -> MergeReport:
    """Merge the campaign directories ``sources`` into ``dest`` (created if missing).

    Semantics:

    * cases: the union by seed.  A seed already in ``dest`` or in an earlier source keeps
      its first row; the later one is counted as a duplicate (and logged), so merging a
      shard twice changes nothing.
    * signatures: one row per id.  ``count`` is recomputed from the merged cases (never
      summed, so duplicates don't count twice), ``first_seed`` is the smallest first seed
      of the stores holding it.  The example directory comes from the store with that
      smallest first seed (among those with one on disk; ties keep ``dest``'s), the
      minimized result (sizes and ``minimized/``) from the store with the fewest minimized
      nodes; both are copied into ``dest/findings/<id>/`` in one atomic swap and the stored
      paths point there (absolute).  Signatures only carried by duplicate seeds are skipped.
    * status: ``known`` if any store says known, else ``new`` if any says new, else
      ``fixed`` (fixed everywhere).  A shard that still sees a finding new wins over one
      that replayed it as fixed; ``torchfuzz replay DEST`` re-checks them.  The known link
      is the first one found (``dest``'s, then the sources' in order).
    * settings: every store must have the same campaign ``variants``, ``options`` and
      ``config_space`` (:data:`CONFIG_KEYS`), else :class:`MergeError` before anything is
      written; ``dest`` takes the sources' settings.

    Each source is merged in one transaction, so a merge killed midway leaves ``dest``
    with each source fully merged or not at all (run it again to finish).  Example
    directories are written before that transaction: each is complete, and a repeated
    merge rewrites it.  ``dest``'s campaign lock is held throughout
    (:class:`~torchfuzz.campaign.driver.CampaignBusyError` if a campaign runs there).  A source
    may still be running: it is read in one snapshot; merge it again later for the rest.
    """
    dest, sources = Path(dest), [Path(source) for source in sources]
    _check_paths(dest, sources)
    config = _sources_config(sources)
    with CampaignDir(dest).exclusive(), FindingsStore.open(dest) as store:
        existing = _config(store)
        if any(value is not None for value in existing.values()):  # not a fresh store
            _check_config(config, sources[0], existing, dest)
        results = tuple(_merge_source(store, source, config) for source in sources)
        return MergeReport(dest, results, store.summary())


def _check_paths(dest: Path, sources: Sequence[Path]) -> None:
    if not sources:
        raise MergeError("nothing to merge: give at least one source store")
    if dest.exists() and not dest.is_dir():
        raise MergeError(f"{dest} is not a directory")
    for source in sources:
        if not CampaignDir(source).holds_campaign():
            raise MergeError(f"{source} holds no campaign (no {CampaignDir.DB})")
        if source.resolve() == dest.resolve():
            raise MergeError(f"{source} is the destination; merge into another directory")


def _config(store: FindingsStore) -> dict[str, Any]:
    return {key: store.get_meta(key) for key in CONFIG_KEYS}


def _difference(ours: Any, theirs: Any) -> str:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        keys = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
        return ", ".join(f"{k} {ours.get(k)!r} vs {theirs.get(k)!r}" for k in keys)
    text = f"{ours!r} vs {theirs!r}"
    return text if len(text) <= 300 else text[:297] + "..."


def _check_config(
    config: dict[str, Any], where: Path, reference: dict[str, Any], reference_where: Path
) -> None:
    for key in CONFIG_KEYS:
        if config[key] != reference[key]:
            raise MergeError(
                f"{where} ran with other {key} than {reference_where} "
                f"({_difference(config[key], reference[key])}); counts under different "
                "settings are not comparable, merge them into separate stores"
            )


def _sources_config(sources: Sequence[Path]) -> dict[str, Any]:
    """The settings all sources share (read before anything is written)."""
    configs = []
    for source in sources:
        with FindingsStore.open(source) as opened:
            configs.append(_config(opened))
    for source, config in zip(sources[1:], configs[1:]):
        _check_config(config, source, configs[0], sources[0])
    return configs[0]


def _merge_source(store: FindingsStore, source: Path, config: dict[str, Any]) -> SourceMerge:
    with FindingsStore.open(source) as opened:
        cases, findings, pending = opened.export_rows()
    done = store.done_seeds()
    added: list[CaseRow] = [case for case in cases if case.seed not in done]
    duplicates = len(cases) - len(added)
    if duplicates:
        seen = sorted(case.seed for case in cases if case.seed in done)
        log.warning(
            "%s: %d seeds already merged, kept their first rows (seeds %s%s)",
            source,
            duplicates,
            ", ".join(map(str, seen[:5])),
            ", ..." if len(seen) > 5 else "",
        )
    added_by_signature = Counter(case.signature_id for case in added if case.signature_id)
    rows: list[FindingRow] = []
    new_signatures = 0
    for incoming in findings:
        current = store.finding(incoming.signature_id)
        if current is None and not added_by_signature[incoming.signature_id]:
            continue  # only duplicate seeds carried it here
        holders = [(store.directory, current)] if current is not None else []
        holders.append((source, incoming))
        rows.append(_merged_finding(store.directory, holders))
        new_signatures += current is None
    meta = {key: value for key, value in config.items() if value is not None}
    seeds = {case.seed for case in added}
    store.import_rows(added, rows, meta, [row for row in pending if row.seed in seeds])
    log.info("%s: %d cases added, %d duplicates", source, len(added), duplicates)
    return SourceMerge(source, len(added), duplicates, new_signatures)


def _finding_dir(directory: Path, signature_id: str) -> Path:
    return CampaignDir(directory).finding(signature_id).path


def _merged_status(rows: Sequence[FindingRow]) -> FindingStatus:
    statuses = {row.status for row in rows}
    for status in (FindingStatus.KNOWN, FindingStatus.NEW):
        if status in statuses:
            return status
    return FindingStatus.FIXED


def _merged_finding(dest: Path, holders: Sequence[tuple[Path, FindingRow]]) -> FindingRow:
    """The row for one signature held by ``holders`` (``dest``'s row first, if any);
    writes ``dest/findings/<id>/`` when another store's example or minimized is better."""
    rows = [row for _, row in holders]
    sig_id = rows[0].signature_id
    with_example = [
        (row.first_seed, i)
        for i, (d, row) in enumerate(holders)
        if _finding_dir(d, sig_id).is_dir()
    ]
    with_minimized = [
        (row.minimized_nodes, i)
        for i, (d, row) in enumerate(holders)
        if row.minimized_nodes is not None and CampaignDir(d).finding(sig_id).minimized.exists()
    ]
    example = holders[min(with_example)[1]][0] if with_example else None
    minimized = holders[min(with_minimized)[1]] if with_minimized else None
    target = _finding_dir(dest, sig_id)
    from_elsewhere = example != dest or (minimized is not None and minimized[0] != dest)
    if example is not None and from_elsewhere:
        _copy_finding(target, _finding_dir(example, sig_id), minimized, sig_id)
    target = target.resolve()
    best = minimized[1] if minimized is not None else None
    return dataclasses.replace(
        rows[-1],
        count=0,  # import_rows recounts it from the cases
        first_seed=min(row.first_seed for row in rows),
        status=_merged_status(rows),
        known_link=next((row.known_link for row in rows if row.known_link), None),
        variants=tuple(dict.fromkeys(v for row in rows for v in row.variants)),
        culprit=next((row.culprit for row in rows if row.culprit), None),
        bisect=next((row.bisect for row in rows if row.bisect), None),
        example_dir=str(target) if example is not None else None,
        minimized_nodes=best.minimized_nodes if best else None,
        original_nodes=best.original_nodes if best else None,
        repro_path=str(FindingDir(target).minimized.repro) if best else None,
        minimize_seconds=best.minimize_seconds if best else None,
    )


def _copy_finding(
    target: Path, example: Path, minimized: tuple[Path, FindingRow] | None, sig_id: str
) -> None:
    """Replace ``target`` by ``example``'s files plus the chosen ``minimized/``, atomically."""

    def fill(tmp: Path) -> None:
        copy_tree_durably(example, tmp, skip={FindingDir.MINIMIZED})
        if minimized is not None:
            copy_tree_durably(
                CampaignDir(minimized[0]).finding(sig_id).minimized.path, tmp / FindingDir.MINIMIZED
            )

    replace_directory_atomically(target, fill)
    log.debug("copied finding %s from %s", sig_id, example)

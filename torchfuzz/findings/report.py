"""What a findings store reports: one row per unique finding and the campaign summary.

Plain values read from the database by :class:`torchfuzz.findings.store.FindingsStore`; they render
themselves as table cells (drawn by ``torchfuzz report``) or JSON-safe dicts (``--json``).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, fields
from typing import Any

from torchfuzz.backends.signature import Signature

__all__ = ["FINDING_COLUMNS", "FindingRow", "FindingStatus", "StoreSummary"]


class FindingStatus(str, enum.Enum):
    """Where a finding stands; the value is the text the store and ``--json`` hold."""

    NEW = "new"  # not triaged: a campaign with a new finding exits 1
    KNOWN = "known"  # matches a known issue (``known_link``)
    FIXED = "fixed"  # ``replay`` no longer reproduces it

    def __str__(self) -> str:
        return self.value


# The signatures-table columns, in the order FindingRow.from_row expects them.
FINDING_COLUMNS = (
    "id, kind, variant, text, count, first_seed, status, known_link, example_dir,"
    " minimized_nodes, original_nodes, repro_path, signature"
)


@dataclass(frozen=True, slots=True)
class FindingRow:
    """One unique finding (a row of the signatures table); paths are stored as given."""

    signature_id: str
    kind: str
    variant: str
    text: str
    count: int
    first_seed: int
    status: FindingStatus
    known_link: str | None
    example_dir: str | None
    minimized_nodes: int | None
    original_nodes: int | None
    repro_path: str | None
    signature: Signature

    def __post_init__(self) -> None:
        # rows read back from SQLite hold the status as text; unknown text raises here
        object.__setattr__(self, "status", FindingStatus(self.status))

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> FindingRow:
        """Build from a row selected with ``FINDING_COLUMNS``."""
        return cls(*row[:-1], signature=Signature.from_dict(json.loads(row[-1])))

    def to_row(self) -> tuple[Any, ...]:
        """The inverse of :meth:`from_row`: values for ``FINDING_COLUMNS``."""
        values = tuple(getattr(self, f.name) for f in fields(self) if f.name != "signature")
        values = tuple(v.value if isinstance(v, FindingStatus) else v for v in values)
        return (*values, json.dumps(self.signature.to_dict(), sort_keys=True))

    @property
    def size(self) -> str | None:
        """``"33 -> 2"`` (nodes before -> after minimization) when known."""
        if self.original_nodes is None or self.minimized_nodes is None:
            return None
        return f"{self.original_nodes} -> {self.minimized_nodes}"

    def cells(self) -> tuple[str, ...]:
        """The columns of this finding in `torchfuzz report`'s table (before its text)."""
        where = self.repro_path or self.known_link or self.example_dir or "-"
        size, seed = self.size or "-", str(self.first_seed)
        return (
            self.signature_id,
            str(self.count),
            seed,
            self.variant,
            size,
            self.status.value,
            where,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["status"] = self.status.value
        data["signature"] = self.signature.to_dict()
        return data


@dataclass(frozen=True, slots=True)
class StoreSummary:
    """Counts by outcome (every outcome, zeros included), totals, and the findings."""

    counts: dict[str, int]
    total_cases: int
    total_seconds: float  # sum of the per-case seconds (worker time, not wall time)
    findings: tuple[FindingRow, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "counts": dict(self.counts),
            "total_cases": self.total_cases,
            "total_seconds": self.total_seconds,
            "findings": [finding.to_dict() for finding in self.findings],
        }

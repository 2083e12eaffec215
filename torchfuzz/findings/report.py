"""What a findings store reports: one row per unique finding and the campaign summary.

Plain values read from the database by :class:`torchfuzz.findings.store.FindingsStore`; they render
themselves as table cells (drawn by ``torchfuzz report``) or JSON-safe dicts (``--json``).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field, fields
from typing import Any

from torchfuzz.backends.signature import Signature, no_bug, reproduced

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
    "id, kind, variants, text, count, first_seed, status, known_link, example_dir,"
    " minimized_nodes, original_nodes, repro_path, minimize_seconds, culprit, bisect,"
    " signature, cheap"
)


@dataclass(frozen=True, slots=True)
class FindingRow:
    """One unique finding, that is one root cause (a row of the signatures table).

    ``variants`` are the variants it was seen in, in the order first seen; ``culprit``
    describes the first diverging op of its first example (a mismatch), ``bisect`` what
    the compiler bisector named; ``signature`` is the root-cause signature (the row's
    id) and ``cheap`` what a run of the first example under ``variants[0]`` says (what
    ``replay`` compares).  Paths are stored as given."""

    signature_id: str
    kind: str
    variants: tuple[str, ...]
    text: str
    count: int
    first_seed: int
    status: FindingStatus
    known_link: str | None
    example_dir: str | None
    minimized_nodes: int | None
    original_nodes: int | None
    repro_path: str | None
    minimize_seconds: float | None
    culprit: str | None
    bisect: str | None
    signature: Signature
    cheap: Signature

    def __post_init__(self) -> None:
        # rows read back from SQLite hold the status as text; unknown text raises here
        object.__setattr__(self, "status", FindingStatus(self.status))
        object.__setattr__(self, "variants", tuple(self.variants))

    @property
    def reproduced(self) -> bool:
        """False for the one finding of killed or hung cases that did not fail again when
        triaged: not counted as a new bug (no exit 1), shown apart."""
        return reproduced(self.signature)

    @property
    def no_bug(self) -> str | None:
        """Why the finding names no bug (not reproduced in triage; a difference within
        tolerance amplified downstream), or None: it may name one."""
        return no_bug(self.signature)

    @property
    def variant(self) -> str:
        """The variant the finding was first seen in (its example's)."""
        return self.variants[0]

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> FindingRow:
        """Build from a row selected with ``FINDING_COLUMNS``."""
        signature, cheap = (Signature.from_dict(json.loads(text)) for text in row[-2:])
        variants = tuple(json.loads(row[2]))
        return cls(*row[:2], variants, *row[3:-2], signature=signature, cheap=cheap)

    def to_row(self) -> tuple[Any, ...]:
        """The inverse of :meth:`from_row`: values for ``FINDING_COLUMNS``."""
        names = [f.name for f in fields(self) if f.name not in ("signature", "cheap")]
        values = tuple(getattr(self, name) for name in names)
        values = tuple(v.value if isinstance(v, FindingStatus) else v for v in values)
        values = (*values[:2], json.dumps(list(self.variants)), *values[3:])
        signatures = (self.signature.to_dict(), self.cheap.to_dict())
        return (*values, *(json.dumps(data, sort_keys=True) for data in signatures))

    @property
    def size(self) -> str | None:
        """``"33 -> 2"`` (nodes before -> after minimization) when known."""
        if self.original_nodes is None or self.minimized_nodes is None:
            return None
        return f"{self.original_nodes} -> {self.minimized_nodes}"

    def cells(self) -> tuple[str, ...]:
        """The columns of this finding in `torchfuzz report`'s table: id, count, first
        seed, variants, size, status, root cause, culprit (and bisection), repro or link."""
        where = self.repro_path or self.known_link or self.example_dir or "-"
        size, seed = self.size or "-", str(self.first_seed)
        culprit = " ".join(
            f"[{part}]" if part is self.bisect else part
            for part in filter(None, (self.culprit, self.bisect))
        )
        return (
            self.signature_id,
            str(self.count),
            seed,
            ", ".join(self.variants),
            size,
            self.status.value,
            self.text.removeprefix(self.signature_id + " "),
            culprit or "-",
            where,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["status"] = self.status.value
        data["variants"] = list(self.variants)
        data["signature"] = self.signature.to_dict()
        data["cheap"] = self.cheap.to_dict()
        return data


@dataclass(frozen=True, slots=True)
class StoreSummary:
    """Counts by outcome (every outcome, zeros included), totals, and the findings."""

    counts: dict[str, int]
    total_cases: int
    total_seconds: float  # sum of the per-case seconds (worker time, not wall time)
    findings: tuple[FindingRow, ...]
    pending: int = 0  # failing cases whose root cause is not known yet
    merged: dict[str, list[str]] = field(default_factory=dict)  # finding -> merged texts

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "counts": dict(self.counts),
            "total_cases": self.total_cases,
            "total_seconds": self.total_seconds,
            "findings": [finding.to_dict() for finding in self.findings],
            "pending": self.pending,
            "merged": {key: list(texts) for key, texts in self.merged.items()},
        }

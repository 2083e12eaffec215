"""The findings database's tables and the plain rows read from it or written to it.

Kept apart from :mod:`torchfuzz.findings.store` (which owns the connection and the
transactions) so the schema reads in one place.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from torchfuzz.backends.outcome import CASE_KINDS, FAILING_KINDS
from torchfuzz.backends.signature import Signature
from torchfuzz.findings.report import FindingStatus

__all__ = [
    "OUTCOMES",
    "SCHEMA",
    "SCHEMA_VERSION",
    "CaseRow",
    "PendingRow",
    "RecordResult",
    "StoreError",
]

SCHEMA_VERSION = 2
# Every value of the ``cases.outcome`` column, in display order.
OUTCOMES = tuple(kind.value for kind in CASE_KINDS)
FAILING_OUTCOMES = frozenset(kind.value for kind in FAILING_KINDS)

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE cases (
    seed INTEGER PRIMARY KEY,
    options TEXT NOT NULL,
    outcome TEXT NOT NULL,
    variant TEXT,
    signature_id TEXT,  -- signatures.id (not a declared FK: the case row is written first)
    seconds REAL NOT NULL,
    finished_at TEXT NOT NULL
);
CREATE INDEX cases_by_signature ON cases(signature_id);
CREATE TABLE signatures (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    variants TEXT NOT NULL,  -- JSON list, in the order first seen
    text TEXT NOT NULL,
    signature TEXT NOT NULL,
    cheap TEXT NOT NULL,  -- JSON: what a run of the first example says
    count INTEGER NOT NULL CHECK (count >= 0),
    first_seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('new', 'known', 'fixed')),
    known_link TEXT,
    example_dir TEXT,
    minimized_nodes INTEGER,
    original_nodes INTEGER,
    repro_path TEXT,
    minimize_seconds REAL,
    culprit TEXT,
    bisect TEXT
);
-- Failing cases whose root cause is not known yet (a mismatch not localized, a killed or
-- hung case not minimized): the case row has no signature until triage resolves it.
-- A finding merged into another (a crash that minimized to another finding's root cause):
-- its cases, and later cases of its signature, count for the target.
CREATE TABLE aliases (id TEXT PRIMARY KEY, target TEXT NOT NULL, text TEXT NOT NULL);
CREATE TABLE pending (
    seed INTEGER PRIMARY KEY,
    variants TEXT NOT NULL,
    cheap TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What :meth:`FindingsStore.record` did.

    ``is_new`` is True only the first time a signature is ever seen in this store: the
    driver then writes the example directory and minimizes.  ``reopened`` is True when a
    signature marked ``fixed`` failed again (its status went back to ``new``).
    """

    seed: int
    signature_id: str | None = None
    is_new: bool = False
    reopened: bool = False
    status: FindingStatus | None = None
    count: int = 0


@dataclass(frozen=True, slots=True)
class CaseRow:
    """One checked seed, as stored in the cases table (``options`` is JSON text)."""

    seed: int
    options: str
    outcome: str
    variant: str | None
    signature_id: str | None
    seconds: float
    finished_at: str


@dataclass(frozen=True, slots=True)
class PendingRow:
    """A failing case waiting for its root cause (JSON text as stored)."""

    seed: int
    variants: str
    cheap: str


def signature_json(signature: Signature) -> str:
    return json.dumps(signature.to_dict(), sort_keys=True)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class StoreError(ValueError):
    """A findings database that cannot be used, or a request the store refuses."""


def outcome_value(outcome_kind: str) -> str:
    value = outcome_kind.value if isinstance(outcome_kind, enum.Enum) else str(outcome_kind)
    if value not in OUTCOMES:
        raise StoreError(f"unknown outcome {value!r}; expected one of {', '.join(OUTCOMES)}")
    return value

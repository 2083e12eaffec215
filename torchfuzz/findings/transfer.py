"""Copying rows between findings stores (``torchfuzz merge``): the part of
:class:`~torchfuzz.findings.store.FindingsStore` that reads or writes many rows at once."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import astuple
from typing import Any

from torchfuzz.findings.report import FINDING_COLUMNS, FindingRow
from torchfuzz.findings.schema import CaseRow, PendingRow, StoreError

__all__ = ["RowTransfer"]


class RowTransfer:
    """Export and import of whole rows; mixed into FindingsStore (its connection and
    transactions)."""

    _conn: sqlite3.Connection

    def _transaction(self, begin: str = "BEGIN IMMEDIATE") -> contextlib.AbstractContextManager:
        raise NotImplementedError

    def import_rows(
        self,
        cases: Iterable[CaseRow],
        findings: Iterable[FindingRow],
        meta: Mapping[str, Any],
        pending: Iterable[PendingRow] = (),
    ) -> None:
        """Add rows taken from another store, in one transaction: ``cases`` (their seeds
        must be new here), ``findings`` (replacing rows with the same id) and ``meta``
        settings.  Each imported finding's count is recomputed from the cases, so the
        counts stay equal to the cases carrying each signature."""
        if "schema_version" in meta:
            raise StoreError("the schema version is managed by the store")
        findings = list(findings)
        with self._transaction() as conn:
            # A seed already here is a caller bug: IntegrityError, and nothing is written.
            conn.executemany("INSERT INTO cases VALUES (?, ?, ?, ?, ?, ?, ?)", map(astuple, cases))
            marks = ", ".join("?" * len(FINDING_COLUMNS.split(",")))
            conn.executemany(
                f"INSERT OR REPLACE INTO signatures ({FINDING_COLUMNS}) VALUES ({marks})",
                (finding.to_row() for finding in findings),
            )
            conn.executemany(
                "UPDATE signatures SET count ="
                " (SELECT COUNT(*) FROM cases WHERE signature_id = signatures.id) WHERE id = ?",
                ((finding.signature_id,) for finding in findings),
            )
            rows = [(key, json.dumps(value, sort_keys=True)) for key, value in meta.items()]
            conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)
            conn.executemany("INSERT INTO pending VALUES (?, ?, ?)", map(astuple, pending))

    def export_rows(
        self,
    ) -> tuple[tuple[CaseRow, ...], tuple[FindingRow, ...], tuple[PendingRow, ...]]:
        """Every case (by seed), every finding and every pending case, in one snapshot."""
        with self._transaction("BEGIN DEFERRED") as conn:
            cases = conn.execute("SELECT * FROM cases ORDER BY seed").fetchall()  # CaseRow order
            findings = conn.execute(f"SELECT {FINDING_COLUMNS} FROM signatures").fetchall()
            pending = conn.execute("SELECT * FROM pending ORDER BY seed").fetchall()
        return (
            tuple(CaseRow(*row) for row in cases),
            tuple(map(FindingRow.from_row, findings)),
            tuple(PendingRow(*row) for row in pending),
        )

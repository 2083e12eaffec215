"""The findings store of a campaign: one SQLite database (WAL) plus atomically written
finding directories.

Only the campaign driver (or ``torchfuzz merge``) writes here, from one thread.  Every
:meth:`FindingsStore.record` is one transaction, so a driver killed at any instant leaves the
database as it was after the last completed record: a checked seed is either fully counted or
not at all, and ``sum(signatures.count) == number of cases with a signature`` always holds.
Finding directories are written by :func:`torchfuzz.findings.atomic.write_files_atomically`,
so each one is either complete or absent.  The rows it reports are in :mod:`torchfuzz.findings.report`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from torchfuzz.backends.signature import Signature
from torchfuzz.findings.layout import CampaignDir
from torchfuzz.findings.report import FINDING_COLUMNS, FindingRow, FindingStatus, StoreSummary
from torchfuzz.findings.schema import (
    FAILING_OUTCOMES,
    OUTCOMES,
    SCHEMA,
    SCHEMA_VERSION,
    CaseRow,
    PendingRow,
    RecordResult,
    StoreError,
    now,
    outcome_value,
    signature_json,
)
from torchfuzz.findings.transfer import RowTransfer

log = logging.getLogger(__name__)

__all__ = [
    "OUTCOMES",
    "SCHEMA_VERSION",
    "CaseRow",
    "FindingsStore",
    "PendingRow",
    "RecordResult",
    "StoreError",
]


def _target(conn: sqlite3.Connection, signature_id: str) -> str:
    """The finding a signature counts for: itself, or the one it was merged into."""
    row = conn.execute("SELECT target FROM aliases WHERE id = ?", (signature_id,)).fetchone()
    return signature_id if row is None else row[0]


class FindingsStore(RowTransfer):
    """The campaign database ``DIRECTORY/findings.db``; open with :meth:`open`, use as a
    context manager.  Not thread-safe: one driver thread owns it."""

    def __init__(self, connection: sqlite3.Connection, directory: Path) -> None:
        self._conn = connection
        self.directory = directory

    @classmethod
    def open(cls, directory: Path) -> FindingsStore:
        """Open (creating the directory and database if missing) the store in ``directory``.

        Raises :class:`StoreError` for a file that is not a torchfuzz findings database or
        one written with another schema version.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = CampaignDir(directory).db
        # isolation_level=None: no implicit transactions; _transaction() issues BEGIN itself,
        # so schema creation (DDL) is transactional too.
        conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                log.warning("%s: WAL unavailable (journal_mode=%s)", path, mode)
            # NORMAL skips the fsync at each commit; with WAL that can only lose the last
            # commits on an OS crash or power loss, never on a killed process (the WAL is in
            # the OS page cache and is replayed on the next open), and never corrupts the db.
            conn.execute("PRAGMA synchronous=NORMAL")
            store = cls(conn, directory)
            store._ensure_schema(path)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"{path}: not a usable findings database ({exc})") from exc
        except BaseException:
            conn.close()
            raise
        log.debug("opened findings store %s", path)
        return store

    def _ensure_schema(self, path: Path) -> None:
        tables = {
            row[0]
            for row in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if not tables:
            with self._transaction() as conn:
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                created = (("schema_version", SCHEMA_VERSION), ("created_at", now()))
                rows = [(key, json.dumps(value)) for key, value in created]
                conn.executemany("INSERT INTO meta VALUES (?, ?)", rows)
            return
        if "meta" not in tables:
            raise StoreError(f"{path}: not a torchfuzz findings database (no meta table)")
        version = self.get_meta("schema_version")
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"{path}: findings database has schema version {version!r}, this torchfuzz "
                f"reads version {SCHEMA_VERSION}; use another directory or a matching torchfuzz"
            )

    @contextlib.contextmanager
    def _transaction(self, begin: str = "BEGIN IMMEDIATE") -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; any exception (even KeyboardInterrupt) rolls back."""
        self._conn.execute(begin)
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:  # SQLite may already have rolled back itself
                self._conn.execute("ROLLBACK")
            raise

    # --- context manager -------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (committed data is already durable against a kill)."""
        self._conn.close()

    def __enter__(self) -> FindingsStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- meta ------------------------------------------------------------------------

    def get_meta(self, key: str, default: Any = None) -> Any:
        """The JSON value stored under ``key`` in the meta table, or ``default``."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        """Store a JSON-safe campaign setting (options, start time, ...) under ``key``."""
        if key == "schema_version":
            raise StoreError("the schema version is managed by the store")
        text = json.dumps(value, sort_keys=True)
        with self._transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, text))

    # --- recording -------------------------------------------------------------------

    def record(
        self,
        seed: int,
        options: Mapping[str, Any],
        outcome_kind: str,
        variants: Sequence[str],
        signature: Signature | None,
        seconds: float,
        known_link: str | None = None,
        *,
        cheap: Signature | None = None,
        culprit: str | None = None,
        pending: bool = False,
    ) -> RecordResult:
        """Record one checked seed (a CaseKind or its value; the variants that failed),
        in one transaction.  A failing case has its root-cause ``signature`` or is
        ``pending`` with its ``cheap`` one until :meth:`resolve`.  The signature row is
        created (``known`` with ``known_link``, else ``new``) or counted, with ``first_seed``
        lowered and the variants added; a ``known_link`` makes it ``known``, a ``fixed``
        row without one goes back to ``new``.  A seed recorded again moves its count."""
        seed, outcome = int(seed), outcome_value(outcome_kind)
        if (signature is not None or pending) != (outcome in FAILING_OUTCOMES) or (
            signature and pending
        ):
            raise StoreError(f"seed {seed}: outcome {outcome!r} with signature {signature!r}")
        if pending and cheap is None:
            raise StoreError(f"seed {seed}: a pending case needs its cheap signature")
        variants = tuple(variants)
        options_text = json.dumps(dict(options), sort_keys=True)
        with self._transaction() as conn:
            sig_id = None if signature is None else _target(conn, signature.id)
            old = conn.execute("SELECT signature_id FROM cases WHERE seed = ?", (seed,)).fetchone()
            conn.execute(
                "INSERT OR REPLACE INTO cases VALUES (?, ?, ?, ?, ?, ?, ?)",
                (seed, options_text, outcome, ",".join(variants) or None, sig_id)
                + (float(seconds), now()),
            )
            conn.execute("DELETE FROM pending WHERE seed = ?", (seed,))
            if old is not None and old[0] is not None:
                conn.execute("UPDATE signatures SET count = count - 1 WHERE id = ?", (old[0],))
            if pending:
                conn.execute(
                    "INSERT INTO pending VALUES (?, ?, ?)",
                    (seed, json.dumps(list(variants)), signature_json(cheap)),
                )
            if signature is None:
                return RecordResult(seed)
            return self._upsert_signature(
                conn, seed, signature, variants, known_link, cheap or signature, culprit
            )

    def resolve(
        self,
        seed: int,
        signature: Signature,
        variants: Sequence[str],
        known_link: str | None = None,
        culprit: str | None = None,
    ) -> RecordResult:
        """Count a pending case for its root-cause ``signature`` (seen in ``variants``)."""
        seed = int(seed)
        with self._transaction() as conn:
            row = conn.execute("SELECT cheap FROM pending WHERE seed = ?", (seed,)).fetchone()
            if row is None:
                raise StoreError(f"seed {seed} is not pending in {self.directory}")
            cheap = Signature.from_dict(json.loads(row[0]))
            conn.execute("DELETE FROM pending WHERE seed = ?", (seed,))
            conn.execute(
                "UPDATE cases SET signature_id = ?, variant = ? WHERE seed = ?",
                (_target(conn, signature.id), ",".join(variants) or None, seed),
            )
            return self._upsert_signature(
                conn, seed, signature, tuple(variants), known_link, cheap, culprit
            )

    def pending_cases(self) -> list[tuple[int, tuple[str, ...], Signature, str]]:
        """(seed, variants, cheap signature, options JSON) of each pending case, by seed."""
        rows = self._conn.execute(
            "SELECT pending.seed, pending.variants, pending.cheap, cases.options"
            " FROM pending JOIN cases ON cases.seed = pending.seed ORDER BY pending.seed"
        )
        return [
            (seed, tuple(json.loads(variants)), Signature.from_dict(json.loads(cheap)), options)
            for seed, variants, cheap, options in rows
        ]

    def _upsert_signature(
        self,
        conn: sqlite3.Connection,
        seed: int,
        signature: Signature,
        variants: tuple[str, ...],
        known_link: str | None,
        cheap: Signature,
        culprit: str | None,
    ) -> RecordResult:
        sig_id = _target(conn, signature.id)
        row = conn.execute(
            "SELECT count, status, variants FROM signatures WHERE id = ?", (sig_id,)
        ).fetchone()
        if row is None:
            status = FindingStatus.NEW if known_link is None else FindingStatus.KNOWN
            conn.execute(
                "INSERT INTO signatures (id, kind, variants, text, signature, cheap, count,"
                " first_seed, status, known_link, culprit) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
                (sig_id, signature.kind, json.dumps(list(variants)), signature.text())
                + (signature_json(signature), signature_json(cheap), seed)
                + (status.value, known_link, culprit),
            )
            return RecordResult(seed, sig_id, is_new=True, status=status, count=1)
        count, old_status = row[0], FindingStatus(row[1])
        seen = list(dict.fromkeys([*json.loads(row[2]), *variants]))
        status = FindingStatus.KNOWN if known_link is not None else old_status
        status = FindingStatus.NEW if status is FindingStatus.FIXED else status
        conn.execute(
            "UPDATE signatures SET count = count + 1, first_seed = MIN(first_seed, ?),"
            " status = ?, known_link = COALESCE(?, known_link), variants = ? WHERE id = ?",
            (seed, status.value, known_link, json.dumps(seen), sig_id),
        )
        reopened = old_status is FindingStatus.FIXED and status is FindingStatus.NEW
        if reopened:
            log.warning("signature %s was marked fixed but failed again (seed %d)", sig_id, seed)
        return RecordResult(seed, sig_id, reopened=reopened, status=status, count=count + 1)

    def merge_into(self, source_id: str, target_id: str) -> None:
        """Make finding ``source_id`` part of ``target_id`` (one root cause seen two ways):
        its cases count for the target, and so do later cases of its signature."""
        with self._transaction() as conn:
            rows = [
                conn.execute(
                    "SELECT count, first_seed, variants, text FROM signatures WHERE id = ?", (i,)
                ).fetchone()
                for i in (source_id, target_id)
            ]
            if None in rows or source_id == target_id:
                raise StoreError(f"cannot merge {source_id!r} into {target_id!r}")
            (count, first, variants, text), (_, _, into, _) = rows
            seen = json.dumps(list(dict.fromkeys([*json.loads(into), *json.loads(variants)])))
            conn.execute(
                "UPDATE signatures SET count = count + ?, first_seed = MIN(first_seed, ?),"
                " variants = ? WHERE id = ?",
                (count, first, seen, target_id),
            )
            conn.execute("DELETE FROM signatures WHERE id = ?", (source_id,))
            conn.execute(
                "UPDATE cases SET signature_id = ? WHERE signature_id = ?", (target_id, source_id)
            )
            conn.execute("UPDATE aliases SET target = ? WHERE target = ?", (target_id, source_id))
            conn.execute("INSERT INTO aliases VALUES (?, ?, ?)", (source_id, target_id, text))

    def aliases(self) -> dict[str, list[str]]:
        """Target id -> texts of the findings merged into it."""
        merged: dict[str, list[str]] = {}
        for target, text in self._conn.execute("SELECT target, text FROM aliases ORDER BY id"):
            merged.setdefault(target, []).append(text)
        return merged

    def _update_signature(self, signature_id: str, assignments: str, values: tuple) -> None:
        with self._transaction() as conn:
            cursor = conn.execute(
                f"UPDATE signatures SET {assignments} WHERE id = ?", (*values, signature_id)
            )
            if cursor.rowcount != 1:
                raise StoreError(f"no signature {signature_id!r} in {self.directory}")

    def set_example_dir(self, signature_id: str, path: Path | str) -> None:
        """Remember the finding directory written for ``signature_id``."""
        self._update_signature(signature_id, "example_dir = ?", (str(path),))

    def set_minimized(
        self,
        signature_id: str,
        original_nodes: int,
        minimized_nodes: int,
        repro_path: Path | str,
        seconds: float | None = None,
    ) -> None:
        """Remember the minimization result (sizes in nodes, path of ``repro.py``, the
        seconds it took)."""
        self._update_signature(
            signature_id,
            "original_nodes = ?, minimized_nodes = ?, repro_path = ?, minimize_seconds = ?",
            (int(original_nodes), int(minimized_nodes), str(repro_path), seconds),
        )

    def set_bisect(self, signature_id: str, text: str) -> None:
        """Remember what the compiler bisector named for a finding."""
        self._update_signature(signature_id, "bisect = ?", (text,))

    def set_status(self, signature_id: str, status: str, known_link: str | None = None) -> None:
        """Set a finding's status (a FindingStatus or its text); a ``known_link``
        replaces the stored link, None keeps it."""
        if status not in {s.value for s in FindingStatus}:
            expected = ", ".join(FindingStatus)
            raise StoreError(f"unknown status {status!r}; expected one of {expected}")
        self._update_signature(
            signature_id, "status = ?, known_link = COALESCE(?, known_link)", (status, known_link)
        )

    # --- reading ---------------------------------------------------------------------

    def done_seeds(self) -> set[int]:
        """Seeds with a recorded outcome (to skip when resuming)."""
        return {row[0] for row in self._conn.execute("SELECT seed FROM cases")}

    def finding(self, signature_id: str) -> FindingRow | None:
        """The stored row of one signature, or None."""
        row = self._conn.execute(
            f"SELECT {FINDING_COLUMNS} FROM signatures WHERE id = ?", (signature_id,)
        ).fetchone()
        return None if row is None else FindingRow.from_row(row)

    def summary(self) -> StoreSummary:
        """Counts by outcome, totals, and every finding (new first, then by count)."""
        counts = dict.fromkeys(OUTCOMES, 0)
        for outcome, count in self._conn.execute(
            "SELECT outcome, COUNT(*) FROM cases GROUP BY outcome"
        ):
            counts[outcome] = count
        total_seconds = self._conn.execute("SELECT TOTAL(seconds) FROM cases").fetchone()[0]
        rows = self._conn.execute(
            f"SELECT {FINDING_COLUMNS} FROM signatures ORDER BY"
            " CASE status WHEN 'new' THEN 0 WHEN 'known' THEN 1 ELSE 2 END,"
            " count DESC, first_seed, id"
        )
        return StoreSummary(
            counts=counts,
            total_cases=sum(counts.values()),
            total_seconds=float(total_seconds),
            findings=tuple(FindingRow.from_row(row) for row in rows),
            pending=self._conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0],
            merged=self.aliases(),
        )

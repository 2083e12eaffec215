"""The layout of a campaign directory, stated once.

    DIR/findings.db                   the store (:mod:`torchfuzz.findings.store`)
    DIR/.lock                         held by the one writer: a campaign or a merge
    DIR/findings/<id>/                the first example of a finding: case.json, repro.py
                                      (the full script, every variant), graph.dot
    DIR/findings/<id>/minimized/      the minimized case: case.json, repro.py (short, one
                                      variant), graph.dot, signature.json

The campaign driver, ``merge``, ``replay`` and ``report`` find every file through
:class:`CampaignDir` and :class:`FindingDir`; none spells a file name.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CampaignBusyError", "CampaignDir", "FindingDir"]


class CampaignBusyError(ValueError):
    """Another campaign (or merge) is writing to the same directory."""


@dataclass(frozen=True, slots=True)
class FindingDir:
    """One finding's example directory (or its ``minimized/`` subdirectory)."""

    path: Path

    CASE = "case.json"
    REPRO = "repro.py"
    DOT = "graph.dot"
    SIGNATURE = "signature.json"
    MINIMIZED = "minimized"

    @property
    def case(self) -> Path:
        return self.path / self.CASE

    @property
    def repro(self) -> Path:
        return self.path / self.REPRO

    @property
    def dot(self) -> Path:
        return self.path / self.DOT

    @property
    def signature(self) -> Path:
        return self.path / self.SIGNATURE

    @property
    def minimized(self) -> FindingDir:
        return FindingDir(self.path / self.MINIMIZED)

    def exists(self) -> bool:
        return self.path.is_dir()


@dataclass(frozen=True, slots=True)
class CampaignDir:
    """A campaign's output directory (``--out``)."""

    root: Path

    DB = "findings.db"
    LOCK = ".lock"
    FINDINGS = "findings"

    @property
    def db(self) -> Path:
        return self.root / self.DB

    def holds_campaign(self) -> bool:
        """Whether a campaign has written its store here."""
        return self.db.is_file()

    def finding(self, signature_id: str) -> FindingDir:
        return FindingDir(self.root / self.FINDINGS / signature_id)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold ``DIR/.lock``: two writers on one store would interleave seeds."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / self.LOCK, "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CampaignBusyError(f"another campaign is running in {self.root}") from None
            yield  # the lock goes with the file descriptor, also when the process is killed

"""Known issues: findings that are already reported upstream, recognized by signature.

A known-issues file is TOML (an array of ``[[issue]]`` tables) or JSON (a list of
objects, or ``{"issue": [...]}``).  Each entry has ``pattern``, a regular expression
searched in :meth:`Signature.text` (``"<id> crash in <variant>: <type> | <message> |
<frames>"``), ``link``, a URL, and optionally ``variant`` (exact match) and ``note``.
The first matching entry wins.  A campaign records a finding that matches with status
``known`` and the entry's link, so new bugs stand out.
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchfuzz.backends.signature import Signature

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: JSON files only
    tomllib = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

__all__ = [
    "KnownIssue",
    "KnownIssues",
    "KnownIssuesError",
    "default_known_issues_path",
    "load_known_issues",
    "parse_known_issues",
]

DEFAULT_FILE = "known_issues.toml"
_REQUIRED = ("pattern", "link")
_OPTIONAL = ("variant", "note")


class KnownIssuesError(ValueError):
    """A known-issues file that cannot be read; the message says which entry and why."""


@dataclass(frozen=True, slots=True)
class KnownIssue:
    """One reported bug: a regular expression over signature text, and where it is tracked."""

    pattern: re.Pattern[str]
    link: str
    variant: str | None = None
    note: str = ""

    def matches(self, signature: Signature, variants: Sequence[str] = ()) -> bool:
        """True when the variant (if given) is one of ``variants`` (those the finding was
        seen in) and the pattern occurs in the signature's text."""
        if self.variant is not None and self.variant not in variants:
            return False
        return self.pattern.search(signature.text()) is not None


@dataclass(frozen=True, slots=True)
class KnownIssues:
    """An ordered collection of :class:`KnownIssue`; the first match wins."""

    issues: tuple[KnownIssue, ...] = ()

    def match(self, signature: Signature, variants: Sequence[str] = ()) -> KnownIssue | None:
        """The first issue matching ``signature`` seen in ``variants``, or None."""
        for issue in self.issues:
            if issue.matches(signature, variants):
                log.debug("signature %s is known: %s", signature.id, issue.link)
                return issue
        return None

    def __len__(self) -> int:
        return len(self.issues)

    def __iter__(self) -> Iterator[KnownIssue]:
        return iter(self.issues)


def _entry(index: int, raw: Any, source: str) -> KnownIssue:
    """Validate one decoded entry; ``index`` is 1-based, for the error message."""
    where = f"{source}: entry {index}"
    if not isinstance(raw, Mapping):
        raise KnownIssuesError(f"{where}: expected a table/object, got {type(raw).__name__}")
    missing = [key for key in _REQUIRED if key not in raw]
    if missing:
        raise KnownIssuesError(f"{where}: missing field {', '.join(map(repr, missing))}")
    unknown = sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise KnownIssuesError(f"{where}: unknown field {', '.join(map(repr, unknown))}")
    for key in (*_REQUIRED, *_OPTIONAL):
        if key in raw and not (isinstance(raw[key], str) and raw[key]):
            raise KnownIssuesError(f"{where}: {key!r} must be a non-empty string")
    try:
        pattern = re.compile(raw["pattern"])
    except re.error as exc:
        raise KnownIssuesError(
            f"{where}: bad regular expression {raw['pattern']!r}: {exc}"
        ) from exc
    return KnownIssue(pattern, raw["link"], raw.get("variant"), raw.get("note", ""))


def parse_known_issues(data: Any, source: str = "known issues") -> KnownIssues:
    """Build :class:`KnownIssues` from decoded TOML/JSON: ``{"issue": [...]}`` or a list."""
    if isinstance(data, Mapping):
        extra = sorted(set(data) - {"issue"})
        if extra:
            raise KnownIssuesError(f"{source}: unknown top-level key {', '.join(extra)}")
        data = data.get("issue", [])
    if not isinstance(data, list):
        raise KnownIssuesError(f"{source}: expected a list of issues, got {type(data).__name__}")
    return KnownIssues(tuple(_entry(i, raw, source) for i, raw in enumerate(data, start=1)))


def load_known_issues(path: Path) -> KnownIssues:
    """Read a ``.toml`` or ``.json`` known-issues file; :class:`KnownIssuesError` if bad."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KnownIssuesError(f"{path}: cannot read known issues ({exc.strerror})") from exc
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise KnownIssuesError(f"{path}: known issues must be a .toml or .json file")
    if suffix == ".toml" and tomllib is None:
        raise KnownIssuesError(f"{path}: TOML needs Python 3.11+; use a .json file")
    try:
        data = json.loads(text) if suffix == ".json" else tomllib.loads(text)
    except ValueError as exc:  # JSONDecodeError and TOMLDecodeError
        raise KnownIssuesError(f"{path}: not valid {suffix[1:].upper()}: {exc}") from exc
    issues = parse_known_issues(data, str(path))
    log.debug("loaded %d known issues from %s", len(issues), path)
    return issues


def default_known_issues_path() -> Path:
    """The known-issues file shipped in ``torchfuzz/data`` (bugs found on torch 2.13)."""
    resource = importlib.resources.files("torchfuzz.data").joinpath(DEFAULT_FILE)
    if not isinstance(resource, Path):  # e.g. installed as a zip: not a file on disk
        raise KnownIssuesError(f"{resource}: shipped known issues are not a file on disk")
    return resource

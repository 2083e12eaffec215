"""Directories that are replaced in one rename, so each is either complete or absent.

A finding directory is built in a temporary sibling, its files fsynced, and renamed into
place; a process killed at any instant leaves the old version, the new one, or (for a first
version) nothing, plus hidden leftovers that the next successful write removes.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

__all__ = ["copy_tree_durably", "replace_directory_atomically", "write_files_atomically"]


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_directory_atomically(directory: Path, fill: Callable[[Path], None]) -> None:
    """Make ``directory`` hold exactly what ``fill(tmp)`` writes into an empty directory.

    ``fill`` writes into a temporary sibling that is renamed into place.  An existing
    directory is first renamed aside and deleted after the swap, so at every instant
    ``directory`` is absent or a complete old or new version; if ``fill`` or the swap fails
    the old one is put back.  Leftovers of an earlier interrupted call are removed on success.
    """
    directory = Path(directory)
    parent = directory.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=parent))
    aside: Path | None = None
    try:
        fill(tmp)
        if directory.exists():
            aside = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old-", dir=parent))
            os.replace(directory, aside)  # aside is an empty directory: rename may replace it
        try:
            os.replace(tmp, directory)
        except BaseException:
            if aside is not None:
                os.replace(aside, directory)
                aside = None
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if aside is not None and directory.exists():  # the old one was never moved
            shutil.rmtree(aside, ignore_errors=True)
        raise
    _fsync_directory(parent)
    name = glob.escape(directory.name)
    for stale in (*parent.glob(f".{name}.tmp-*"), *parent.glob(f".{name}.old-*")):
        shutil.rmtree(stale, ignore_errors=True)


def write_files_atomically(directory: Path, files: Mapping[str, str]) -> None:
    """Write ``files`` (flat name -> text) as the complete contents of ``directory``, with
    :func:`replace_directory_atomically`."""
    for name in files:
        if not name or name in (".", "..") or "/" in name or os.sep in name:
            raise ValueError(f"write_files_atomically: bad file name {name!r}")

    def fill(tmp: Path) -> None:
        for name, text in files.items():
            with open(tmp / name, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())

    replace_directory_atomically(directory, fill)


def _copy_file_durably(source: str, target: str) -> None:
    shutil.copy2(source, target)
    with open(target, "rb") as handle:
        os.fsync(handle.fileno())


def copy_tree_durably(source: Path, target: Path, skip: Collection[str] = ()) -> None:
    """Copy the tree ``source`` into ``target`` (created if missing), fsyncing each file;
    top-level entries named in ``skip`` are left out.  Meant for use inside a ``fill`` of
    :func:`replace_directory_atomically`."""
    source = Path(source)

    def ignore(path: str, names: list[str]) -> set[str]:
        return set(skip).intersection(names) if Path(path) == source else set()

    shutil.copytree(
        source, target, ignore=ignore, copy_function=_copy_file_durably, dirs_exist_ok=True
    )

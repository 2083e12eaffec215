"""Atomic directories: complete old or new version at every instant, leftovers removed,
trees copied with their subdirectories."""

import os

import pytest

from torchfuzz.findings import atomic as atomic_dirs
from torchfuzz.findings.atomic import (
    copy_tree_durably,
    replace_directory_atomically,
    write_files_atomically,
)


def _read(directory):
    return {path.name: path.read_text() for path in directory.iterdir()}


def test_write_files_atomically_writes_and_replaces(tmp_path):
    target = tmp_path / "out" / "seed-1"
    write_files_atomically(target, {"a.txt": "old a", "b.txt": "old b"})
    assert _read(target) == {"a.txt": "old a", "b.txt": "old b"}
    write_files_atomically(target, {"a.txt": "new a"})
    assert _read(target) == {"a.txt": "new a"}
    assert sorted(p.name for p in target.parent.iterdir()) == ["seed-1"]


def test_write_files_atomically_rejects_paths(tmp_path):
    with pytest.raises(ValueError, match="bad file name"):
        write_files_atomically(tmp_path / "x", {"../escape": ""})


def _failing_replace(monkeypatch, fail_on_call):
    real = os.replace
    calls = []

    def replace(src, dst):
        calls.append((src, dst))
        if len(calls) == fail_on_call:
            raise OSError("simulated crash")
        return real(src, dst)

    monkeypatch.setattr(atomic_dirs.os, "replace", replace)


@pytest.mark.parametrize("fail_on_call", [1, 2], ids=["moving-old-aside", "renaming-new"])
def test_failure_before_the_swap_keeps_the_old_directory(tmp_path, monkeypatch, fail_on_call):
    target = tmp_path / "seed-1"
    write_files_atomically(target, {"a.txt": "old a", "b.txt": "old b"})
    _failing_replace(monkeypatch, fail_on_call)
    with pytest.raises(OSError, match="simulated crash"):
        write_files_atomically(target, {"a.txt": "new a", "b.txt": "new b"})
    monkeypatch.undo()
    assert _read(target) == {"a.txt": "old a", "b.txt": "old b"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed-1"]


def test_failure_renaming_a_first_version_leaves_no_directory(tmp_path, monkeypatch):
    _failing_replace(monkeypatch, 1)
    with pytest.raises(OSError, match="simulated crash"):
        write_files_atomically(tmp_path / "seed-2", {"a.txt": "a"})
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_failure_while_writing_files_keeps_the_old_directory(tmp_path, monkeypatch):
    target = tmp_path / "seed-2"
    write_files_atomically(target, {"a.txt": "old a"})
    real_fsync, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 2:  # after the first new file, before the second is complete
            raise OSError("disk full")
        real_fsync(fd)

    monkeypatch.setattr(atomic_dirs.os, "fsync", fsync)
    with pytest.raises(OSError, match="disk full"):
        write_files_atomically(target, {"a.txt": "new a", "b.txt": "new b"})
    monkeypatch.undo()
    assert _read(target) == {"a.txt": "old a"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed-2"]


def test_leftovers_of_a_killed_write_are_cleaned_up(tmp_path):
    (tmp_path / ".seed-3.tmp-abc").mkdir()
    (tmp_path / ".seed-3.tmp-abc" / "half.txt").write_text("half")
    (tmp_path / ".seed-30.tmp-abc").mkdir()  # another finding's temporary: kept
    write_files_atomically(tmp_path / "seed-3", {"a.txt": "a"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [".seed-30.tmp-abc", "seed-3"]


def _tree(directory):
    return {
        str(path.relative_to(directory)): path.read_text()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_copy_tree_durably_into_a_replaced_directory(tmp_path):
    example, other = tmp_path / "example", tmp_path / "other"
    write_files_atomically(example, {"case.json": "{}", "repro.py": "x"})
    write_files_atomically(example / "minimized", {"repro.py": "small"})
    write_files_atomically(other / "minimized", {"repro.py": "smaller"})
    target = tmp_path / "dest" / "abc"
    write_files_atomically(target, {"stale.txt": "old"})

    def fill(tmp):
        copy_tree_durably(example, tmp, skip={"minimized"})
        copy_tree_durably(other / "minimized", tmp / "minimized")

    replace_directory_atomically(target, fill)
    assert _tree(target) == {"case.json": "{}", "repro.py": "x", "minimized/repro.py": "smaller"}
    assert _tree(example)["minimized/repro.py"] == "small"  # skip is for the top level only
    assert sorted(p.name for p in target.parent.iterdir()) == ["abc"]


def test_failing_fill_keeps_the_old_directory(tmp_path):
    target = tmp_path / "abc"
    write_files_atomically(target, {"a.txt": "old"})

    def fill(tmp):
        (tmp / "a.txt").write_text("half")
        raise OSError("source vanished")

    with pytest.raises(OSError, match="source vanished"):
        replace_directory_atomically(target, fill)
    assert _tree(target) == {"a.txt": "old"}
    assert [p.name for p in tmp_path.iterdir()] == ["abc"]

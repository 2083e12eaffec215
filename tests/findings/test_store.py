"""The findings store: record/increment semantics, resume, summary, row export/import,
transactions that survive exceptions and SIGKILL."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from torchfuzz.backends.outcome import OutcomeKind
from torchfuzz.backends.signature import (
    AMPLIFIED,
    NO_BUG,
    NOT_REPRODUCED,
    Signature,
    killed_signature,
    root_signature,
    timeout_signature,
)
from torchfuzz.commands.render import store_summary, to_text
from torchfuzz.findings.layout import CampaignDir
from torchfuzz.findings.store import SCHEMA_VERSION, FindingsStore, StoreError

BOOM = Signature("crash", ("RuntimeError", "boom <num>", "torch/x.py:f"))
BANG = Signature("crash", ("AssertionError", "bang", "torch/y.py:g"))
OPTIONS = {"num_nodes": 10, "dtypes": ["float32"]}


@pytest.fixture
def store(tmp_path):
    with FindingsStore.open(tmp_path / "campaign") as opened:
        yield opened


def _crash(store, seed, signature=BOOM, variants=("inductor",), **kwargs):
    return store.record(seed, OPTIONS, "crash", variants, signature, 1.5, **kwargs)


def _ok(store, seed):
    return store.record(seed, OPTIONS, OutcomeKind.OK, (), None, 0.5)


def test_open_creates_directory_database_and_wal(tmp_path):
    with FindingsStore.open(tmp_path / "a" / "b") as opened:
        assert (tmp_path / "a" / "b" / CampaignDir.DB).is_file()
        assert opened.get_meta("schema_version") == SCHEMA_VERSION
        assert opened.get_meta("created_at")
    conn = sqlite3.connect(tmp_path / "a" / "b" / CampaignDir.DB)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_first_record_is_new_then_counts_and_first_seed_is_min(store):
    first = _crash(store, 7)
    assert (first.is_new, first.status, first.count, first.signature_id) == (
        True,
        "new",
        1,
        BOOM.id,
    )
    again = _crash(store, 3)
    assert (again.is_new, again.count) == (False, 2)
    _crash(store, 12)
    row = store.finding(BOOM.id)
    assert (row.count, row.first_seed, row.status, row.signature) == (3, 3, "new", BOOM)
    assert row.text == BOOM.text()


def test_ok_outcome_has_no_signature(store):
    result = _ok(store, 1)
    assert (result.signature_id, result.is_new) == (None, False)
    assert store.summary().findings == ()


def test_known_link_gives_status_known(store):
    result = _crash(store, 1, known_link="https://example.org/1")
    assert result.status == "known"
    assert store.finding(BOOM.id).known_link == "https://example.org/1"


def test_record_rejects_inconsistent_outcome_and_signature(store):
    with pytest.raises(StoreError, match="outcome 'ok'"):
        store.record(1, OPTIONS, "ok", ("inductor",), BOOM, 1.0)
    with pytest.raises(StoreError, match="outcome 'crash'"):
        store.record(1, OPTIONS, "crash", ("inductor",), None, 1.0)
    with pytest.raises(StoreError, match="unknown outcome"):
        store.record(1, OPTIONS, "exploded", (), None, 1.0)
    assert store.done_seeds() == set()


def test_killed_and_timeout_outcomes(store):
    store.record(1, OPTIONS, "killed", ("inductor",), killed_signature(-6), 3.0)
    store.record(2, OPTIONS, "timeout", ("inductor",), timeout_signature(), 60.0)
    counts = store.summary().counts
    assert (counts["killed"], counts["timeout"]) == (1, 1)
    assert store.finding(killed_signature(6).id).variants == ("inductor",)


def test_rerecording_a_seed_moves_its_count(store):
    _crash(store, 5)
    _crash(store, 6)
    moved = _crash(store, 5, signature=BANG)
    assert moved.is_new
    _ok(store, 6)
    assert store.finding(BOOM.id).count == 0
    assert store.finding(BANG.id).count == 1
    assert store.summary().total_cases == 2


def test_done_seeds_and_resume_by_reopening(tmp_path):
    directory = tmp_path / "campaign"
    with FindingsStore.open(directory) as first:
        _ok(first, 0)
        _crash(first, 1)
        first.set_meta("options", OPTIONS)
    with FindingsStore.open(directory) as second:
        assert second.done_seeds() == {0, 1}
        assert second.get_meta("options") == OPTIONS
        assert not _crash(second, 2).is_new
        assert second.finding(BOOM.id).count == 2


def test_status_transitions(store):
    _crash(store, 1)
    store.set_status(BOOM.id, "fixed")
    assert store.finding(BOOM.id).status == "fixed"
    reopened = _crash(store, 2)
    assert (reopened.reopened, reopened.status, reopened.is_new) == (True, "new", False)
    store.set_status(BOOM.id, "known", known_link="https://example.org/2")
    assert not _crash(store, 3).reopened  # known stays known without a link
    assert store.finding(BOOM.id).status == "known"
    store.set_status(BOOM.id, "fixed")
    assert _crash(store, 4, known_link="https://example.org/3").status == "known"
    assert store.finding(BOOM.id).known_link == "https://example.org/3"


def test_setters_reject_unknown_signature_and_status(store):
    _crash(store, 1)
    with pytest.raises(StoreError, match="unknown status"):
        store.set_status(BOOM.id, "wontfix")
    with pytest.raises(StoreError, match="no signature"):
        store.set_example_dir("000000000000", "x")
    with pytest.raises(StoreError, match="schema version"):
        store.set_meta("schema_version", 2)


def test_summary_counts_ordering_and_render(store, tmp_path):
    for seed in range(4):
        _ok(store, seed)
    for seed in (10, 11, 12):
        _crash(store, seed, signature=BANG)
    _crash(store, 20)
    known = Signature("mismatch", ("value",))
    for seed in (30, 31, 32, 33):
        store.record(seed, OPTIONS, "mismatch", ("inductor",), known, 2.0, known_link="https://k")
    store.set_example_dir(BOOM.id, tmp_path / "seed-20")
    store.set_minimized(BOOM.id, 33, 2, tmp_path / "min" / "repro.py")

    summary = store.summary()
    assert summary.counts["ok"] == 4 and summary.counts["crash"] == 4
    assert summary.counts["mismatch"] == 4 and summary.counts["killed"] == 0
    assert summary.total_cases == 12
    assert summary.total_seconds == pytest.approx(4 * 0.5 + 4 * 1.5 + 4 * 2.0)
    assert [f.signature_id for f in summary.findings] == [BANG.id, BOOM.id, known.id]
    assert summary.findings[1].size == "33 -> 2"
    assert summary.findings[1].example_dir == str(tmp_path / "seed-20")

    text = to_text(store_summary(summary))
    assert "cases: 12 in 16.0 s" in text
    assert "ok 4, mismatch 4, crash 4" in text
    assert "findings: 3 unique (2 new, 1 known, 0 fixed)" in text
    boom_line = next(line for line in text.splitlines() if BOOM.id in line)
    assert "33 -> 2" in boom_line and str(tmp_path / "min" / "repro.py") in boom_line
    assert "new" in boom_line and "inductor" in boom_line and "boom <num>" in boom_line
    lines = text.splitlines()
    assert lines.index(boom_line) < next(i for i, x in enumerate(lines) if known.id in x)
    assert "https://k" in next(line for line in lines if known.id in line)


def test_summary_to_dict_is_json_safe(store):
    _crash(store, 1)
    _ok(store, 2)
    data = json.loads(json.dumps(store.summary().to_dict()))
    assert data["total_cases"] == 2
    assert data["findings"][0]["signature"] == BOOM.to_dict()
    assert Signature.from_dict(data["findings"][0]["signature"]) == BOOM


def test_empty_summary_renders(store):
    text = to_text(store_summary(store.summary()))
    assert "cases: 0" in text and "findings: 0 unique" in text


def test_export_and_import_rows_recount_and_keep_paths(store, tmp_path):
    _ok(store, 1)
    _crash(store, 2)
    _crash(store, 3, signature=BANG)
    store.set_minimized(BANG.id, 9, 3, "somewhere/repro.py")
    store.set_meta("options", OPTIONS)
    store.record(4, OPTIONS, "killed", ("inductor",), None, 2.0, cheap=KILLED, pending=True)
    cases, findings, pending = store.export_rows()
    assert [c.seed for c in cases] == [1, 2, 3, 4] and [p.seed for p in pending] == [4]
    assert (cases[1].signature_id, json.loads(cases[1].options)) == (BOOM.id, OPTIONS)
    assert {f.signature_id for f in findings} == {BOOM.id, BANG.id}

    with FindingsStore.open(tmp_path / "other") as other:
        _crash(other, 7)  # BOOM has one case here already
        other.import_rows(cases, findings, {"options": OPTIONS}, pending)
        assert other.done_seeds() == {1, 2, 3, 4, 7}
        assert [seed for seed, *_ in other.pending_cases()] == [4]
        assert other.finding(BOOM.id).count == 2  # recounted, not the imported 1
        assert other.finding(BANG.id) == store.finding(BANG.id)
        assert other.get_meta("options") == OPTIONS
        with pytest.raises(sqlite3.IntegrityError):
            other.import_rows(cases[:1], (), {"late": 1})
        assert other.get_meta("late") is None  # the failed import wrote nothing
        with pytest.raises(StoreError, match="schema version"):
            other.import_rows((), (), {"schema_version": 2})


def test_schema_version_mismatch_is_refused(tmp_path):
    with FindingsStore.open(tmp_path):
        pass
    conn = sqlite3.connect(tmp_path / CampaignDir.DB)
    with conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(StoreError, match="schema version 99"):
        FindingsStore.open(tmp_path)


def test_foreign_database_is_refused(tmp_path):
    conn = sqlite3.connect(tmp_path / CampaignDir.DB)
    with conn:
        conn.execute("CREATE TABLE other (x)")
    conn.close()
    with pytest.raises(StoreError, match="not a torchfuzz findings database"):
        FindingsStore.open(tmp_path)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / CampaignDir.DB).write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not a usable findings database"):
        FindingsStore.open(tmp_path / "junk")


def test_exception_mid_record_leaves_nothing_half_written(store, monkeypatch):
    _crash(store, 1)

    def fail(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(FindingsStore, "_upsert_signature", fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        _crash(store, 2)
    with pytest.raises(RuntimeError, match="disk on fire"):
        _crash(store, 1, signature=BANG)  # the replaced case row and the decrement roll back
    monkeypatch.undo()
    assert store.done_seeds() == {1}
    assert store.finding(BOOM.id).count == 1
    assert store.finding(BANG.id) is None
    assert _crash(store, 2).count == 2  # the store is usable afterwards


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from torchfuzz.backends.signature import Signature
    from torchfuzz.findings.store import SCHEMA_VERSION, FindingsStore

    sigs = [Signature("crash", ("RuntimeError", f"boom {i}")) for i in range(7)]
    with FindingsStore.open(Path(sys.argv[1])) as store:
        print("ready", flush=True)
        for round_ in range(1000):  # rewrite seeds with other signatures: counts move too
            for seed in range(10001):
                sig = sigs[(seed + round_) % 7] if (seed + round_) % 3 else None
                outcome = "ok" if sig is None else "crash"
                store.record(seed, {"n": seed}, outcome, ("inductor",) if sig else (), sig, 0.01)
    """
)


@pytest.mark.slow
def test_sigkill_while_writing_leaves_a_consistent_database(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    directory = tmp_path / "campaign"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(directory)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    conn = sqlite3.connect(directory / CampaignDir.DB)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    cases = conn.execute("SELECT COUNT(*) FROM cases WHERE signature_id IS NOT NULL").fetchone()
    total = conn.execute("SELECT TOTAL(count) FROM signatures").fetchone()
    by_signature = conn.execute(
        "SELECT COUNT(*) FROM signatures s WHERE s.count !="
        " (SELECT COUNT(*) FROM cases c WHERE c.signature_id = s.id)"
    ).fetchone()
    conn.close()
    assert cases[0] > 0
    assert total[0] == cases[0]
    assert by_signature[0] == 0
    with FindingsStore.open(directory) as reopened:
        assert reopened.done_seeds()
        assert reopened.summary().total_cases == len(reopened.done_seeds())


KILLED = killed_signature(6)
ROOT = Signature("killed", ("SIGABRT", "cumsum"))


def test_pending_case_is_counted_once_resolved_and_merges_variants(store):
    record = store.record(
        5, OPTIONS, "killed", ("inductor",), None, 2.0, cheap=KILLED, pending=True
    )
    assert record.signature_id is None and store.summary().findings == ()
    assert store.pending_cases() == [
        (5, ("inductor",), KILLED, json.dumps(OPTIONS, sort_keys=True))
    ]
    first = store.resolve(5, ROOT, ("inductor",), culprit="cumsum(float32[2] contiguous)")
    assert first.is_new and store.pending_cases() == []
    store.record(6, OPTIONS, "killed", ("inductor_dynamic",), None, 2.0, cheap=KILLED, pending=True)
    again = store.resolve(6, ROOT, ("inductor_dynamic", "inductor"))
    assert not again.is_new and again.count == 2
    row = store.finding(ROOT.id)
    assert row.variants == ("inductor", "inductor_dynamic")  # in the order first seen
    assert (row.cheap, row.signature, row.culprit) == (
        KILLED,
        ROOT,
        "cumsum(float32[2] contiguous)",
    )
    assert store.summary().counts["killed"] == 2
    with pytest.raises(StoreError, match="not pending"):
        store.resolve(6, ROOT, ("inductor",))


def test_pending_needs_a_cheap_signature_and_no_root(store):
    with pytest.raises(StoreError, match="cheap"):
        store.record(1, OPTIONS, "killed", ("inductor",), None, 1.0, pending=True)
    with pytest.raises(StoreError):
        store.record(1, OPTIONS, "killed", ("inductor",), ROOT, 1.0, cheap=KILLED, pending=True)
    with pytest.raises(StoreError):
        store.record(1, OPTIONS, "ok", (), None, 1.0, cheap=KILLED, pending=True)


def test_a_finding_merged_into_another_counts_for_it_from_then_on(store):
    _crash(store, 1, BOOM)
    _crash(store, 2, BOOM, variants=("inductor_dynamic",))
    store.record(3, OPTIONS, "killed", ("inductor",), ROOT, 2.0, cheap=KILLED)
    store.merge_into(BOOM.id, ROOT.id)
    assert store.finding(BOOM.id) is None
    target = store.finding(ROOT.id)
    assert (target.count, target.first_seed) == (3, 1)
    assert target.variants == ("inductor", "inductor_dynamic")
    assert store.aliases() == {ROOT.id: [BOOM.text()]}
    again = _crash(store, 4, BOOM)  # a later case of the merged signature
    assert again.signature_id == ROOT.id and not again.is_new and again.count == 4
    summary = store.summary()
    assert [f.signature_id for f in summary.findings] == [ROOT.id]
    assert summary.counts["crash"] == 3 and summary.counts["killed"] == 1
    with pytest.raises(StoreError, match="cannot merge"):
        store.merge_into(BOOM.id, ROOT.id)  # gone already


def test_a_case_not_reproduced_in_triage_is_shown_apart_as_no_bug(store):
    hung = timeout_signature()
    store.record(7, OPTIONS, "timeout", ("inductor",), None, 40.0, cheap=hung, pending=True)
    store.resolve(7, root_signature(hung, NOT_REPRODUCED), ("inductor",))
    store.record(8, OPTIONS, "killed", ("inductor",), None, 2.0, cheap=KILLED, pending=True)
    store.resolve(8, ROOT, ("inductor",))
    rows = {row.signature.parts[-1]: row for row in store.summary().findings}
    assert not rows[NOT_REPRODUCED].reproduced and rows[ROOT.parts[-1]].reproduced
    assert "1 not reproduced in triage, no bug" in to_text(store_summary(store.summary()))


def test_an_amplified_difference_within_tolerance_is_shown_apart_as_no_bug(store):
    wrong = Signature("mismatch", ("value",))
    store.record(9, OPTIONS, "mismatch", ("inductor",), None, 3.0, cheap=wrong, pending=True)
    store.resolve(9, root_signature(wrong, AMPLIFIED, ()), ("inductor",))
    store.record(10, OPTIONS, "mismatch", ("inductor",), None, 3.0, cheap=wrong, pending=True)
    store.resolve(10, root_signature(wrong, "round -> float"), ("inductor",))
    rows = {row.signature.parts[0]: row for row in store.summary().findings}
    assert rows[AMPLIFIED].no_bug == NO_BUG[AMPLIFIED] and rows[AMPLIFIED].reproduced
    assert rows["round -> float"].no_bug is None
    text = to_text(store_summary(store.summary()))
    assert "1 within tolerance, amplified downstream, no bug" in text

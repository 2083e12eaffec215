"""Campaigns from the command line: fuzz, report and replay, their exit codes, and a
campaign stopped by Ctrl-C or SIGKILL."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests._cli import ENV, SMALL_F32, cli, run_cli
from torchfuzz.findings.layout import CampaignDir


@pytest.mark.slow
def test_fuzz_summary(capsys, tmp_path):
    code, out, _ = run_cli(
        capsys,
        "fuzz",
        "--seeds",
        "0:4",
        "--variants",
        "aot_eager",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
    )
    assert code == 0
    assert "cases: 4" in out and "findings: 0 unique" in out
    code, out, _ = run_cli(capsys, "report", str(tmp_path), "--json")
    assert code == 0 and json.loads(out)["total_cases"] == 4


@pytest.mark.slow
def test_campaign_records_aborts_and_hangs_and_loses_no_case(capsys, tmp_path):
    """A backend that aborts the process on mm and hangs on bmm: the campaign finishes,
    records both as findings, and every seed exactly once."""
    proc = cli(
        "fuzz",
        "--seeds",
        "10:22",
        *SMALL_F32,
        "--variants",
        "inductor",
        "--workers",
        "2",
        "--backend",
        "tests._bugs:abort_on_mm_hang_on_bmm",
        "--timeout",
        "8",
        "--run-timeout-floor",  # triage's runs of the hang's candidates: seconds, not 8 s
        "2",
        "--triage-workers",  # the hang (the last seed) is triaged at once, not after the aborts
        "3",
        "--no-minimize",
        "--out",
        str(tmp_path),
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = _report(capsys, tmp_path)
    assert report["total_cases"] == 12
    assert report["counts"]["killed"] == 2 and report["counts"]["timeout"] == 1  # seeds 12, 20; 21
    kinds = sorted(f["kind"] for f in report["findings"])
    assert kinds == ["killed", "timeout"]
    for finding in report["findings"]:
        assert (Path(finding["example_dir"]) / "case.json").exists()


def _report(capsys, directory: Path) -> dict:
    code, out, err = run_cli(capsys, "report", str(directory), "--json")
    assert code == 0, err
    return json.loads(out)


def _wait_for_cases(db: Path, count: int, seconds: float = 120) -> None:
    """Wait until a running campaign has recorded `count` cases."""
    import sqlite3
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if db.exists():
            with sqlite3.connect(db) as conn:
                try:
                    if conn.execute("SELECT count(*) FROM cases").fetchone()[0] >= count:
                        return
                except sqlite3.OperationalError:  # the campaign is still creating the tables
                    pass
        time.sleep(0.2)


@pytest.mark.slow
def test_sigkilled_campaign_resumes_every_seed_exactly_once(capsys, tmp_path):
    import signal
    import sqlite3

    argv = [
        "fuzz",
        "--seeds",
        "0:30",
        "--variants",
        "eager",
        "--workers",
        "2",
        "--out",
        str(tmp_path),
    ]
    first = subprocess.Popen(
        [sys.executable, "-m", "torchfuzz.cli", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=ENV,
    )
    db = tmp_path / "findings.db"
    _wait_for_cases(db, 5)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert run_cli(capsys, *argv)[0] == 0
    with sqlite3.connect(db) as conn:
        seeds = [row[0] for row in conn.execute("SELECT seed FROM cases ORDER BY seed")]
    assert seeds == list(range(30))


def test_report_and_replay_need_a_campaign(capsys, tmp_path):
    assert run_cli(capsys, "report", str(tmp_path))[0] == 2
    assert run_cli(capsys, "replay", str(tmp_path))[0] == 2


@pytest.mark.slow
def test_replay_keeps_failing_findings_and_marks_fixed_ones(capsys, tmp_path):
    """A finding replays as 'still fails' while its bug exists; with the bug gone (the
    campaign's variants now use plain aot_eager) it is marked fixed."""
    import sqlite3

    run_cli(
        capsys,
        "fuzz",
        "--seeds",
        "12:13",
        *SMALL_F32,
        "--variants",
        "inductor",
        "--workers",
        "1",
        "--backend",
        "tests._bugs:crash_on_mm",
        "--no-minimize",
        "--out",
        str(tmp_path),
    )
    code, out, err = run_cli(capsys, "replay", str(tmp_path))
    assert code == 1 and "still fails" in out, out + err
    with sqlite3.connect(tmp_path / "findings.db") as conn:
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'variants'",
            (json.dumps([{"name": "inductor", "backend": "aot_eager"}]),),
        )
    code, out, err = run_cli(capsys, "replay", str(tmp_path))
    assert code == 0 and "fixed" in out, out + err
    report = _report(capsys, tmp_path)
    assert [f["status"] for f in report["findings"]] == ["fixed"]


@pytest.mark.slow
def test_a_second_campaign_on_the_same_directory_is_refused(capsys, tmp_path):

    with CampaignDir(tmp_path).exclusive():
        code, _, err = run_cli(
            capsys, "fuzz", "--seeds", "0:2", "--variants", "eager", "--out", str(tmp_path)
        )
    assert code == 2 and "another campaign is running" in err and len(err.strip().splitlines()) == 1
    code, _, _ = run_cli(
        capsys,
        "fuzz",
        "--seeds",
        "0:2",
        "--variants",
        "eager",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
    )
    assert code == 0  # the lock is gone with its holder


@pytest.mark.slow
def test_ctrl_c_stops_the_campaign_cleanly_with_a_summary(tmp_path):
    import signal
    import sqlite3

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "torchfuzz.cli",
            "fuzz",
            "--seeds",
            "0:500",
            "--variants",
            "eager",
            "--workers",
            "2",
            "--out",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    db = tmp_path / "findings.db"
    _wait_for_cases(db, 5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "interrupted" in err and "outcomes: ok" in out
    with sqlite3.connect(db) as conn:
        recorded = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
    assert 5 <= recorded < 500 and f"cases: {recorded} " in out

"""Campaigns against synthetic multi-bug backends: one finding per bug, seen in every
variant that shows it, minimized while checking goes on, resumable after Ctrl-C."""

import concurrent.futures
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests._multibugs import BUG_OPS, TRIAGE_OPS, root_op, score
from torchfuzz.backends.runner import resolve_variants
from torchfuzz.campaign.driver import CampaignConfig, run_campaign
from torchfuzz.campaign.triage import Budget
from torchfuzz.findings.layout import CampaignDir
from torchfuzz.findings.store import FindingsStore
from torchfuzz.generator.options import GeneratorOptions

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}  # the synthetic backends import by name
THREE = ("inductor", "inductor_dynamic", "inductor_mark_dynamic")


def run_repro(path, timeout=120, *args):
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=timeout,
    )


# A seed per bug of tests/_multibugs.py (programs of TRIAGE_OPS, 6 nodes; a value bug's
# seeds hold none of the killing ops), found by scanning seeds 0-299; a second case of a
# value bug and of a killing bug must count into the finding of the first.  The hang's
# program rolls an input of one element first: few of its candidates hang (each that does
# costs a run's timeout and a new worker).
SEEDS = {
    "mul_broadcast": (35,),
    "where_broadcast": (25,),
    "int_add": (44, 51),
    "mm_strided": (139,),
    "exp_half": (106,),
    "abort_cumsum": (6, 9),
    "segfault_flip": (0,),
    "hang_roll": (105,),
}


def run_repros(findings_by_bug):
    """Run each finding's repro (four at a time): bug -> the completed process. A hang's
    repro times out after 10 s; the others get 60 s, and must fail by themselves."""

    def run(item):
        bug, finding = item
        return bug, run_repro(
            finding.repro_path, 120, "--timeout", "10" if bug == "hang_roll" else "60"
        )

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return dict(pool.map(run, findings_by_bug.items()))


@pytest.mark.slow
def test_each_of_eight_bugs_is_exactly_one_minimized_finding(tmp_path):
    """Five wrong-value bugs, an abort, a segfault and a hang (a second case of int_add
    and abort_cumsum), three variants: eight findings, one per bug, each minimized, each
    repro exits 1 naming it."""
    config = CampaignConfig(
        out=tmp_path,
        variants=resolve_variants(THREE, "tests._multibugs:multi_bug_backend"),
        options=GeneratorOptions(ops=TRIAGE_OPS, num_nodes=6),
        seeds=sorted(seed for seeds in SEEDS.values() for seed in seeds),
        workers=2,
        timeout=10,
        budget=Budget(seconds=120, floor=2.0),
        triage_workers=4,  # the killing cases' triage mostly waits: on timeouts and restarts
    )
    summary = run_campaign(config)
    result = score(summary.findings)
    assert (result.precision, result.recall) == (1.0, 1.0), result
    assert summary.pending == 0 and len(summary.findings) == 8
    findings = {}
    for bug, seeds in SEEDS.items():
        (sig_id,) = result.found[bug]
        finding = next(f for f in summary.findings if f.signature_id == sig_id)
        assert (finding.count, finding.first_seed) == (len(seeds), seeds[0]), finding
        assert finding.minimized_nodes is not None and finding.minimized_nodes <= 2, finding
        assert BUG_OPS[bug] in Path(finding.repro_path).read_text()  # its header names it
        findings[bug] = finding
    for bug, repro in run_repros(findings).items():
        assert repro.returncode == 1, (bug, repro.stdout + repro.stderr)
        # a hang's repro fails by its timeout; any other by the bug itself
        assert ("timeout" in repro.stdout) == (bug == "hang_roll"), (bug, repro.stdout)
    value_bugs = [f for f in summary.findings if f.kind == "mismatch"]
    assert len(value_bugs) == 5 and all(f.culprit for f in value_bugs)


@pytest.mark.slow
def test_one_bug_in_three_variants_is_one_finding_listing_them(tmp_path):
    # seeds 5 and 8 add integers (int_add), 6 and 7 pass: two cases, one root cause
    config = CampaignConfig(
        out=tmp_path,
        variants=resolve_variants(THREE, "tests._multibugs:value_bug_backend"),
        seeds=range(5, 9),
        workers=2,
        timeout=60,
        budget=Budget(floor=5.0),
    )
    summary = run_campaign(config)
    assert summary.counts["mismatch"] == 2 and summary.counts["ok"] == 2
    (finding,) = summary.findings
    assert finding.text.endswith("mismatch: add -> int") and finding.count == 2
    assert finding.variants == THREE
    assert finding.first_seed == 5 and finding.culprit.startswith("add_(int32")
    assert finding.minimized_nodes == 1 and finding.minimize_seconds > 0
    assert summary.pending == 0
    repro = run_repro(finding.repro_path)
    assert repro.returncode == 1, repro.stdout + repro.stderr
    assert "mismatch: add -> int" in Path(finding.repro_path).read_text()


def _fuzz(out, seeds):
    return subprocess.Popen(
        [sys.executable, "-m", "torchfuzz.cli", "fuzz", "--seeds", seeds]
        + ["--ops", ",".join(TRIAGE_OPS), "--nodes", "6"]  # the programs of SEEDS
        + ["--backend", "tests._multibugs:multi_bug_backend", "--variants", "inductor"]
        + ["--timeout", "10", "--run-timeout-floor", "2", "--minimize-seconds", "60"]
        + ["--workers", "2", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _minimized(db):
    return _rows(db, "SELECT id FROM signatures WHERE minimized_nodes IS NOT NULL")


def _rows(db, query):
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute(query).fetchall()
    except sqlite3.Error:
        return []


@pytest.mark.slow
def test_ctrl_c_during_minimization_keeps_what_finished_and_a_rerun_finishes(tmp_path):
    # seed 105 hangs in roll; 106 rounds a float32 exp through float16 (exp_half, localized
    # at once). The campaign's timeout is 10 s; minimization runs time out after 2 s (the
    # floor: these programs run in milliseconds), so the hang costs seconds per candidate.
    proc = _fuzz(tmp_path, "105:107")
    db = CampaignDir(tmp_path).db
    deadline = time.monotonic() + 600
    # Ctrl-C once one finding is minimized while the hang is being triaged (minimized)
    while time.monotonic() < deadline and proc.poll() is None:
        if _minimized(db) and _rows(db, "SELECT seed FROM pending"):
            break
        time.sleep(0.5)
    assert proc.poll() is None, "the campaign ended before Ctrl-C: " + proc.communicate()[1]
    done = _minimized(db)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err  # a new finding was recorded
    assert "interrupted" in err
    with FindingsStore.open(tmp_path) as store:
        summary = store.summary()
    kept = {f.signature_id: f for f in summary.findings}
    for (sig_id,) in done:  # a minimization that finished before Ctrl-C is kept
        assert kept[sig_id].minimized_nodes is not None
        assert Path(kept[sig_id].repro_path).exists()
    assert summary.pending == 1  # the hang: triage was cut short, the case kept

    # a second run on the same directory triages what was pending and minimizes the rest
    rerun = _fuzz(tmp_path, "105:107")
    out, err = rerun.communicate(timeout=900)
    assert rerun.returncode == 1, err
    with FindingsStore.open(tmp_path) as store:
        summary = store.summary()
    assert summary.pending == 0 and summary.total_cases == 2
    ops = sorted(root_op(f.signature) for f in summary.findings)
    assert ops == ["exp", "roll"], json.dumps(summary.to_dict(), indent=1)
    for finding in summary.findings:
        assert finding.minimized_nodes <= 2, finding
        assert finding.minimize_seconds < 60 + 30  # its budget, and runs that overran it
    roll = next(f for f in summary.findings if root_op(f.signature) == "roll")
    repro = run_repro(roll.repro_path, 120, "--timeout", "10")
    assert repro.returncode == 1 and "timeout" in repro.stdout, repro.stdout + repro.stderr

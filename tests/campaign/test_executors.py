"""Executors: verdicts cross process boundaries intact; the local one stops mid-case; the Ray
one runs a whole campaign with the same crash isolation, timeouts and store."""

from __future__ import annotations

import importlib.util
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import torch

from tests._core_ops import CORE_OPTIONS
from torchfuzz.backends.variants import Variant, get_variant
from torchfuzz.backends.worker import RunnerKilled
from torchfuzz.campaign.driver import CampaignConfig, run_campaign
from torchfuzz.campaign.executors import (
    ExecutorError,
    LocalExecutor,
    Verdict,
    check_case,
    make_executor,
)
from torchfuzz.campaign.triage import Budget
from torchfuzz.findings.store import FindingsStore
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.serialize import Case

SMALL_F32 = GeneratorOptions(num_nodes=30, max_depth=10, dtypes=(torch.float32,), **CORE_OPTIONS)
DEFAULT = GeneratorOptions()
HAS_RAY = importlib.util.find_spec("ray") is not None


def _case(seed: int, options: GeneratorOptions = DEFAULT) -> Case:
    return Case(generate(seed, options), seed, options.to_dict(), {})


def _variant(backend: str) -> Variant:
    return get_variant("inductor").with_backend(backend)


@pytest.mark.slow
def test_verdicts_round_trip_through_dicts():
    from torchfuzz.backends.worker import IsolatedRunner

    with IsolatedRunner() as runner:
        ok = check_case(runner, _case(1), [get_variant("eager")], 60)
        killed = check_case(runner, _case(12, SMALL_F32), [_variant("tests._bugs:abort_on_mm")], 60)
    assert ok.outcome_kind == "ok" and ok.signature is None and ok.outcome is not None
    assert killed.outcome_kind == "killed" and killed.signature.kind == "killed"
    for verdict in (ok, killed):
        assert Verdict.from_dict(verdict.to_dict()) == verdict


@pytest.mark.slow
def test_local_executor_close_stops_a_hanging_case_and_its_worker():
    executor = LocalExecutor([_variant("tests._bugs:hang_on_mm")], 300, 1, 200)
    future = executor.submit(_case(12, SMALL_F32))
    deadline = time.monotonic() + 60
    while not executor._runners or executor._runners[0].pid is None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    pid = executor._runners[0].pid
    time.sleep(1.0)  # the worker is inside the hanging compile now
    start = time.monotonic()
    closer = threading.Thread(target=executor.close)
    closer.start()
    closer.join(30)
    assert not closer.is_alive() and time.monotonic() - start < 15
    with pytest.raises(RunnerKilled):
        future.result()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped, gone


def test_unknown_executor_and_misplaced_address_are_bad_input():
    eager = [get_variant("eager")]
    with pytest.raises(ExecutorError, match="unknown executor"):
        make_executor("slurm", eager, 60, 1, 200)
    with pytest.raises(ExecutorError, match="--address needs --executor ray"):
        make_executor("local", eager, 60, 1, 200, address="auto")


def test_ray_missing_is_one_clear_line(monkeypatch, capsys, tmp_path):
    import sys

    from torchfuzz.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    code = main(["fuzz", "--seeds", "0:1", "--executor", "ray", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "pip install 'torchfuzz[ray]'" in err


@pytest.mark.slow
@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed (pip install 'torchfuzz[ray]')")
def test_ray_campaign_records_aborts_and_hangs_and_loses_no_case(tmp_path):
    """The same worst-day backend as the local campaign test, on a local Ray instance:
    an abort on mm and a hang on bmm are recorded, every seed exactly once."""
    config = CampaignConfig(
        out=tmp_path,
        variants=(_variant("tests._bugs:abort_on_mm_hang_on_bmm"),),
        options=SMALL_F32,
        seeds=range(19, 22),
        workers=2,
        timeout=5,
        minimize=False,
        # Triage names the abort and the hang (one candidate each: what it names them is
        # tested in test_triage.py and test_driver.py, not here).
        budget=Budget(candidates=1, floor=2.0),
        executor="ray",
    )
    summary = run_campaign(config)
    assert summary.total_cases == 3
    assert summary.counts["killed"] == 1 and summary.counts["timeout"] == 1  # seeds 20; 21
    assert sorted(f.kind for f in summary.findings) == ["killed", "timeout"]
    with FindingsStore.open(tmp_path) as store:
        assert store.done_seeds() == {19, 20, 21}
    for finding in summary.findings:
        assert (Path(finding.example_dir) / "case.json").exists()
    import ray

    assert not ray.is_initialized()  # the instance it started is shut down


@pytest.mark.slow
@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed (pip install 'torchfuzz[ray]')")
def test_ray_actor_killed_mid_case_is_restarted_and_its_case_retried(tmp_path):
    """An actor process dying (a lost node) is not a finding: Ray restarts it and the case
    runs again."""
    import ray

    executor = make_executor("ray", [get_variant("eager")], 60, 1, 200)
    try:
        pid = ray.get(executor._actors[0].__ray_call__.remote(lambda self: os.getpid()))
        futures = [executor.submit(_case(seed)) for seed in range(3)]
        os.kill(pid, signal.SIGKILL)
        verdicts = [f.result(timeout=120) for f in futures]
    finally:
        executor.close()
    assert [v.outcome_kind for v in verdicts] == ["ok", "ok", "ok"]

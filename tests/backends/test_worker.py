"""Tests for torchfuzz.backends.worker: crash, hang and recycle isolation (no Inductor)."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import torch

from tests._core_ops import CORE_OPTIONS
from torchfuzz.backends.outcome import Outcome, OutcomeKind, ProcessFate
from torchfuzz.backends.runner import check, resolve_variants
from torchfuzz.backends.variants import UnknownBackendError, Variant
from torchfuzz.backends.worker import IsolatedRunner, RunResult, WorkerError
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.serialize import Case

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="inspects /proc")

SPEC = "tests.backends._backends:"
FAST = resolve_variants(["eager", "aot_eager"], None)


def _case(seed: int) -> Case:
    return Case(generate(seed, GeneratorOptions(dtypes=(torch.float32,), **CORE_OPTIONS)), seed)


def _timeless(data: Any) -> Any:
    """An outcome dict without the wall times, which differ from run to run."""
    if isinstance(data, dict):
        return {k: _timeless(v) for k, v in data.items() if k != "seconds"}
    if isinstance(data, list):
        return [_timeless(v) for v in data]
    return data


def _group(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group ``pgid``."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue  # exited while we looked
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _assert_ok(result: RunResult) -> None:
    assert result.outcome is not None, result.summary()
    assert result.outcome.kind in (OutcomeKind.OK, OutcomeKind.SKIPPED), result.summary()


@pytest.mark.slow
def test_outcome_matches_in_process_check_and_worker_is_reused() -> None:
    with IsolatedRunner() as runner:
        for seed in (0, 1):
            case = _case(seed)
            result = runner.run(case, FAST, timeout=60)
            assert not result.process_failure and result.killed_by is None
            expected = check(case.graph, case.seed, FAST)
            assert _timeless(result.outcome.to_dict()) == _timeless(expected.to_dict())
            if seed == 0:
                first_pid = runner.pid
        assert runner.pid == first_pid is not None


@pytest.mark.slow
def test_abort_is_reported_by_signal_and_next_case_gets_a_fresh_worker() -> None:
    aborting = resolve_variants(["inductor"], SPEC + "aborting_backend")
    with IsolatedRunner() as runner:
        result = runner.run(_case(2), aborting, timeout=60)
        assert result.outcome is None and result.process_failure
        assert result.killed_by == signal.SIGABRT and not result.timed_out
        assert "SIGABRT" in result.summary()
        assert runner.pid is None
        _assert_ok(runner.run(_case(2), FAST, timeout=60))


@pytest.mark.slow
def test_exit_is_reported_by_exit_code() -> None:
    exiting = resolve_variants(["inductor"], SPEC + "exiting_backend")
    with IsolatedRunner() as runner:
        result = runner.run(_case(3), exiting, timeout=60)
        assert result.process_failure and result.exit_code == 3 and result.killed_by is None


@pytest.mark.slow
def test_hang_times_out_and_kills_the_whole_process_group() -> None:
    hanging = resolve_variants(["inductor"], SPEC + "hanging_backend")
    with IsolatedRunner() as runner, ThreadPoolExecutor(1) as pool:
        _assert_ok(runner.run(_case(4), FAST, timeout=60))
        pid = runner.pid
        start = time.monotonic()
        pending = pool.submit(runner.run, _case(4), hanging, 5.0)
        while len(_group(pid)) < 2 and not pending.done():  # the worker and its child
            time.sleep(0.05)
        assert len(_group(pid)) == 2
        result = pending.result(timeout=30)
        assert result.timed_out and result.outcome is None and result.killed_by is None
        assert 5.0 <= result.seconds and time.monotonic() - start < 10
        assert _gone(pid) and _group(pid) == []
        _assert_ok(runner.run(_case(4), FAST, timeout=60))
        assert runner.pid != pid


@pytest.mark.slow
def test_worker_is_recycled_after_n_cases() -> None:
    with IsolatedRunner(recycle_after=2) as runner:
        pids = []
        for seed in (5, 6, 7):
            _assert_ok(runner.run(_case(seed), FAST, timeout=60))
            pids.append(runner.pid)
        assert pids[0] == pids[1] != pids[2]
        assert _gone(pids[0])


@pytest.mark.slow
def test_close_leaves_no_process_and_stray_prints_do_not_break_the_protocol() -> None:
    printing = resolve_variants(["inductor"], SPEC + "printing_backend")
    runner = IsolatedRunner()
    _assert_ok(runner.run(_case(8), printing, timeout=60))
    pid = runner.pid
    runner.close()
    assert runner.pid is None and _gone(pid) and _group(pid) == []
    runner.close()  # idempotent


@pytest.mark.slow
def test_exception_in_check_raises_and_the_worker_survives() -> None:
    bad = (Variant("bad", backend="eager", dynamo_config=(("no_such_option", 1),)),)
    with IsolatedRunner() as runner:
        with pytest.raises(WorkerError, match="no_such_option"):
            runner.run(_case(9), bad, timeout=60)
        pid = runner.pid
        _assert_ok(runner.run(_case(9), FAST, timeout=60))
        assert runner.pid == pid


def test_bad_input_raises_in_the_parent_without_a_worker() -> None:
    runner = IsolatedRunner()
    with pytest.raises(UnknownBackendError):
        runner.run(_case(0), resolve_variants(["inductor"], SPEC + "no_such_backend"))
    assert runner.pid is None
    with pytest.raises(ValueError):
        IsolatedRunner(recycle_after=0)


def test_run_result_holds_an_outcome_or_exactly_one_failure() -> None:
    with pytest.raises(ValueError):
        RunResult(None)
    with pytest.raises(ValueError):
        RunResult(None, killed_by=9, timed_out=True)
    assert "timed out" in RunResult(None, timed_out=True, seconds=5.0).summary()
    assert "code 3" in RunResult(None, exit_code=3).summary()


def test_run_result_fate_and_signature() -> None:
    assert RunResult(None, timed_out=True).fate is ProcessFate.TIMEOUT
    assert RunResult(None, killed_by=6).signature().parts == ("SIGABRT",)
    assert RunResult(None, exit_code=3).fate is ProcessFate.KILLED
    ok = RunResult(Outcome(OutcomeKind.OK))
    assert ok.fate is None
    with pytest.raises(ValueError):
        ok.signature()

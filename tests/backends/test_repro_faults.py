"""A repro.py run as a file judges in a child process: a fault (the child killed by a signal,
or hung past the timeout) is a FAIL line and exit status 1, like a mismatch; otherwise the
child's lines and status pass through unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from torchfuzz.backends.repro import to_repro
from torchfuzz.backends.runner import resolve_variants
from torchfuzz.ir.catalogue import CATALOGUE
from torchfuzz.ir.fast_infer import infer_spec
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import TensorSpec

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SPEC = "tests.backends._backends:"


def _neg_graph() -> Graph:
    g = Graph()
    x0 = g.add_input(TensorSpec.contiguous((3, 4), torch.float32))
    neg = CATALOGUE.get("neg")
    g.set_outputs([g.add_node(neg, [x0], {}, infer_spec(neg, [g.spec(x0)], {}))])
    return g


def _run_repro(backend: str | None, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    (variant,) = resolve_variants(["inductor"], backend and SPEC + backend)
    path = tmp_path / "repro.py"
    path.write_text(to_repro(_neg_graph(), 0, variant))
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # the synthetic backends are imported
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        start_new_session=True,
    )


def test_a_killed_child_is_a_failure_named_by_its_signal(tmp_path) -> None:
    proc = _run_repro("aborting_backend", tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("torch ")  # the child's output comes first, unbuffered
    assert lines[-1] == "FAIL inductor: killed SIGABRT"


def test_a_hung_child_is_killed_with_its_group_after_the_timeout(tmp_path) -> None:
    start = time.monotonic()
    proc = _run_repro("hanging_backend", tmp_path, "--timeout", "5")
    assert time.monotonic() - start < 60  # the backend sleeps an hour
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "FAIL inductor: timeout after 5 s"


def test_a_childs_verdict_and_status_pass_through(tmp_path) -> None:
    wrong = _run_repro("off_by_backend", tmp_path)
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    assert "inductor: MISMATCH" in wrong.stdout and "FAIL: inductor" in wrong.stdout
    fixed = _run_repro("recording_backend", tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert fixed.stdout.splitlines()[-1] == "all variants agree with eager"


def test_a_child_does_not_outlive_a_repro_killed_by_its_caller(tmp_path) -> None:
    (variant,) = resolve_variants(["inductor"], SPEC + "hanging_backend")
    path = tmp_path / "repro.py"
    path.write_text(to_repro(_neg_graph(), 0, variant))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    repro = subprocess.Popen(
        [sys.executable, str(path)], env=env, stdout=subprocess.PIPE, text=True
    )
    assert repro.stdout.readline().startswith("torch ")  # the child runs (and hangs)
    children = subprocess.run(
        ["pgrep", "-f", f"{path} --child"], capture_output=True, text=True
    ).stdout.split()
    assert len(children) == 1
    repro.kill()  # as a caller's timeout does
    repro.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(int(children[0])):
        time.sleep(0.2)
    assert not _alive(int(children[0]))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = (
        Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}").exists() else "X"
    )
    return status != "Z"

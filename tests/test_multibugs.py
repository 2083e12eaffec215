"""The multi-bug backend of tests/_multibugs.py: each bug changes exactly the nodes of its
pattern, leaves near misses alone, and the process-killing ones kill (issue 10's
benchmark backend)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests._multibugs import backend_with, multi_bug_backend

REPO = Path(__file__).resolve().parents[1]
X = torch.linspace(-1, 1, 12).reshape(3, 4)
ROW = torch.linspace(0.5, 2, 4)
MASK = torch.tensor([True, False, True, False])
INTS = torch.arange(6).reshape(2, 3)
A, B = torch.linspace(-1, 1, 12).reshape(3, 4), torch.linspace(1, 2, 15).reshape(3, 5)

# (bug, program, inputs, near miss: the same op outside the pattern)
CASES = {
    "mul_broadcast": (lambda x, r: x * r, (X, ROW), (lambda x, r: x * x, (X, ROW))),
    "where_broadcast": (
        lambda m, x, y: torch.where(m, x, y),
        (MASK, X, 2 * X),
        (lambda m, x, y: torch.where(x > 0, x, y), (MASK, X, 2 * X)),
    ),
    "int_add": (lambda a, b: a + b, (INTS, INTS), (lambda a, b: a + b, (X, X))),
    "mm_strided": (lambda a, b: a.t() @ b, (A, B), (lambda a, b: a @ b, (A, B.reshape(5, 3)[:4]))),
    "exp_half": (lambda x: x.exp(), (X,), (lambda x: x.double().exp(), (X,))),
    "cumsum_scaled": (lambda x: x.cumsum(0), (X,), (lambda a: a.cumsum(0), (INTS,))),
}
SINGLE = {"cumsum_scaled"}  # not in multi_bug_backend (its cumsum aborts)


def _compiled(fn, backend):
    torch._dynamo.reset()
    return torch.compile(fn, backend=backend, fullgraph=True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_value_bug_changes_its_pattern_only(name):
    fn, inputs, (near, near_inputs) = CASES[name]
    backend = backend_with(name) if name in SINGLE else multi_bug_backend
    assert not torch.equal(_compiled(fn, backend)(*inputs), fn(*inputs))
    assert torch.equal(_compiled(near, backend)(*near_inputs), near(*near_inputs))
    others = [other for other in CASES if other != name]
    assert torch.equal(_compiled(fn, backend_with(*others))(*inputs), fn(*inputs))


def test_a_bug_changes_only_its_node_not_the_other_outputs():
    out = _compiled(lambda x, r: (x * r, x + 1, (x * r).sum()), backend_with("mul_broadcast"))(
        X, ROW
    )
    assert torch.allclose(out[0], X * ROW * 1.01) and torch.equal(out[1], X + 1)


_KILLERS = {
    "abort_cumsum": ("torch.cumsum(x, 0)", -signal.SIGABRT),
    "segfault_flip": ("torch.flip(x, [0])", -signal.SIGSEGV),
    "hang_roll": ("torch.roll(x, 1, 0)", None),
}
# A hang is seen from inside: a thread of the child watches its main thread and reports
# once the bug's never-returning function has held it for HANG_SECONDS.
HANG_SECONDS = 5
_WATCH = f"""
import os, sys, threading, time
def watch(main=threading.main_thread().ident, since=None):
    while True:
        time.sleep(0.2)
        frame, inside = sys._current_frames().get(main), False
        while frame is not None:
            inside, frame = inside or frame.f_code.co_name == "_hang", frame.f_back
        since = (since or time.monotonic()) if inside else None
        if since is not None and time.monotonic() - since > {HANG_SECONDS}:
            print("hanging", flush=True)
            os._exit(0)
threading.Thread(target=watch, daemon=True).start()
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_KILLERS))
def test_process_killing_bugs_kill(name):
    call, returncode = _KILLERS[name]
    code = (
        _WATCH + "import torch\nfrom tests._multibugs import backend_with\n"
        f"f = torch.compile(lambda x: {call}, backend=backend_with({name!r}))\n"
        "f(torch.ones(3, 2))\nprint('survived')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    if returncode is None:
        assert proc.stdout == "hanging\n", f"{name} did not hang: {proc.stdout}{proc.stderr[-500:]}"
        return
    assert proc.returncode == returncode, f"{name}: {proc.stdout}{proc.stderr[-500:]}"

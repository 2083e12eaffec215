"""Running the command line in tests: in this process (``run_cli``) or as ``python -m
torchfuzz.cli`` (``cli``), with the repository importable for synthetic backends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._core_ops import CORE_ARGS
from torchfuzz.cli import main

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
# Programs of 30 float32 nodes over the pinned core ops.
SMALL_F32 = ["--nodes", "30", "--max-depth", "10", "--dtypes", "float32", *CORE_ARGS]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``torchfuzz argv`` run in this process."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def cli(*argv: str, **kw) -> subprocess.CompletedProcess[str]:
    """``python -m torchfuzz.cli argv`` run to completion, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "torchfuzz.cli", *argv],
        capture_output=True,
        text=True,
        env=ENV,
        **kw,
    )

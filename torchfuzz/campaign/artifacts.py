"""A minimized finding on disk: minimize a case and write its files into a directory."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

from torchfuzz.backends.repro import to_repro
from torchfuzz.backends.signature import Signature
from torchfuzz.backends.variants import Variant
from torchfuzz.backends.worker import IsolatedRunner
from torchfuzz.findings.atomic import write_files_atomically
from torchfuzz.findings.layout import FindingDir
from torchfuzz.generator.case import versions
from torchfuzz.ir.dot import to_dot
from torchfuzz.ir.serialize import Case
from torchfuzz.shrink.minimize import MinimizeResult, minimize_case


def write_minimized(
    out_dir: Path,
    original: Case,
    result: MinimizeResult,
    variant: Variant,
    signature: Signature | None = None,
) -> list[Path]:
    """Write the minimized case, a standalone repro.py, the DOT graph and the signature
    (``signature``, the finding's root cause, else the one minimization kept) into
    `out_dir` (atomically); return their paths."""
    case = Case(result.graph, original.seed, original.options, versions())
    signature = signature or result.signature
    files = {
        FindingDir.CASE: case.to_json(),
        FindingDir.REPRO: to_repro(result.graph, original.seed, variant, signature),
        FindingDir.DOT: to_dot(result.graph),
        FindingDir.SIGNATURE: json.dumps(signature.to_dict(), indent=1) + "\n",
    }
    write_files_atomically(out_dir, files)
    return [out_dir / name for name in files]


@dataclass(frozen=True, slots=True)
class Minimized:
    """A minimization and the files it wrote."""

    result: MinimizeResult
    files: tuple[Path, ...]


def minimize_to_directory(
    case: Case,
    variant: Variant,
    out_dir: Path,
    timeout: float | None = None,
    max_candidates: int = 5000,
    in_process: bool = False,
) -> Minimized:
    """Minimize `case` while it fails the same way under `variant` (each candidate in a worker
    process unless `in_process`) and write the result into `out_dir`. Raises
    NothingToMinimize when the case does not fail."""
    with contextlib.ExitStack() as stack:
        runner = None if in_process else stack.enter_context(IsolatedRunner())
        result = minimize_case(case.graph, case.seed, variant, runner, timeout, max_candidates)
    return Minimized(result, tuple(write_minimized(out_dir, case, result, variant)))

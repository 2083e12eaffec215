"""Which compiler stage a failure needs: PyTorch's compiler bisector, driven in-process.

:func:`bisect` first checks the program under its (Inductor) variant and keeps the
:func:`~torchfuzz.backends.signature.failure_signature` of the failure.  It then hands
:meth:`torch._inductor.compiler_bisector.CompilerBisector.do_bisect` a predicate that
checks the program again and is *good* (True) when the check passes or fails with
another signature, *bad* (False) when the original failure is back.  The bisector:

1. walks its backends in order (``eager``, ``aot_eager``, ``aot_eager_decomp_partition``,
   ``aot_eager_decomp_partition_crossref``, ``inductor``): ``torch.compile`` asks it for
   the backend to use, so every run compiles with the backend under test in place of
   the variant's (its config patches, dynamic and fullgraph settings stay).  The first
   backend that is bad is the culprit;
2. tries that backend's subsystems one at a time, disabled (pre-grad, joint-graph and
   post-grad passes, lowerings, cudagraphs, decompositions, a few config flips).  The
   first whose absence makes the run good is named; a config flip is named alone;
3. for a counted subsystem (each pass application, each aten node lowered) it runs once
   to count the applications, then binary-searches the smallest number of them that,
   enabled in order, brings the failure back: ``bisect_number`` is the 0-based index of
   the last one, ``debug_info`` what it applied (the FX node's name for a lowering).

State lives in a temporary directory of ours (``CompilerBisector.in_process_cache``),
the class flag ``bisection_enabled`` and a module-level call counter; all are restored
in a ``finally``, and the frames of an escaping exception are cleared so the bisector's
own cleanup object runs then, not at some later garbage collection.  No environment
variable is set: a ``TORCH_BISECT_*`` one already set would override the in-process
state, so :func:`bisect` declines.  The state is per process: one bisection at a time.
Each run is a full :func:`~torchfuzz.backends.runner.check`, whose compile starts from
``torch._dynamo.reset()``; the bisector resets its counters before each run and the FX
graph cache is bypassed while bisection is enabled.  The bisector prints its progress:
that text goes to this module's DEBUG log.

Cost: one run per backend up to the culprit, one per subsystem tried, then for a counted
subsystem one to count and about log2(count) to search: for an Inductor lowering, 15 +
log2(lowerings) runs (measured on CPU: 18 runs, 3 s for a 2-node program; 20 runs, 9 s
for a 13-node one).  ``max_runs`` bounds it.  A flaky failure (a run good while the
bisector counts, everything enabled) makes it give up: :func:`bisect` returns None.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch._inductor import compiler_bisector

from torchfuzz.backends.oracle import DEFAULT_POLICY, ComparisonPolicy
from torchfuzz.backends.runner import check
from torchfuzz.backends.signature import failure_signature
from torchfuzz.backends.variants import Variant
from torchfuzz.ir.graph import Graph

log = logging.getLogger(__name__)

__all__ = ["BISECTABLE_BACKEND", "BisectResult", "bisect"]

BISECTABLE_BACKEND = "inductor"  # the bisector swaps the backend; only Inductor's are its own
_ENV_VARS = ("TORCH_BISECT_BACKEND", "TORCH_BISECT_SUBSYSTEM", "TORCH_BISECT_MAX")
_Bisector = compiler_bisector.CompilerBisector


@dataclass(frozen=True, slots=True)
class BisectResult:
    """The compiler piece a failure needs: the first ``backend`` (in the bisector's order)
    that shows it, the ``subsystem`` of that backend without which (disabled, or its config
    flipped) it goes away (None when none does), and for a counted subsystem the ``bisect_number`` of the application that
    triggers it and what was applied (``debug_info``)."""

    backend: str
    subsystem: str | None = None
    bisect_number: int | None = None
    debug_info: str | None = None

    def __post_init__(self) -> None:
        if not self.backend:
            raise ValueError("BisectResult needs a backend")
        if self.subsystem is None and (self.bisect_number, self.debug_info) != (None, None):
            raise ValueError(f"a bisect number or debug info without a subsystem: {self!r}")
        if self.bisect_number is not None and self.bisect_number < 0:
            raise ValueError(f"BisectResult.bisect_number must be >= 0: {self.bisect_number}")

    def text(self) -> str:
        """One line such as ``inductor / lowerings #9 (bmm)``."""
        line = self.backend
        if self.subsystem is not None:
            line += f" / {self.subsystem}"
        if self.bisect_number is not None:
            line += f" #{self.bisect_number}"
        if self.debug_info:
            line += f" ({' '.join(self.debug_info.split())})"
        return line

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; inverse of :meth:`from_dict`."""
        return {
            "backend": self.backend,
            "subsystem": self.subsystem,
            "bisect_number": self.bisect_number,
            "debug_info": self.debug_info,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BisectResult:
        """Rebuild a :class:`BisectResult` from :meth:`to_dict` output."""
        number, subsystem, info = (
            data.get("bisect_number"),
            data.get("subsystem"),
            data.get("debug_info"),
        )
        return cls(
            backend=str(data["backend"]),
            subsystem=None if subsystem is None else str(subsystem),
            bisect_number=None if number is None else int(number),
            debug_info=None if info is None else str(info),
        )


class _RunBudgetSpent(Exception):
    """Raised by the predicate when ``max_runs`` runs are done; ends the bisection."""


class _LogLines:
    """A text stream that sends each line written to it to this module's DEBUG log."""

    def __init__(self) -> None:
        self._pending = ""

    def write(self, text: str) -> int:
        *lines, self._pending = (self._pending + text).split("\n")
        for line in filter(None, lines):
            log.debug("bisector: %s", line)
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self.write("\n")


def _result(found: compiler_bisector.BisectionResult) -> BisectResult:
    if found.subsystem is None:
        return BisectResult(found.backend)
    subsystem = _Bisector.get_subsystem_object(found.backend, found.subsystem)
    if isinstance(subsystem, compiler_bisector.ConfigChange):  # a flip, nothing counted
        flip = f"{subsystem.config_field}={subsystem.config_value}"
        return BisectResult(found.backend, found.subsystem, None, flip)
    return BisectResult(found.backend, found.subsystem, found.bisect_number, found.debug_info)


@contextlib.contextmanager
def _bisector_state():
    """A private state directory for the bisector; its class state restored on exit."""
    enabled, cache = _Bisector.bisection_enabled, _Bisector.in_process_cache
    directory = tempfile.mkdtemp(prefix="torchfuzz-bisect-")
    _Bisector.in_process_cache = directory  # do_bisect keeps a directory already set
    try:
        yield
    except BaseException as exc:
        # Run the bisector's own cleanup (a __del__ on a local of do_bisect) now.
        traceback.clear_frames(exc.__traceback__)
        raise
    finally:
        _Bisector.bisection_enabled, _Bisector.in_process_cache = enabled, cache
        compiler_bisector.subsystem_call_counter.clear()
        shutil.rmtree(directory, ignore_errors=True)


def bisect(
    graph: Graph,
    seed: int,
    variant: Variant,
    policy: ComparisonPolicy = DEFAULT_POLICY,
    max_runs: int | None = None,
) -> BisectResult | None:
    """The compiler piece the failure of ``graph`` (inputs from ``seed``) under the Inductor
    ``variant`` needs (see the module docstring); None when ``variant`` is not Inductor's,
    the program does not fail, the failure needs no bisectable piece, or ``max_runs``
    checks (the first one excluded) did not finish the bisection."""
    if variant.backend != BISECTABLE_BACKEND:
        log.info("not bisecting %s: backend %s is not Inductor", variant.name, variant.backend)
        return None
    if max_runs is not None and max_runs < 1:
        raise ValueError(f"max_runs must be at least 1, got {max_runs}")
    preset = [name for name in _ENV_VARS if compiler_bisector.get_env_val(name)]
    if preset:
        log.warning("not bisecting: %s set in the environment", ", ".join(preset))
        return None
    original = failure_signature(check(graph, seed, (variant,), policy))
    if original is None:
        log.info("not bisecting: the program does not fail under %s", variant.name)
        return None
    runs, checking = 0, False

    def good() -> bool:
        nonlocal runs, checking
        if max_runs is not None and runs >= max_runs:
            raise _RunBudgetSpent
        runs, checking = runs + 1, True
        now = failure_signature(check(graph, seed, (variant,), policy))
        checking = False
        log.debug("bisect run %d: %s", runs, "bad" if now == original else "good")
        return now != original

    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(_LogLines()), _bisector_state():
            found = _Bisector.do_bisect(good)
    except _RunBudgetSpent:
        log.warning("bisection of %s stopped after %d runs (max_runs)", variant.name, runs)
        return None
    except RuntimeError as exc:
        if checking:  # raised by check: a fuzzer bug, not the bisector giving up
            raise
        # e.g. a flaky failure: good while counting a subsystem's applications
        log.warning("the bisector gave up on %s after %d runs: %s", variant.name, runs, exc)
        return None
    seconds = time.perf_counter() - start
    result = None if found is None else _result(found)
    log.info(
        "bisected %s in %d runs, %.1f s: %s",
        variant.name,
        runs,
        seconds,
        "no bisectable piece" if result is None else result.text(),
    )
    return result

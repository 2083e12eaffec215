"""The worker's side of :class:`~torchfuzz.backends.worker.IsolatedRunner`: a loop that
reads cases (one JSON object per line) from stdin, checks them and writes one JSON reply per
line to the descriptor its parent passed.

Started by the runner as ``python -c "from torchfuzz.backends.worker_loop import serve; ..."``
in a new session; its stdout descriptor already is the parent's stderr, so no print reaches
the protocol.
"""

from __future__ import annotations

import faulthandler
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any

from torchfuzz.backends.bisect import bisect
from torchfuzz.backends.localize import localize_failing
from torchfuzz.backends.runner import check
from torchfuzz.backends.variants import Variant
from torchfuzz.ir.serialize import Case

log = logging.getLogger(__name__)

__all__ = ["serve"]


def _write_line(fd: int, message: dict[str, Any]) -> None:
    data = json.dumps(message).encode() + b"\n"
    while data:
        data = data[os.write(fd, data) :]


def _exit_with_parent(parent_pid: int) -> None:
    """Kill this worker's group once the parent is gone (a hung case never reads EOF)."""
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os.killpg(0, signal.SIGKILL)


def _check(case: Case, variants: list[Variant]) -> dict[str, Any]:
    return {"outcome": check(case.graph, case.seed, variants).to_dict()}


def _localize(case: Case, variants: list[Variant]) -> dict[str, Any]:
    found = localize_failing(case.graph, case.seed, variants)
    return {"localized": None if found is None else found.to_dict()}


def _bisect(case: Case, variants: list[Variant]) -> dict[str, Any]:
    found = bisect(case.graph, case.seed, variants[0])
    return {"bisect": None if found is None else found.to_dict()}


# request "op" -> what the worker does with the case and variants of the request
_REQUESTS: dict[str, Callable[[Case, list[Variant]], dict[str, Any]]] = {
    "check": _check,
    "localize": _localize,
    "bisect": _bisect,
}


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    try:
        case = Case.from_json(request["case"])
        variants = [Variant.from_dict(v) for v in request["variants"]]
        return _REQUESTS[request.get("op", "check")](case, variants)
    except Exception:  # a fuzzer bug: the parent raises it as WorkerError
        return {"error": traceback.format_exc()}


def serve(replies: int, parent_pid: int, log_level: int, core_dumps: bool) -> None:
    """The worker's main loop: read requests from stdin, write replies to ``replies``.

    Started by :class:`IsolatedRunner`; not meant to be run by hand.
    """
    os.set_inheritable(replies, False)
    sys.stdout = sys.stderr  # fd 1 already is the parent's stderr; keep Python's in step
    # The worker is its own program: its log records go to its stderr at the parent's level.
    logging.basicConfig(format="worker %(process)d %(name)s: %(levelname)s: %(message)s")
    logging.getLogger("torchfuzz").setLevel(log_level)
    # Dynamo's advice on a graph break at `.item()`: programs break there on purpose (the
    # structure's branches on `.item()`; backends/structure.py).
    logging.getLogger("torch._dynamo.variables.tensor").setLevel(logging.ERROR)
    faulthandler.enable()  # a Python traceback on stderr when compiled code segfaults
    # Compiler chatter (e.g. Inductor's "bf16 and fp16 are mixed") would interleave with the
    # campaign's progress on the shared stderr; failures reach the parent as outcomes.
    warnings.filterwarnings("ignore", category=UserWarning)
    if not core_dumps:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    _write_line(replies, {"ready": os.getpid()})
    for line in sys.stdin.buffer:
        request = json.loads(line)
        if request.get("op") == "exit":
            break
        _write_line(replies, _answer(request))
    log.debug("worker exiting")

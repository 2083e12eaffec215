"""Check cases in a long-lived worker process that may crash or hang.

Compiled code can segfault, abort (heap corruption) or never return, and a fresh process
pays 2 s for ``import torch`` plus 10-30 s for its first Inductor compile.  So
:class:`IsolatedRunner` keeps one worker process and sends it case after case; it replaces
the worker only when it dies, hangs past the timeout, or has run ``recycle_after`` cases.

Design: a plain ``subprocess.Popen`` of ``python -c "...serve(...)"`` (the worker's side is
:mod:`torchfuzz.backends.worker_loop`) rather than
``multiprocessing``:

* nothing of the parent is re-imported or pickled (spawn re-runs the parent's
  ``__main__``), and the child's environment is explicit: the parent's ``sys.path``
  goes in ``PYTHONPATH`` so ``pkg.mod:attr`` backends import the same way;
* the worker starts a new session, so its process group holds it and Inductor's compile
  subprocesses: a timeout or death kills the whole group, and Ctrl-C in the terminal
  reaches only the parent;
* the protocol has its own pipe (one JSON object per line, requests on the worker's
  stdin, replies on a passed descriptor) and the worker's stdout *descriptor* is the
  parent's stderr from the first instruction, so no print -- Python or C -- can corrupt it.

A worker's death is seen without reaping it (``waitid(WNOWAIT)``), so the process group is
killed while its id cannot yet be reused.  Not thread-safe: one runner per thread.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import select
import signal
import subprocess
import sys
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from torchfuzz.backends.outcome import Outcome, ProcessFate
from torchfuzz.backends.signature import Signature, process_signature
from torchfuzz.backends.variants import Variant, resolve_backend
from torchfuzz.ir.serialize import Case

log = logging.getLogger(__name__)

__all__ = ["IsolatedRunner", "RunResult", "RunnerKilled", "WorkerError"]

_TICK = 0.25  # seconds between liveness checks while waiting for a reply
_STOP_GRACE = 5.0  # seconds a worker gets to exit after being asked to
_DEATH_GRACE = 5.0  # seconds from a closed reply pipe to the worker's exit status
_READ_SIZE = 1 << 16


class WorkerError(RuntimeError):
    """The worker could not start, broke the protocol, or ``check`` raised in it.

    A fuzzer or environment bug, never a finding.
    """


class RunnerKilled(RuntimeError):
    """The runner was killed by :meth:`IsolatedRunner.kill` (the campaign is stopping)."""


@dataclass(frozen=True)
class RunResult:
    """What became of one case sent to a worker.

    Exactly one of: an ``outcome`` (the worker answered), ``killed_by`` (the worker died
    by that signal), ``exit_code`` (the worker exited on its own, e.g. the program called
    ``exit``), or ``timed_out`` (no answer in time; the runner killed the worker).
    ``seconds`` is the wall time from sending the case to the verdict.
    """

    outcome: Outcome | None
    killed_by: int | None = None
    timed_out: bool = False
    seconds: float = 0.0
    exit_code: int | None = None

    def __post_init__(self) -> None:
        failures = (self.killed_by is not None) + (self.exit_code is not None) + self.timed_out
        if failures != (self.outcome is None):
            raise ValueError(f"RunResult needs an outcome or exactly one failure: {self!r}")
        if self.killed_by is not None and self.killed_by <= 0:
            raise ValueError(f"RunResult.killed_by must be a signal number: {self.killed_by}")

    @property
    def process_failure(self) -> bool:
        """True when the worker died, exited or hung instead of answering."""
        return self.outcome is None

    @property
    def fate(self) -> ProcessFate | None:
        """What became of the worker that gave no outcome (None when it answered): a worker
        that exited by itself counts as killed."""
        if self.outcome is not None:
            return None
        return ProcessFate.TIMEOUT if self.timed_out else ProcessFate.KILLED

    def signature(self) -> Signature:
        """The signature of this process failure (an exit code stands for the signal);
        ValueError when the worker answered."""
        fate = self.fate
        if fate is None:
            raise ValueError(f"the worker answered; no process failure: {self.summary()}")
        return process_signature(fate, self.killed_by or abs(self.exit_code or 1))

    def summary(self) -> str:
        """One-line human text, e.g. ``worker killed by SIGABRT after 1.2 s``."""
        if self.outcome is not None:
            return self.outcome.summary()
        if self.timed_out:
            return f"worker timed out after {self.seconds:.1f} s"
        if self.killed_by is not None:
            return f"worker killed by {_signal_name(self.killed_by)} after {self.seconds:.1f} s"
        return f"worker exited with code {self.exit_code} after {self.seconds:.1f} s"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class _Silence(enum.Enum):
    """Why no reply arrived."""

    DIED = "died"
    TIMED_OUT = "timed out"


def _kill_group(process: subprocess.Popen[bytes]) -> int:
    """SIGKILL the worker's process group, then reap the worker; its return code.

    The worker is not reaped before this, so its pid (the group id) is not reused yet.
    """
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already empty
    return process.wait()


class _Worker:
    """One worker process and the parent's ends of its pipes."""

    def __init__(self, process: subprocess.Popen[bytes], replies: int) -> None:
        self.process = process
        self.replies = replies
        self.cases = 0
        self._buffer = b""
        # Kills the group if the runner is dropped or the interpreter exits without close().
        self._finalizer = weakref.finalize(self, _Worker._discard, process, replies)

    @staticmethod
    def _discard(process: subprocess.Popen[bytes], replies: int) -> int:
        os.close(replies)
        if process.stdin is not None:
            try:
                process.stdin.close()
            except BrokenPipeError:
                pass
        return _kill_group(process)

    @classmethod
    def start(cls, timeout: float, core_dumps: bool) -> _Worker:
        """Start a worker and wait until it has imported torch and says it is ready."""
        read_end, write_end = os.pipe()
        level = logging.getLogger("torchfuzz").getEffectiveLevel()
        code = (
            "from torchfuzz.backends.worker_loop import serve; "
            f"serve({write_end}, {os.getpid()}, {level}, {core_dumps})"
        )
        path = [os.path.abspath(entry or os.curdir) for entry in sys.path]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", code],
                stdin=subprocess.PIPE,
                stdout=2,  # the worker's prints go to our stderr, never to the protocol
                pass_fds=(write_end,),
                start_new_session=True,
                env=env,
            )
        finally:
            os.close(write_end)
        worker = cls(process, read_end)
        reply = worker.receive(time.monotonic() + timeout)
        if not isinstance(reply, dict) or reply.get("ready") != process.pid:
            returncode = worker.discard()
            raise WorkerError(
                f"worker {process.pid} did not start ({reply!r}, return code {returncode})"
            )
        log.debug("worker %d ready", process.pid)
        return worker

    def alive(self) -> bool:
        """True until the worker has exited (it is not reaped by asking)."""
        if self.process.returncode is not None:
            return False
        if hasattr(os, "waitid"):
            flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
            try:
                return os.waitid(os.P_PID, self.process.pid, flags) is None
            except ChildProcessError:  # reaped by someone else's wait()
                return False
        return self.process.poll() is None  # reaps: a tiny pid-reuse window for killpg

    def await_exit(self, grace: float) -> None:
        """Wait up to ``grace`` seconds for the worker to exit by itself."""
        deadline = time.monotonic() + grace
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.01)

    def send(self, message: dict[str, Any]) -> None:
        """Write one request line; raises BrokenPipeError if the worker is gone."""
        stdin = self.process.stdin
        if stdin is None:
            raise WorkerError("worker has no stdin pipe")
        stdin.write(json.dumps(message).encode() + b"\n")
        stdin.flush()

    def receive(self, deadline: float | None) -> dict[str, Any] | _Silence:
        """The next reply, or why none came before ``deadline`` (a monotonic time)."""
        while b"\n" not in self._buffer:
            wait = _TICK if deadline is None else min(_TICK, deadline - time.monotonic())
            if wait <= 0:
                return _Silence.TIMED_OUT
            ready, _, _ = select.select([self.replies], [], [], wait)
            if ready:
                chunk = os.read(self.replies, _READ_SIZE)
                if not chunk:
                    return _Silence.DIED
                self._buffer += chunk
            elif not self.alive() and not select.select([self.replies], [], [], 0)[0]:
                return _Silence.DIED  # dead, and nothing left to read
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            return json.loads(line)
        except json.JSONDecodeError as exc:
            raise WorkerError(f"worker sent a line that is not JSON: {line[:200]!r}") from exc

    def stop(self) -> int:
        """Ask the worker to exit, give it a moment, then kill its group; the return code."""
        try:
            self.send({"op": "exit"})
        except (BrokenPipeError, ValueError):
            pass
        self.await_exit(_STOP_GRACE)
        return self.discard()

    def discard(self) -> int:
        """Kill the worker's process group now; the worker's return code."""
        return self._finalizer()


class IsolatedRunner:
    """Checks cases in a worker process that is replaced when it dies, hangs or ages.

    Use as a context manager (or call :meth:`close`).  ``recycle_after`` bounds how many
    cases one worker runs (memory, Dynamo and Inductor caches); ``startup_timeout``
    bounds a worker's start, which is not counted in a case's timeout.  Core dumps of
    crashing workers are off unless ``core_dumps`` (a torch core is gigabytes).
    """

    def __init__(
        self,
        recycle_after: int = 200,
        startup_timeout: float = 120.0,
        core_dumps: bool = False,
    ) -> None:
        if recycle_after < 1:
            raise ValueError(f"recycle_after must be >= 1, got {recycle_after}")
        self.recycle_after = recycle_after
        self.startup_timeout = startup_timeout
        self.core_dumps = core_dumps
        self._worker: _Worker | None = None
        self._killed = False

    @property
    def pid(self) -> int | None:
        """The current worker's pid, or None before the first case and after a failure."""
        return None if self._worker is None else self._worker.process.pid

    def run(
        self, case: Case, variants: Sequence[Variant], timeout: float | None = None
    ) -> RunResult:
        """Check ``case`` under ``variants`` in the worker, within ``timeout`` seconds.

        The timeout covers the checks, including a first Inductor compile (10-30 s), but
        not the worker's start.  Raises :class:`WorkerError` when ``check`` itself raises
        in the worker, and ``UnknownBackendError`` here for a backend that cannot load.
        """
        reply, failure = self.request("check", case, variants, timeout)
        if failure is not None:
            return failure
        return RunResult(Outcome.from_dict(reply["outcome"]), seconds=reply["seconds"])

    def request(
        self, op: str, case: Case, variants: Sequence[Variant], timeout: float | None
    ) -> tuple[dict, RunResult | None]:
        """The reply (with ``seconds``) to request ``op`` (a key of the worker loop's
        table), or the RunResult of the worker's death or silence."""
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        if self._killed:
            raise RunnerKilled("the runner was killed")
        for variant in variants:
            resolve_backend(variant.backend)  # bad input raises here, not as a worker failure
        request = {"op": op, "case": case.to_json(), "variants": [v.to_dict() for v in variants]}
        worker = self._ready_worker()
        try:
            start = time.monotonic()
            try:
                worker.send(request)
            except BrokenPipeError:  # died after its last reply: not this case's doing
                log.warning("worker %d died between cases; restarting", worker.process.pid)
                self._replace()
                worker = self._ready_worker()
                start = time.monotonic()
                worker.send(request)
            deadline = None if timeout is None else start + timeout
            reply = worker.receive(deadline)
            seconds = time.monotonic() - start
        except BaseException:  # Ctrl-C mid-case: the reply would answer the next request
            self._replace()
            raise
        if self._killed and not isinstance(reply, dict):
            self._replace()
            raise RunnerKilled(f"the runner was killed while running seed {case.seed}")
        if reply is _Silence.TIMED_OUT:
            log.info("worker %d timed out after %.1f s; killing it", worker.process.pid, seconds)
            self._replace()
            return {}, RunResult(None, timed_out=True, seconds=seconds)
        if reply is _Silence.DIED:
            worker.await_exit(_DEATH_GRACE)  # its pipe closes just before it is reapable
            returncode = self._replace()
            log.info("worker %d died (return code %d)", worker.process.pid, returncode)
            if returncode < 0:
                return {}, RunResult(None, killed_by=-returncode, seconds=seconds)
            return {}, RunResult(None, exit_code=returncode, seconds=seconds)
        worker.cases += 1
        if "error" in reply:
            raise WorkerError(f"{op} raised in the worker:\n{reply['error']}")
        return {**reply, "seconds": seconds}, None

    def kill(self) -> None:
        """Kill the worker's process group now and refuse further cases; safe to call from
        another thread while :meth:`run` waits (it then raises :class:`RunnerKilled`).
        Call :meth:`close` afterwards from the owning thread to reap the worker."""
        self._killed = True
        worker = self._worker
        if worker is not None and worker.alive():  # not reaped yet: its pid is still ours
            try:
                os.killpg(worker.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def close(self) -> None:
        """Stop the worker (and its subprocesses); a later :meth:`run` starts a new one."""
        if self._worker is not None:
            worker, self._worker = self._worker, None
            worker.stop()

    def __enter__(self) -> IsolatedRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _ready_worker(self) -> _Worker:
        if self._worker is not None and self._worker.cases >= self.recycle_after:
            log.debug("recycling worker %d", self._worker.process.pid)
            self.close()
        if self._worker is not None and not self._worker.alive():
            log.warning("worker %d died between cases; restarting", self._worker.process.pid)
            self._replace()
        if self._worker is None:
            self._worker = _Worker.start(self.startup_timeout, self.core_dumps)
        return self._worker

    def _replace(self) -> int:
        """Kill the current worker's group; the next case starts a fresh one."""
        worker, self._worker = self._worker, None
        return 0 if worker is None else worker.discard()

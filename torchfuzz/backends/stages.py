"""Which component of ``torch.compile`` a failure came from (the stage of a crash).

Stage classification wraps the real backend in a tracking backend that records the
exception raised while it compiles and wraps each compiled callable it returns to
record the exception raised while that runs.  The final exception is matched by
identity against those records (through Dynamo's ``BackendCompilerFailed`` wrapper):

* raised while a compiled graph ran → ``RUN``;
* raised inside the backend → ``AOT`` when the innermost component frame of its
  traceback is in ``torch/_functorch`` (AOT autograd's own tracing, functionalization
  or partitioning), else ``BACKEND``.  Generic torch machinery (``torch/_ops``,
  ``torch/fx``, fake tensors, decompositions, generated graph code) is skipped over
  to find the component that drove it.  So a ``fw_compiler`` passed to
  ``aot_autograd`` that raises is ``BACKEND``: the failing code is the backend's,
  AOT autograd only called it;
* anything else (tracing, guards, a Dynamo failure after an earlier graph compiled
  fine) → ``DYNAMO``;
* raised while computing gradients through the compiled forward → ``BACKWARD``,
  whether AOT autograd was compiling the backward graph (it does so lazily, on the
  first backward call) or running it.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch._dynamo

from torchfuzz.backends.outcome import Crash, Stage
from torchfuzz.backends.standalone import exception_chain

__all__ = ["TrackingBackend", "backward_crash", "crash_from", "exception_chain"]

_TRACEBACK_FRAMES = 30
_MESSAGE_CHARS = 4000


class TrackingBackend:
    """A backend that delegates to ``real`` and records where exceptions arose."""

    def __init__(self, real: Callable[..., Any], name: str) -> None:
        self.real = real
        self.__name__ = name
        self.compile_errors: list[BaseException] = []
        self.run_errors: list[BaseException] = []

    def __call__(
        self, gm: torch.fx.GraphModule, example_inputs: Sequence[Any]
    ) -> Callable[..., Any]:
        try:
            compiled = self.real(gm, example_inputs)
        except BaseException as exc:
            self.compile_errors.append(exc)
            raise
        if not callable(compiled):
            return compiled  # Dynamo reports this itself

        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return compiled(*args, **kwargs)
            except BaseException as exc:
                self.run_errors.append(exc)
                raise

        return run


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


def backward_crash(exc: BaseException) -> Crash:
    inner = getattr(exc, "inner_exception", None)
    origin = inner if isinstance(inner, BaseException) else exc
    return _crash(Stage.BACKWARD, origin)


def _crash(stage: Stage, origin: BaseException) -> Crash:
    text = "".join(traceback.format_exception(origin, limit=-_TRACEBACK_FRAMES, chain=False))
    return Crash(
        stage=stage,
        exc_type=_type_name(origin),
        message=str(origin)[:_MESSAGE_CHARS],
        traceback=text,
    )


def crash_from(exc: BaseException, tracker: TrackingBackend) -> Crash:
    chain = exception_chain(exc)
    origin = exc
    stage = Stage.DYNAMO
    for candidate in chain:
        if any(candidate is e for e in tracker.run_errors):
            origin, stage = candidate, Stage.RUN
            break
        if any(candidate is e for e in tracker.compile_errors):
            origin, stage = candidate, _backend_stage(candidate)
            break
    else:
        inner = getattr(exc, "inner_exception", None)
        if isinstance(exc, torch._dynamo.exc.BackendCompilerFailed) and isinstance(
            inner, BaseException
        ):
            origin = inner  # raised in the backend but not seen by the tracker
    return _crash(stage, origin)


_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__))
_AOT_DIR = os.path.join(_TORCH_DIR, "_functorch") + os.sep
# Generic machinery that any component drives: skipped when looking for the culprit.
_NEUTRAL_DIRS = tuple(
    os.path.join(_TORCH_DIR, sub) + os.sep
    for sub in (
        "_subclasses",
        "fx",
        "_decomp",
        "_refs",
        "_prims",
        "_prims_common",
        "_higher_order_ops",
        "_library",
        "nn",
        "utils",
    )
)
_NEUTRAL_FILES = frozenset(
    os.path.join(_TORCH_DIR, name)
    for name in ("_ops.py", "_tensor.py", "functional.py", "overrides.py")
)
_THIS_FILE = os.path.abspath(__file__)


def _is_neutral(filename: str) -> bool:
    if filename.startswith("<"):
        return True  # generated code, e.g. an FX GraphModule's forward
    return filename in _NEUTRAL_FILES or filename.startswith(_NEUTRAL_DIRS)


def _backend_stage(exc: BaseException) -> Stage:
    """AOT if the innermost non-generic frame below the tracker is AOT autograd's."""
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        filename = (
            os.path.abspath(frame.filename)
            if not frame.filename.startswith("<")
            else frame.filename
        )
        if filename == _THIS_FILE:
            break
        if _is_neutral(filename):
            continue
        return Stage.AOT if filename.startswith(_AOT_DIR) else Stage.BACKEND
    return Stage.BACKEND

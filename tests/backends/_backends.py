"""Small torch.compile backends with known defects, for the variant tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch._dynamo.backends.common import aot_autograd

WRONG_BY = 1e-3


def broken_backend(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable[..., Any]:
    """Raises while compiling."""
    raise RuntimeError("broken_backend refuses to compile")


def runtime_broken_backend(
    gm: torch.fx.GraphModule, example_inputs: Sequence[Any]
) -> Callable[..., Any]:
    """Compiles fine; the compiled function raises when called."""

    def compiled(*args: Any) -> Any:
        raise ValueError("runtime_broken_backend fails at run time")

    return compiled


def off_by_backend(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable[..., Any]:
    """Runs the graph but adds ``WRONG_BY`` to every floating tensor output."""

    def compiled(*args: Any) -> Any:
        outputs = gm(*args)
        if isinstance(outputs, torch.Tensor):
            return _shift(outputs)
        return type(outputs)(_shift(out) for out in outputs)

    return compiled


def _shift(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value + WRONG_BY
    return value


def _raising_fw_compiler(
    gm: torch.fx.GraphModule, example_inputs: Sequence[Any]
) -> Callable[..., Any]:
    raise RuntimeError("forward compiler failed")


# The forward compiler given to AOT autograd raises: the backend's own failure.
aot_broken_fw_compiler = aot_autograd(fw_compiler=_raising_fw_compiler)

# AOT autograd itself fails (its decomposition table is not a mapping).
aot_broken_internals = aot_autograd(fw_compiler=lambda gm, _: gm, decompositions=42)

not_callable = 42


def aborting_backend(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable[..., Any]:
    """Kills the process, as a heap corruption in compiled code does."""
    import os

    os.abort()


def hanging_backend(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable[..., Any]:
    """Never finishes compiling; first starts a child process, as Inductor's compile pool does."""
    import subprocess
    import sys
    import time

    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    time.sleep(3600)
    raise RuntimeError("hanging_backend woke up")


def exiting_backend(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable[..., Any]:
    """Ends the process with exit status 3, as native code calling exit() does."""
    import os

    os._exit(3)


def printing_backend(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable[..., Any]:
    """Runs the graph as is, after writing junk to stdout from Python and at the fd level."""
    import os

    print("printing_backend: stray print")
    os.write(1, b"printing_backend: stray write to fd 1\n")
    return gm.forward


def mutation_lost_backend(
    gm: torch.fx.GraphModule, example_inputs: Sequence[Any]
) -> Callable[..., Any]:
    """Runs the graph on copies of its inputs: its outputs are right, but the writes it
    makes to its inputs are lost."""

    def compiled(*args: Any) -> Any:
        return gm(*[a.clone() if isinstance(a, torch.Tensor) else a for a in args])

    return compiled


_FIRST_OUTPUTS: list[Any] = []  # the first outputs of the last frame compiled afresh


def stale_recompile_backend(
    gm: torch.fx.GraphModule, example_inputs: Sequence[Any]
) -> Callable[..., Any]:
    """A guard bug: a recompiled frame (new input sizes) returns the outputs the frame's
    first compiled graph gave on its first call, whatever its inputs."""
    compile_id = torch._guards.CompileContext.current_compile_id()
    if compile_id is not None and compile_id.frame_compile_id:
        return lambda *args: _FIRST_OUTPUTS[0]
    _FIRST_OUTPUTS.clear()

    def compiled(*args: Any) -> Any:
        outputs = gm(*args)
        if not _FIRST_OUTPUTS:
            _FIRST_OUTPUTS.append(outputs)
        return outputs

    return compiled


SEEN_GRAPHS: list[torch.fx.GraphModule] = []  # what recording_backend was given, in order


def recording_backend(
    gm: torch.fx.GraphModule, example_inputs: Sequence[Any]
) -> Callable[..., Any]:
    """Runs the graph as is and keeps it in ``SEEN_GRAPHS``."""
    SEEN_GRAPHS.append(gm)
    return gm.forward

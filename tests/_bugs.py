"""Synthetic compiler bugs built on aot_eager, for minimizer quality tests and benchmarks.
Each misbehaves only when a given op pattern is in the graph Dynamo hands it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from functorch.compile import make_boxed_func
from torch._dynamo.backends.debugging import aot_eager

aten = torch.ops.aten


def _feeds(gm: torch.fx.GraphModule, producer: Any, consumer: Any) -> bool:
    return any(
        n.target is producer and any(u.target is consumer for u in n.users) for n in gm.graph.nodes
    )


def _has(gm: torch.fx.GraphModule, target: Any) -> bool:
    return any(n.target is target for n in gm.graph.nodes)


def _map_floats(outputs: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    return type(outputs)(
        fn(o) if isinstance(o, torch.Tensor) and o.is_floating_point() else o for o in outputs
    )


def _wrong_values_if(pattern: Callable[[torch.fx.GraphModule], bool], fn: Callable) -> Callable:
    def backend(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable:
        compiled = aot_eager(gm, example_inputs)
        if not pattern(gm):
            return compiled
        return lambda *args: _map_floats(compiled(*args), fn)

    return backend


def _compile_error_if(pattern: Callable[[torch.fx.GraphModule], bool], message: str) -> Callable:
    def backend(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable:
        if pattern(gm):
            raise RuntimeError(message)
        return aot_eager(gm, example_inputs)

    return backend


def _run_error_if(pattern: Callable[[torch.fx.GraphModule], bool], message: str) -> Callable:
    def backend(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable:
        compiled = aot_eager(gm, example_inputs)
        if not pattern(gm):
            return compiled

        def run(*args: Any) -> Any:
            raise IndexError(message)

        return run

    return backend


# Float outputs off by one when a round feeds a dtype conversion.
wrong_round_into_cast = _wrong_values_if(
    lambda gm: _feeds(gm, aten.round.default, aten._to_copy.default), lambda t: t + 1
)
# Float outputs scaled when a dtype conversion feeds a mul.
wrong_cast_into_mul = _wrong_values_if(
    lambda gm: _feeds(gm, aten._to_copy.default, aten.mul.Tensor), lambda t: t * 1.5
)
# NaN appears in float outputs when a where is present.
nan_with_where = _wrong_values_if(
    lambda gm: _has(gm, aten.where.self), lambda t: t.where(t.flatten()[:1] > 1e30, float("nan"))
)
# Refuses to compile a view of a clone.
crash_clone_into_view = _compile_error_if(
    lambda gm: _feeds(gm, aten.clone.default, aten.view.default), "view of a clone is unsupported"
)
# Fails at run time whenever an mm is present.
crash_on_mm = _run_error_if(lambda gm: _has(gm, aten.mm.default), "mm kernel read out of bounds")


def abort_on_mm(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable:
    """Kills the process (as heap corruption does) whenever an mm is present."""
    if _has(gm, aten.mm.default):
        import os

        os.abort()
    return aot_eager(gm, example_inputs)


def hang_on_mm(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable:
    """Never finishes compiling a graph with an mm."""
    if _has(gm, aten.mm.default):
        import time

        time.sleep(3600)
    return aot_eager(gm, example_inputs)


def abort_on_mm_hang_on_bmm(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable:
    """Kills the process on an mm, never finishes compiling a bmm: a campaign's worst day."""
    if _has(gm, aten.mm.default):
        import os

        os.abort()
    if _has(gm, aten.bmm.default):
        import time

        time.sleep(3600)
    return aot_eager(gm, example_inputs)


def _wrong_gradients_if(pattern: Callable[[torch.fx.GraphModule], bool], fn: Callable) -> Callable:
    """The forward is right; the compiled backward's float outputs (the input gradients)
    go through `fn`."""

    def bw_compiler(bw_gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable:
        return make_boxed_func(lambda *args: _map_floats(bw_gm(*args), fn))

    def backend(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable:
        if not pattern(gm):
            return aot_eager(gm, example_inputs)
        return aot_eager(gm, example_inputs, bw_compiler=bw_compiler)

    return backend


def _backward_compile_error_if(
    pattern: Callable[[torch.fx.GraphModule], bool], message: str
) -> Callable:
    def bw_compiler(bw_gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable:
        raise RuntimeError(message)

    def backend(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable:
        if not pattern(gm):
            return aot_eager(gm, example_inputs)
        return aot_eager(gm, example_inputs, bw_compiler=bw_compiler)

    return backend


# Input gradients 1.5x too large when a mul is present (outputs are right).
wrong_grad_with_mul = _wrong_gradients_if(lambda gm: _has(gm, aten.mul.Tensor), lambda t: t * 1.5)
# The backward compiler refuses a graph whose forward has a mul (the forward compiles and runs).
crash_backward_with_mul = _backward_compile_error_if(
    lambda gm: _has(gm, aten.mul.Tensor), "backward of mul is unsupported"
)

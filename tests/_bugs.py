"""Synthetic compiler bugs built on aot_eager, for minimizer quality tests: each misbehaves
only when a given op pattern is in the graph Dynamo hands it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch._dynamo.backends.debugging import aot_eager

aten = torch.ops.aten


def _feeds(gm: torch.fx.GraphModule, producer: Any, consumer: Any) -> bool:
    return any(
        n.target is producer and any(u.target is consumer for u in n.users) for n in gm.graph.nodes
    )


def _shift_floats(outputs: Any) -> Any:
    return type(outputs)(
        o + 1.0 if isinstance(o, torch.Tensor) and o.is_floating_point() else o for o in outputs
    )


def wrong_sin_into_mul(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable:
    """Float outputs are off by one when a sin feeds a mul."""
    compiled = aot_eager(gm, example_inputs)
    if not _feeds(gm, aten.sin.default, aten.mul.Tensor):
        return compiled
    return lambda *args: _shift_floats(compiled(*args))


def crash_exp_of_add(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable:
    """Refuses to compile an exp of an add."""
    if _feeds(gm, aten.add.Tensor, aten.exp.default):
        raise RuntimeError("exp of add is not supported")
    return aot_eager(gm, example_inputs)


def crash_on_matmul(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable:
    """Fails at run time whenever a matmul is present."""
    compiled = aot_eager(gm, example_inputs)
    if not any(n.target is aten.mm.default for n in gm.graph.nodes):
        return compiled

    def run(*args: Any) -> Any:
        raise IndexError("mm kernel read out of bounds")

    return run

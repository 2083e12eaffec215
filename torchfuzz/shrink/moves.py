"""Reduction moves for the minimizer. Each is a pure function `Graph -> Graph | None`: the
input graph is never changed, and None means the move does not apply or PyTorch rejects the
result. Whether a reduced graph still fails is for the minimizer to find out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from torchfuzz.ir.graph import Graph, Input
from torchfuzz.ir.types import Spec, TensorSpec, contiguous_strides
from torchfuzz.passes.isolate import cut_to_input, eliminate_dead, isolate, prefix
from torchfuzz.passes.respecify import respecify

__all__ = ["cut_to_input", "eliminate_dead", "isolate", "prefix"]  # and the moves below


def drop_output(graph: Graph, index: int) -> Graph | None:
    """Remove one of several outputs (and what only it needed)."""
    if len(graph.outputs) < 2:
        return None
    result = graph.copy()
    result.set_outputs(o for i, o in enumerate(graph.outputs) if i != index)
    return eliminate_dead(result)


def truncate(graph: Graph, node: str) -> Graph | None:
    """Remove output node `node`, making its node operands outputs instead (the FX
    minifier's truncation: the failure may already be visible upstream)."""
    if node not in graph.outputs or graph.is_input(node):
        return None
    operands = [i for i in graph.node(node).inputs if not graph.is_input(i)]
    outputs: list[str] = []
    for out in graph.outputs:
        for name in operands if out == node else [out]:
            if name not in outputs:
                outputs.append(name)
    if not outputs:
        return None
    result = graph.copy()
    result.set_outputs(outputs)
    return eliminate_dead(result)


def _same_value_type(a: Spec, b: Spec) -> bool:
    if isinstance(a, TensorSpec) and isinstance(b, TensorSpec):
        return a.shape == b.shape and a.dtype == b.dtype
    return a == b


def forward_operand(graph: Graph, node: str, operand: str) -> Graph | None:
    """Delete `node`, its users reading its operand `operand` instead (same shape and dtype)."""
    if not _same_value_type(graph.spec(node), graph.spec(operand)):
        return None
    result = graph.copy()
    result.replace_all_uses_with(node, operand)
    result = respecify(eliminate_dead(result))
    return result


def reshape_input(graph: Graph, name: str, shape: tuple[int, ...]) -> Graph | None:
    """Give a tensor input a new (dense) shape; seeded data follows, literal data is dropped
    back to seeded data of the same domain."""
    spec = graph.spec(name)
    if not isinstance(spec, TensorSpec) or spec.shape == shape:
        return None
    result = graph.copy()
    result.replace_input(name, spec=TensorSpec.contiguous(shape, spec.dtype), data=None)
    return respecify(result)


def make_dense(graph: Graph, name: str) -> Graph | None:
    """Make a non-contiguous tensor input contiguous (its storage offset stays)."""
    spec = graph.spec(name)
    if not isinstance(spec, TensorSpec) or spec.is_contiguous:
        return None
    result = graph.copy()
    result.replace_input(
        name, spec=TensorSpec(spec.shape, contiguous_strides(spec.shape), spec.dtype, spec.offset)
    )
    return respecify(result)


def drop_offset(graph: Graph, name: str) -> Graph | None:
    """Build a tensor input at the start of its storage (its strides stay)."""
    spec = graph.spec(name)
    if not isinstance(spec, TensorSpec) or not spec.offset:
        return None
    result = graph.copy()
    result.replace_input(name, spec=spec.with_offset(0))
    return respecify(result)


def retype_input(graph: Graph, name: str, dtype: torch.dtype) -> Graph | None:
    """Give a tensor input another dtype (literal values are kept, converted)."""
    inp = graph.value(name)
    if (
        not isinstance(inp, Input)
        or not isinstance(inp.spec, TensorSpec)
        or inp.spec.dtype == dtype
    ):
        return None
    data = inp.data
    if data is not None:
        data = tuple(torch.tensor(data, dtype=torch.float64).to(dtype).tolist())
    result = graph.copy()
    result.replace_input(name, spec=inp.spec.with_dtype(dtype), data=data)
    return respecify(result)


def set_attrs(graph: Graph, node: str, attrs: tuple[tuple[str, Any], ...]) -> Graph | None:
    """Give a node other attributes."""
    if graph.node(node).attrs == attrs:
        return None
    result = graph.copy()
    result.replace_node(node, attrs=attrs)
    return respecify(result)


def default_attrs(graph: Graph, node: str) -> list[tuple[tuple[str, Any], ...]]:
    """Attribute sets with one attribute left to the aten schema's default."""
    op = graph.node(node).op
    schema = getattr(op.target, "_schema", None)
    if schema is None:
        return []
    defaulted = {a.name for a in schema.arguments if a.has_default_value()}
    attrs = graph.node(node).attrs
    return [
        tuple(pair for pair in attrs if pair[0] != key)
        for key, _ in attrs
        if key in defaulted and key != op.select
    ]


def set_values(graph: Graph, name: str, values: Sequence[bool | int | float]) -> Graph | None:
    """Give an input literal values; None where they break its domain's promise (a count of
    nonzeros, distinct values) that result shapes or tie-free results rely on."""
    inp = graph.value(name)
    if not isinstance(inp, Input) or inp.data == tuple(values) or not inp.domain.admits(values):
        return None
    result = graph.copy()
    result.replace_input(name, data=tuple(values))
    return result


def value_cost(inp: Input) -> int:
    """How complicated an input's values are: seeded random data costs most, then literal
    non-integers, then integers; zeros are free."""
    if inp.data is None:
        count = inp.spec.numel if isinstance(inp.spec, TensorSpec) else 1
        return 3 * count + 1
    return sum(0 if v == 0 else 1 if _integral(v) else 2 for v in inp.data)


def _integral(value: bool | int | float | complex) -> bool:
    parts = (value.real, value.imag) if isinstance(value, complex) else (value,)
    return all(float(p).is_integer() for p in parts)

"""The rules of in-place writes, for `verify`: what an in-place node may write.

A node whose op `mutates` an operand writes it (maybe through a view, see
`torchfuzz.ir.ops.inplace`) and its value is that operand, written. So the written operand
must be read by that node alone, once, and be no output; its layout must be writable (no
expanded or overlapping strides); and no other value sharing its storage may be read at or
after the write, be an output, or be a graph input (whose written value the oracle would not
compare, as it compares only the inputs written directly). Each check returns the broken
rule as text, or None.
"""

from __future__ import annotations

from typing import Any

import torch

from torchfuzz.ir.graph import Graph, Node
from torchfuzz.ir.infer import same_storage
from torchfuzz.ir.types import TensorSpec
from torchfuzz.ir.write_view import VIEW_KEY, WriteView


def overlaps(spec: TensorSpec) -> bool:
    """Whether two elements of a tensor of this layout may share memory (an expanded,
    stride-0 dim, or strides that interleave): such a tensor cannot be written."""
    if 0 in spec.shape:
        return False  # no elements at all
    extent = 0  # elements spanned by the dims placed so far, innermost first
    for size, stride in sorted(zip(spec.shape, spec.stride), key=lambda d: d[1]):
        if size <= 1:
            continue
        if stride <= extent:
            return True
        extent += (size - 1) * stride
    return False


def view_attrs_violation(node: Node) -> str | None:
    """The view a node writes through: a `WriteView` as attribute `view` of an in-place op."""
    name = node.op.name
    for key, value in node.attrs:
        if key == VIEW_KEY and not isinstance(value, WriteView):
            return f"{name}: attribute {VIEW_KEY!r} must be a WriteView, got {value!r}"
        if isinstance(value, WriteView) and key != VIEW_KEY:
            return f"{name}: a view to write through is attribute {VIEW_KEY!r}, not {key!r}"
        if isinstance(value, WriteView) and node.op.mutates is None:
            return f"{name}: only an in-place op writes through a view ({value})"
    return None


def write_violation(graph: Graph, node: Node) -> str | None:
    """The written operand is a tensor read by `node` alone, once, no output, writable."""
    written = node.inputs[node.op.mutates]
    spec = graph.spec(written)
    what = f"{node.op.name} writes {written!r} in place"
    if not isinstance(spec, TensorSpec):
        return f"{node.op.name} writes {written!r}, which is not a tensor"
    others = [u for u in graph.users(written) if u != node.name]
    if others or node.inputs.count(written) > 1:
        readers = ", ".join(others) if others else f"{node.name} again"
        return (
            f"{what}, so it must be its only reader, once; {written!r} is also read by "
            f"{readers} (give the write a fresh value)"
        )
    if written in graph.outputs:
        return (
            f"{what}, so {written!r} cannot be an output "
            f"(output {node.name!r}, the written value, instead)"
        )
    if overlaps(spec):
        return (
            f"{what}, but its layout {spec} has elements that share memory "
            "(expanded or overlapping strides)"
        )
    return None


def alias_violation(graph: Graph, node: Node, values: dict[str, Any]) -> str | None:
    """No other value sharing storage with the written one is read at or after the write,
    is an output or is a graph input. `values` are the (fake) values of everything defined
    before `node`."""
    written = node.inputs[node.op.mutates]
    order = {n.name: i for i, n in enumerate(graph.nodes)}
    for name, value in values.items():
        if name == written or not isinstance(value, torch.Tensor):
            continue
        if not same_storage(value, values[written]):
            continue
        late = [u for u in graph.users(name) if order[u] >= order[node.name]]
        if graph.is_input(name):
            why = "is a graph input (write it directly instead)"
        elif late:
            why = f"is read by {', '.join(late)}"
        elif name in graph.outputs:
            why = "is an output"
        else:
            continue
        return (
            f"{node.op.name} writes {written!r} in place, which shares storage with "
            f"{name!r}, and {name!r} {why}"
        )
    return None

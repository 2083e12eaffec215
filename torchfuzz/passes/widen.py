"""The fp64 twin of a program, the numeric reference the oracle judges results against."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import TensorSpec

_WIDE = torch.float64
_WIDE_COMPLEX = torch.complex128


def widen_dtype(dtype: torch.dtype) -> torch.dtype:
    """The reference's dtype for `dtype`: float64 for floats, complex128 for complex."""
    if dtype.is_complex:
        return _WIDE_COMPLEX
    return _WIDE if dtype.is_floating_point else dtype


def _retype_attr(value: Any, change: Callable[[torch.dtype], torch.dtype]) -> Any:
    if isinstance(value, torch.dtype):
        return change(value)
    if isinstance(value, tuple):
        return tuple(_retype_attr(v, change) for v in value)
    return value


def retype(graph: Graph, change: Callable[[torch.dtype], torch.dtype]) -> Graph:
    """A copy with every dtype (of tensor inputs, tensor results, dtype attributes) ``d``
    made ``change(d)``.  Declared specs of the copy are not re-validated: only its values
    are used."""
    result = graph.copy()
    for inp in result.inputs:
        if isinstance(inp.spec, TensorSpec):
            result.replace_input(inp.name, spec=inp.spec.with_dtype(change(inp.spec.dtype)))
    for node in result.nodes:
        spec = node.spec
        if isinstance(spec, TensorSpec):
            spec = spec.with_dtype(change(spec.dtype))
        attrs = tuple((k, _retype_attr(v, change)) for k, v in node.attrs)
        result.replace_node(node.name, spec=spec, attrs=attrs)
    return result


def widen_floats(graph: Graph) -> Graph:
    """A copy with every floating dtype (inputs, results, dtype attributes) made float64,
    and every complex one complex128.

    Run it under `torch.set_default_dtype(torch.float64)` so that int->float ops widen too.
    Declared specs of the copy are not re-validated: only its values are used.
    """
    return retype(graph, widen_dtype)

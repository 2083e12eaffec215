"""Helpers that build small graphs by hand with the Graph API and catalogue ops."""

from __future__ import annotations

from typing import Any

import torch

from torchfuzz.ir.catalogue import CATALOGUE
from torchfuzz.ir.fast_infer import infer_spec
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import ScalarSpec, Spec, TensorSpec


def tensor(
    graph: Graph, shape: tuple[int, ...], dtype: torch.dtype, stride: tuple[int, ...] | None = None
) -> str:
    """A tensor graph input (contiguous unless `stride` is given)."""
    spec = (
        TensorSpec.contiguous(shape, dtype) if stride is None else TensorSpec(shape, stride, dtype)
    )
    return graph.add_input(spec)


def scalar(graph: Graph, dtype: torch.dtype) -> str:
    """A Python scalar graph input of this kind (int64, float64 or bool)."""
    return graph.add_input(ScalarSpec(dtype))


def node(
    graph: Graph,
    op: str,
    inputs: list[str],
    attrs: tuple[tuple[str, Any], ...] = (),
    *,
    dtype: torch.dtype | None = None,
    spec: Spec | None = None,
) -> str:
    """Append a node whose declared spec is PyTorch's, except for `dtype` (the wanted dtype)."""
    opdef = CATALOGUE.get(op)
    if spec is None:
        spec = infer_spec(opdef, [graph.spec(i) for i in inputs], dict(attrs))
        if dtype is not None:
            spec = spec.with_dtype(dtype)
    return graph.add_node(opdef, inputs, attrs, spec)

"""Classes of a culprit's operands and result that its op pattern names, stable across sizes."""

from __future__ import annotations

import enum

import torch

from torchfuzz.ir.types import Spec, TensorSpec, contiguous_strides


class Layout(str, enum.Enum):
    """The memory layout class of an operand, stable across sizes."""

    CONTIGUOUS = "contiguous"
    PERMUTED = "permuted"  # a transpose or permutation of a dense tensor
    EXPANDED = "expanded"  # some dim of size > 1 has stride 0
    OFFSET = "offset"  # starts at a storage offset
    STRIDED = "strided"  # anything else: steps, gaps
    SCALAR = "scalar"  # a Python number, not a tensor


def layout_of(spec: Spec) -> Layout:
    """The layout class of a value of this spec (expanded before offset before the rest)."""
    if not isinstance(spec, TensorSpec):
        return Layout.SCALAR
    if any(size > 1 and stride == 0 for size, stride in zip(spec.shape, spec.stride)):
        return Layout.EXPANDED
    if spec.offset:
        return Layout.OFFSET
    if spec.is_contiguous:
        return Layout.CONTIGUOUS
    dims = [(st, sz) for sz, st in zip(spec.shape, spec.stride) if sz > 1]
    dims.sort(key=lambda d: d[0], reverse=True)
    sizes = tuple(sz for _, sz in dims)
    if tuple(st for st, _ in dims) == contiguous_strides(sizes):
        return Layout.PERMUTED
    return Layout.STRIDED


def dtype_class(dtype: torch.dtype) -> str:
    """``float``, ``complex``, ``bool`` or ``int``."""
    if dtype.is_floating_point:
        return "float"
    if dtype.is_complex:
        return "complex"
    return "bool" if dtype == torch.bool else "int"

"""The in-place family: add_, mul_, clamp_, index_put_ and copy_, each writing operand 0.

A node of this family writes its first operand (`mutates=0`), either whole or through a view
of it held by the `view` attribute (a `torchfuzz.ir.write_view.WriteView`: narrow, select,
transpose, diagonal or a stepped slice, with the view's arguments after the tensor). The node's value is the written
operand itself, after the write: later readers and outputs see the base, never the view.

The result keeps the written operand's dtype, so the other operands get dtypes PyTorch can
cast into it (an int tensor cannot `add_` a float one); none of these ops declare type
promotion, so the type-promotion pass never inserts a cast between the op and what it writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import torch

from torchfuzz.ir.ops.base import (
    BOOL_DTYPES,
    FLOAT_DTYPES,
    INT_DTYPES,
    REAL_DTYPES,
    LowerArgs,
    OpDef,
    Proposal,
    SpecSampler,
    Want,
    positional,
)
from torchfuzz.ir.ops.scatter import _fixed, _index_dims_first, _index_put
from torchfuzz.ir.ops.view import signed_dim
from torchfuzz.ir.write_view import VIEW_KEY, ViewKind, WriteView

aten = torch.ops.aten
Shape = tuple[int, ...]
Attrs = tuple[tuple[str, Any], ...]
NUMERIC = FLOAT_DTYPES | INT_DTYPES

# Chance that a proposal writes through a view rather than the whole operand.
P_VIEW = 0.5

# Draws a view's arguments for a base shape (None: the view does not apply to that shape).
ViewSampler = Callable[[SpecSampler, Shape], "tuple[int, ...] | None"]


def _narrow(s: SpecSampler, shape: Shape) -> tuple[int, ...] | None:
    dims = [d for d, n in enumerate(shape) if n >= 1]
    if not dims:
        return None
    d = s.rng.choice(dims)
    start = s.rng.randrange(shape[d])
    return signed_dim(s, d, len(shape)), start, s.rng.randint(1, shape[d] - start)


def _select(s: SpecSampler, shape: Shape) -> tuple[int, ...] | None:
    dims = [d for d, n in enumerate(shape) if n >= 1]
    if not dims:
        return None
    d = s.rng.choice(dims)
    index = s.rng.randrange(shape[d]) - (shape[d] if s.chance(0.3) else 0)
    return signed_dim(s, d, len(shape)), index


def _transpose(s: SpecSampler, shape: Shape) -> tuple[int, ...] | None:
    if len(shape) < 2:
        return None
    d0, d1 = s.rng.sample(range(len(shape)), 2)
    return signed_dim(s, d0, len(shape)), signed_dim(s, d1, len(shape))


def _diagonal(s: SpecSampler, shape: Shape) -> tuple[int, ...] | None:
    if len(shape) < 2 or 0 in shape:
        return None
    d1, d2 = s.rng.sample(range(len(shape)), 2)
    offset = s.rng.randint(-shape[d1] + 1, shape[d2] - 1)
    return offset, signed_dim(s, d1, len(shape)), signed_dim(s, d2, len(shape))


def _stepped(s: SpecSampler, shape: Shape) -> tuple[int, ...] | None:
    dims = [d for d, n in enumerate(shape) if n >= 2]
    if not dims:
        return None
    d = s.rng.choice(dims)
    start = s.rng.randrange(shape[d] - 1)
    end = s.rng.randint(start + 2, shape[d])
    return signed_dim(s, d, len(shape)), start, end, s.rng.randint(2, 3)


# How each view kind's arguments are drawn, in the order `_sample_view` shuffles them.
VIEW_SAMPLERS: Mapping[ViewKind, ViewSampler] = MappingProxyType(
    {
        ViewKind.NARROW: _narrow,
        ViewKind.SELECT: _select,
        ViewKind.TRANSPOSE: _transpose,
        ViewKind.DIAGONAL: _diagonal,
        ViewKind.SLICE: _stepped,
    }
)


def _sample_view(s: SpecSampler, shape: Shape) -> tuple[Attrs, Shape]:
    """A view of `shape` to write through (as attributes) and its shape; often none."""
    if not s.chance(P_VIEW):
        return (), shape
    kinds = list(VIEW_SAMPLERS)
    s.rng.shuffle(kinds)
    for kind in kinds:
        args = VIEW_SAMPLERS[kind](s, shape)
        if args is not None:
            view = WriteView(kind, args)
            return ((VIEW_KEY, view),), view.shape(shape)
    return (), shape


# Operand rule: the written view's shape and dtype -> the other operands and the op's attrs.
OperandRule = Callable[[SpecSampler, Shape, torch.dtype], "tuple[tuple[Want, ...], Attrs] | None"]


def _castable_into(dtype: torch.dtype) -> frozenset[torch.dtype]:
    """Operand dtypes whose promotion with `dtype` PyTorch can write back into `dtype`."""
    return frozenset(d for d in REAL_DTYPES if torch.can_cast(torch.promote_types(dtype, d), dtype))


def _alpha(s: SpecSampler, dtype: torch.dtype) -> Attrs:
    if dtype == torch.bool or not s.chance(0.3):
        return ()
    return (("alpha", s.rng.choice((0.5, -1.0, 2.0) if dtype.is_floating_point else (-1, 2))),)


def _binary(alpha: bool) -> OperandRule:
    """add_/mul_: one tensor broadcasting to the view, of a dtype castable into it."""

    def rule(s: SpecSampler, view: Shape, dtype: torch.dtype):
        other = dtype if s.chance(0.7) else s.dtype(_castable_into(dtype))
        if other is None:
            return None
        return (Want(s.broadcast_to(view), other),), _alpha(s, dtype) if alpha else ()

    return rule


def _clamp(s: SpecSampler, view: Shape, dtype: torch.dtype):
    lo = round(s.rng.uniform(-1.5, 0.5), 2)
    hi = round(lo + s.rng.uniform(0.25, 2.0), 2)
    if not dtype.is_floating_point:
        lo, hi = int(lo) - 1, int(hi) + 1
    return (), (("min", lo), ("max", hi)) if s.chance(0.7) else (("min", lo),)


def _index_put_rule(distinct: bool) -> OperandRule:
    """index_put_: scatter's index_put operands for the view (indices, values of its dtype)."""
    scatter_rule = _index_put(distinct)

    def rule(s: SpecSampler, view: Shape, dtype: torch.dtype):
        found = scatter_rule(s, view, dtype)
        if found is None:
            return None
        operands, attrs = found
        return operands[1:], attrs

    return rule


def _copy(s: SpecSampler, view: Shape, dtype: torch.dtype):
    """copy_: a source broadcasting to the view, of any dtype; but floats never go into
    integers or bools, where rounding noise would become off-by-one differences."""
    sources = REAL_DTYPES if dtype.is_floating_point else INT_DTYPES | BOOL_DTYPES
    source = dtype if s.chance(0.6) else s.dtype(sources)
    if source is None:
        return None
    return (Want(s.broadcast_to(view), source),), ()


def inplace_op(
    name: str,
    target: Callable[..., Any],
    rule: OperandRule,
    allowed: frozenset[torch.dtype],
    args: LowerArgs = positional,
    weight: float = 0.5,
) -> OpDef:
    """An op writing operand 0 (maybe through a view); its value is operand 0, written."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        dtype = want.dtype if want.dtype in allowed else s.dtype(allowed)
        if want.is_scalar or dtype is None:
            return None
        view_attrs, view = _sample_view(s, want.shape)
        found = rule(s, view, dtype)
        if found is None and view_attrs:  # the rule can't use that view: write the whole
            view_attrs, view = (), want.shape
            found = rule(s, view, dtype)
        if found is None:
            return None
        others, attrs = found
        return Proposal((Want(want.shape, dtype), *others), attrs + view_attrs)

    return OpDef(
        name, target, "inplace", propose, args=args, weight=weight, dtypes=allowed, mutates=0
    )


OPS: tuple[OpDef, ...] = (
    inplace_op("add_", aten.add_.Tensor, _binary(alpha=True), REAL_DTYPES, weight=1.0),
    inplace_op("mul_", aten.mul_.Tensor, _binary(alpha=False), REAL_DTYPES, weight=1.0),
    inplace_op("clamp_", aten.clamp_.default, _clamp, NUMERIC, weight=0.6),
    inplace_op(
        "index_put_",
        aten.index_put_.default,
        _index_put_rule(distinct=True),
        REAL_DTYPES,
        _index_dims_first,
        weight=0.4,
    ),
    inplace_op(
        "index_put_accumulate_",
        aten.index_put_.default,
        _index_put_rule(distinct=False),
        REAL_DTYPES,
        _fixed(_index_dims_first, accumulate=True),
        weight=0.4,
    ),
    inplace_op("copy_", aten.copy_.default, _copy, REAL_DTYPES, weight=0.8),
)

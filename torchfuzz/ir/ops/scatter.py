"""The scatter family: scatter, scatter_add/_reduce, index_add/_copy/_fill/_put/_reduce, put,
take, masked_scatter and the functional view updates (select/slice/diagonal/as_strided_scatter).

Writes that may hit one element twice either reduce (accumulate, sum, amax, ...) or take
indices from a `permutation` domain, whose values never repeat: PyTorch leaves colliding plain
writes undefined.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from torchfuzz.ir.ops.base import (
    BOOL_DTYPES,
    REAL_DTYPES,
    LowerArgs,
    OpDef,
    Proposal,
    SpecSampler,
    Want,
    nonempty,
    positional,
)
from torchfuzz.ir.ops.indexing import INDEX_DTYPES, _fill_value
from torchfuzz.ir.ops.view import factor_into, listed, signed_dim
from torchfuzz.ir.types import (
    ANY,
    UNIT,
    Domain,
    contiguous_strides,
    index_domain,
    permutation_domain,
)

aten = torch.ops.aten
Shape = tuple[int, ...]
Attrs = tuple[tuple[str, Any], ...]
# Wanted output (shape, dtype) -> operands and attributes, or None when the op can't make it.
ScatterRule = Callable[[SpecSampler, Shape, torch.dtype], "tuple[tuple[Want, ...], Attrs] | None"]
NO_BOOL = REAL_DTYPES - BOOL_DTYPES
# Reductions per operand dtype: integer means round differently from float ones, so only
# floats take "mean"; bools only take the ones that are logical.
_REDUCES = {True: ("sum", "prod", "mean", "amax", "amin"), False: ("sum", "prod", "amax", "amin")}
_INDEX_REDUCES = {True: ("prod", "mean", "amax", "amin"), False: ("prod", "amax", "amin")}


def _dim_first(inputs: Sequence[Any], attrs: dict[str, Any]) -> tuple[tuple, dict[str, Any]]:
    """`op(self, dim, index, ...)`: the schema puts dim between the first two operands."""
    rest = {k: v for k, v in attrs.items() if k != "dim"}
    return (inputs[0], attrs["dim"], *inputs[1:]), rest


def _fixed(args: LowerArgs, **fixed: Any) -> LowerArgs:
    """A call with some keyword arguments fixed by the op (not attributes the minimizer may
    drop back to their default, which would turn an accumulating write into a colliding one)."""

    def call(inputs: Sequence[Any], attrs: dict[str, Any]) -> tuple[tuple, dict[str, Any]]:
        positional_args, kwargs = args(inputs, attrs)
        return positional_args, {**kwargs, **fixed}

    return call


def _index_dims_first(inputs: Sequence[Any], attrs: dict[str, Any]) -> tuple[tuple, dict]:
    """`index_put(self, [None] * dim + index tensors, values)`: the indices are a list."""
    *indices, values = inputs[1:]
    return (inputs[0], [None] * attrs["dim"] + indices, values), {}


def _indices(shape: Shape, dtype: torch.dtype, bound: int, distinct: bool) -> Want:
    """Indices below `bound`; distinct ones come dense, as an expanded (stride-0) layout would
    repeat them."""
    if distinct:
        return Want(shape, dtype, permutation_domain(bound), contiguous=True)
    return Want(shape, dtype, index_domain(bound))


def _index_shape(s: SpecSampler, target: Shape, d: int, distinct: bool) -> Shape:
    """scatter's index: no larger than `target` in every dim but `d`; with `distinct`, at most
    `target[d]` elements in all (their values must all differ)."""
    if not distinct:
        return tuple(s.dim_size() if i == d else s.rng.randint(1, n) for i, n in enumerate(target))
    shape = [1] * len(target)
    for _ in range(s.rng.randint(0, 4)):
        i = s.rng.randrange(len(target))
        limit = s.max_dim if i == d else target[i]
        if shape[i] < limit and math.prod(shape) // shape[i] * (shape[i] + 1) <= target[d]:
            shape[i] += 1
    return tuple(shape)


def _bounded_shape(s: SpecSampler, limit: int, max_rank: int) -> Shape:
    """A shape of rank up to `max_rank` with at most `limit` elements."""
    shape = [1] * s.rng.randint(0, max_rank)
    for _ in range(s.rng.randint(0, 4) if shape else 0):
        i = s.rng.randrange(len(shape))
        if shape[i] < s.max_dim and math.prod(shape) // shape[i] * (shape[i] + 1) <= limit:
            shape[i] += 1
    return tuple(shape)


def _at_least(s: SpecSampler, shape: Shape) -> Shape:
    """A shape no smaller than `shape` in any dim (usually equal)."""
    return tuple(n if s.chance(0.7) else s.rng.randint(n, max(n, s.max_dim)) for n in shape)


def _scatter(
    distinct: bool = False, src: bool = True, reduces: dict[bool, tuple[str, ...]] | None = None
) -> ScatterRule:
    """scatter/scatter_add/scatter_reduce: `out[.., index[i], ..] = src[i]` along one dim."""

    def rule(s: SpecSampler, want: Shape, dtype: torch.dtype):
        if not want:
            return None
        d = s.rng.randrange(len(want))
        attrs: Attrs = (("dim", signed_dim(s, d, len(want))),)
        domain: Domain = ANY
        if reduces is not None:
            choices = _REDUCES[dtype.is_floating_point] if dtype != torch.bool else ("amax", "amin")
            reduce = s.rng.choice(choices)
            domain = UNIT if reduce == "prod" else ANY  # products of repeated hits stay small
            attrs += (("reduce", reduce), ("include_self", s.chance(0.6)))
        index = _index_shape(s, want, d, distinct)
        operands = [Want(want, dtype, domain), _indices(index, torch.int64, want[d], distinct)]
        if src:
            operands.append(Want(_at_least(s, index), dtype, domain))
        else:
            attrs += (("value", _fill_value(s, dtype)),)
        return tuple(operands), attrs

    return rule


def _indexed(
    kind: str, reduces: dict[bool, tuple[str, ...]] | None = None, alpha: bool = False
) -> ScatterRule:
    """index_add/_copy/_fill/_reduce: a 1-d index picks slices of `self` along one dim;
    `kind` says what is written there: "source" (slices of a tensor) or "value" (a scalar)."""

    def rule(s: SpecSampler, want: Shape, dtype: torch.dtype):
        if not want:
            return None
        rank = len(want)
        d = s.rng.randrange(rank)
        size = want[d]
        distinct = reduces is None and not alpha and kind == "source"  # index_copy
        count = s.rng.randint(1, size) if distinct else s.dim_size()
        index_dtype = torch.int64 if kind == "value" or distinct else s.rng.choice(_INDEX)
        attrs: Attrs = (("dim", signed_dim(s, d, rank)),)
        domain: Domain = ANY
        if reduces is not None:
            reduce = s.rng.choice(reduces[dtype.is_floating_point])
            domain = UNIT if reduce == "prod" else ANY
            attrs += (("reduce", reduce), ("include_self", s.chance(0.6)))
        if alpha and s.chance(0.5):
            attrs += (("alpha", _alpha(s, dtype)),)
        # index_fill's eager kernel lays out a copy of a non-dense `self` unlike its meta.
        written = Want(want, dtype, domain, contiguous=kind == "value")
        operands = [written, _indices((count,), index_dtype, size, distinct)]
        if kind == "value":
            return tuple(operands), attrs + (("value", _fill_value(s, dtype)),)
        source = want[:d] + (count,) + want[d + 1 :]
        return (*operands, Want(source, dtype, domain)), attrs

    return rule


_INDEX = sorted(INDEX_DTYPES, key=str)


def _alpha(s: SpecSampler, dtype: torch.dtype) -> bool | int | float:
    if dtype == torch.bool:
        return True
    if dtype.is_floating_point:
        return s.rng.choice((0.5, -1.0, 2.0))
    return s.rng.choice((2, 3) if dtype == torch.uint8 else (-1, 2))


def _index_put(distinct: bool) -> ScatterRule:
    """`out[:, ..., i0, i1] = values`: 1-2 index tensors of one shape on adjacent dims."""

    @nonempty  # no index into a size-0 dim (in-place index_put_ shares this rule)
    def rule(s: SpecSampler, want: Shape, dtype: torch.dtype):
        if not want:
            return None
        d = s.rng.randrange(len(want))
        count = s.rng.randint(1, min(2, len(want) - d))
        first = want[d]
        rank = s.rng.randint(0, 2)
        index = _bounded_shape(s, first, 2) if distinct else s.shape(rank=rank)
        indexed = want[:d] + index + want[d + count :]
        if len(indexed) > s.max_rank:
            return None
        index_dtype = s.rng.choice(_INDEX)
        indices = [_indices(index, index_dtype, first, distinct)]  # distinct: so are the pairs
        indices += [_indices(index, index_dtype, n, False) for n in want[d + 1 : d + count]]
        values = Want(s.broadcast_to(indexed), dtype)
        return (Want(want, dtype), *indices, values), (("dim", d),)

    return rule


def _put(distinct: bool) -> ScatterRule:
    """put: `out.flatten()[index] = source` with flat indices; source has index's numel."""

    def rule(s: SpecSampler, want: Shape, dtype: torch.dtype):
        numel = math.prod(want)
        index = _bounded_shape(s, numel, 2) if distinct else s.shape(rank=s.rng.randint(0, 2))
        source = factor_into(s, math.prod(index), 3) or index
        indices = _indices(index, torch.int64, numel, distinct)
        return (Want(want, dtype), indices, Want(source, dtype)), ()

    return rule


def _take(s: SpecSampler, want: Shape, dtype: torch.dtype):
    source = s.shape()
    return (Want(source, dtype), Want(want, torch.int64, index_domain(math.prod(source)))), ()


def _masked_scatter(s: SpecSampler, want: Shape, dtype: torch.dtype):
    # The source must have at least as many elements as the mask has true ones.
    source = factor_into(s, math.prod(want), s.max_rank) or want
    mask = Want(s.broadcast_to(want), torch.bool)
    return (Want(want, dtype), mask, Want(source, dtype)), ()


def _select_scatter(s: SpecSampler, want: Shape, dtype: torch.dtype):
    if not want:
        return None
    d = s.rng.randrange(len(want))
    index = s.rng.randrange(want[d]) - (want[d] if s.chance(0.3) else 0)
    src = want[:d] + want[d + 1 :]
    attrs = (("dim", signed_dim(s, d, len(want))), ("index", index))
    return (Want(want, dtype), Want(src, dtype)), attrs


def _slice_scatter(s: SpecSampler, want: Shape, dtype: torch.dtype):
    if not want:
        return None
    d = s.rng.randrange(len(want))
    n = want[d]
    step = s.rng.randint(1, 3)
    start = s.rng.randrange(n)
    end = s.rng.randint(start + 1, n)
    length = len(range(start, end, step))
    src = want[:d] + (length,) + want[d + 1 :]
    end_attr = None if end == n and s.chance(0.5) else end
    attrs = (("dim", signed_dim(s, d, len(want))), ("start", start), ("end", end_attr))
    return (Want(want, dtype), Want(src, dtype)), attrs + (("step", step),)


def _diagonal_scatter(s: SpecSampler, want: Shape, dtype: torch.dtype):
    if len(want) < 2:
        return None
    d1, d2 = s.rng.sample(range(len(want)), 2)
    offset = s.rng.randint(-want[d1] + 1, want[d2] - 1)
    length = min(want[d1] + min(offset, 0), want[d2] - max(offset, 0))
    src = tuple(n for i, n in enumerate(want) if i not in (d1, d2)) + (length,)
    r = len(want)
    attrs = (("offset", offset), ("dim1", signed_dim(s, d1, r)), ("dim2", signed_dim(s, d2, r)))
    return (Want(want, dtype), Want(src, dtype)), attrs


def _as_strided_scatter(s: SpecSampler, want: Shape, dtype: torch.dtype):
    """Writes `src` through a strided window of a dense `self` that never hits an element twice:
    a box of the tensor, some dims stepped, in a shuffled dim order."""
    if not want:
        return None
    strides = contiguous_strides(want)
    size, stride, offset = [], [], 0
    for n, st in zip(want, strides):
        step = s.rng.randint(1, 2)
        count = s.rng.randint(1, len(range(0, n, step)))
        start = s.rng.randint(0, n - 1 - (count - 1) * step)
        offset += start * st
        if count > 1 or s.chance(0.3):
            size.append(count)
            stride.append(st * step)
    order = list(range(len(size)))
    s.rng.shuffle(order)
    size, stride = [size[i] for i in order], [stride[i] for i in order]
    attrs = (("size", tuple(size)), ("stride", tuple(stride)), ("storage_offset", offset))
    return (Want(want, dtype, contiguous=True), Want(tuple(size), dtype)), attrs


def scatter_op(
    name: str,
    target: Callable,
    rule: ScatterRule,
    args: LowerArgs = positional,
    allowed: frozenset[torch.dtype] = REAL_DTYPES,
    weight: float = 0.5,
) -> OpDef:
    """An op writing into a copy of `self` (operand 0), whose shape and dtype the result has."""

    @nonempty  # index domains into a size-0 dim have no valid value
    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        dtype = want.dtype if want.dtype in allowed else s.dtype(allowed)
        found = None if want.is_scalar or dtype is None else rule(s, want.shape, dtype)
        return None if found is None else Proposal(*found)

    return OpDef(name, target, "scatter", propose, args=args, weight=weight, dtypes=allowed)


OPS: tuple[OpDef, ...] = (
    scatter_op("scatter", aten.scatter.src, _scatter(distinct=True), _dim_first),
    scatter_op("scatter_value", aten.scatter.value, _scatter(src=False), _dim_first, weight=0.4),
    scatter_op("scatter_add", aten.scatter_add.default, _scatter(), _dim_first),
    scatter_op("scatter_reduce", aten.scatter_reduce.two, _scatter(reduces=_REDUCES), _dim_first),
    scatter_op("index_add", aten.index_add.default, _indexed("source", alpha=True), _dim_first),
    scatter_op("index_copy", aten.index_copy.default, _indexed("source"), _dim_first, weight=0.4),
    scatter_op("index_fill", aten.index_fill.int_Scalar, _indexed("value"), _dim_first, weight=0.4),
    scatter_op(
        "index_reduce",
        aten.index_reduce.default,
        _indexed("source", _INDEX_REDUCES),
        _dim_first,
        NO_BOOL,
        weight=0.4,
    ),
    scatter_op(
        "index_put", aten.index_put.default, _index_put(True), _index_dims_first, weight=0.4
    ),
    scatter_op(
        "index_put_accumulate",
        aten.index_put.default,
        _index_put(False),
        _fixed(_index_dims_first, accumulate=True),
        weight=0.4,
    ),
    scatter_op("put", aten.put.default, _put(True), weight=0.3),
    scatter_op(
        "put_accumulate",
        aten.put.default,
        _put(False),
        _fixed(positional, accumulate=True),
        weight=0.3,
    ),
    scatter_op("take", aten.take.default, _take, weight=0.4),
    scatter_op("masked_scatter", aten.masked_scatter.default, _masked_scatter, weight=0.4),
    scatter_op("select_scatter", aten.select_scatter.default, _select_scatter, weight=0.4),
    scatter_op("slice_scatter", aten.slice_scatter.default, _slice_scatter, weight=0.4),
    scatter_op("diagonal_scatter", aten.diagonal_scatter.default, _diagonal_scatter, weight=0.3),
    scatter_op(
        "as_strided_scatter",
        aten.as_strided_scatter.default,
        _as_strided_scatter,
        listed("size", "stride"),
        weight=0.3,
    ),
)

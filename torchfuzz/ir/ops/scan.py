"""Cumulative ops (cumsum, cummax, ...), sorting and selection (sort, topk, median, max.dim, ...)
and reductions beyond the core set (std, var_mean, logsumexp, norm, any/all, ...).

Ops returning (values, indices) pick one element through an `output` attribute: values keep
the operand's dtype and are continuous in it; int64 indices are taken only from a `distinct`
float32/64 operand (a fresh input without ties), so rounding can never decide them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from torchfuzz.ir.ops.base import (
    BOOL_DTYPES,
    FLOAT_DTYPES,
    REAL_DTYPES,
    LowerArgs,
    OpDef,
    Proposal,
    SpecSampler,
    Trait,
    Want,
    declining_empty,
    positional,
)
from torchfuzz.ir.ops.reduction import ACCUMULATING, DtypeRule, reduced_source, reduction
from torchfuzz.ir.ops.view import listed, signed_dim
from torchfuzz.ir.types import ANY, DISTINCT, SMALL, Domain

aten = torch.ops.aten
Shape = tuple[int, ...]
Attrs = tuple[tuple[str, Any], ...]
# Wanted result shape -> (operand shape, attrs, elements each result element depends on).
ShapeRule = Callable[[SpecSampler, Shape], "tuple[Shape, Attrs, int] | None"]
# Attributes that depend on that element count (Bessel's correction, kthvalue's k).
ExtraAttrs = Callable[[SpecSampler, int], Attrs]
REDUCTION = frozenset({Trait.REDUCTION})

# Integer-valued distinct data (up to +-numel/2) is exact in these, so indices have no ties.
INDEXED = frozenset({torch.float32, torch.float64})
ORDERED = REAL_DTYPES - BOOL_DTYPES  # topk, kthvalue and median reject bool
# any/all of uint8 return uint8 (for backward compatibility); every other dtype gives bool.
TRUTH = REAL_DTYPES - {torch.uint8}
# Distinct data overflows int8 and bfloat16 (ties again), and mode needs it for its values too.
MODE = INDEXED | {torch.int64, torch.int32}
NORM_ORDERS = (1, 2, 3, math.inf)
# mean's `dtype=` accumulates a float in a wider float.
WIDER = {torch.float64: FLOAT_DTYPES, torch.float32: FLOAT_DTYPES - {torch.float64}}


@dataclass(frozen=True, slots=True)
class Pick:
    """The operand for a wanted result dtype: its dtype and domain, the element of a tuple
    result to take, and attributes that go with the dtype (e.g. `dtype=`)."""

    dtype: torch.dtype
    domain: Domain = ANY
    output: int = 0
    attrs: Attrs = ()


@dataclass(frozen=True, slots=True)
class OperandRule:
    """Picks the operand for a wanted result dtype; `dtypes` are all the dtypes it can pick."""

    pick: Callable[[SpecSampler, torch.dtype], Pick | None]
    dtypes: frozenset[torch.dtype]


def keeping(allowed: frozenset[torch.dtype], domain: Domain = ANY) -> OperandRule:
    """The result has the operand's dtype."""

    def pick(s: SpecSampler, want: torch.dtype) -> Pick | None:
        dtype = want if want in allowed else s.dtype(allowed)
        return None if dtype is None else Pick(dtype, domain)

    return OperandRule(pick, allowed)


def valued(allowed: frozenset[torch.dtype], domain: Domain = ANY) -> OperandRule:
    """(values, indices) results: values keep the operand's dtype (0); wanted int64 may also be
    the indices (1) of a distinct float32/64 operand."""
    values = keeping(allowed, domain)

    def pick(s: SpecSampler, want: torch.dtype) -> Pick | None:
        dtype = s.dtype(INDEXED & allowed) if want == torch.int64 and s.chance(0.6) else None
        return values.pick(s, want) if dtype is None else Pick(dtype, DISTINCT, 1)

    return OperandRule(pick, allowed)


def either(allowed: frozenset[torch.dtype]) -> OperandRule:
    """Pairs of results of the operand's dtype (min and max, var and mean): either one."""
    values = keeping(allowed)

    def pick(s: SpecSampler, want: torch.dtype) -> Pick | None:
        picked = values.pick(s, want)
        return None if picked is None else Pick(picked.dtype, output=s.rng.randrange(2))

    return OperandRule(pick, allowed)


def dtype_rule(rule: DtypeRule, domain: Domain = ANY) -> OperandRule:
    """A reduction's dtype rule (sum's accumulation, `dtype=`) with a data domain."""

    def pick(s: SpecSampler, want: torch.dtype) -> Pick | None:
        dtype, attrs = rule.pick(s, want)
        return None if dtype is None else Pick(dtype, domain, attrs=attrs)

    return OperandRule(pick, rule.dtypes)


def kept(allowed: frozenset[torch.dtype]) -> DtypeRule:
    """The DtypeRule of `reduction` for results of the operand's dtype."""

    def pick(s: SpecSampler, want: torch.dtype) -> tuple[torch.dtype | None, Attrs]:
        return (want if want in allowed else s.dtype(allowed)), ()

    return DtypeRule(pick, allowed)


def fixed(allowed: frozenset[torch.dtype]) -> DtypeRule:
    """For results of one dtype (bool for any/all, int64 counts): any allowed operand dtype."""

    def pick(s: SpecSampler, want: torch.dtype) -> tuple[torch.dtype | None, Attrs]:
        return s.dtype(allowed), ()

    return DtypeRule(pick, allowed)


# Shape rules.
def _along(s: SpecSampler, want: Shape) -> tuple[Shape, Attrs, int]:
    """Scans and sorts: the result has the operand's shape; they run along one dim."""
    rank = max(len(want), 1)  # a 0-d tensor has dim 0 (or -1)
    d = s.rng.randrange(rank)
    return want, (("dim", signed_dim(s, d, rank)),), want[d] if want else 1


def _first_dim(s: SpecSampler, want: Shape) -> tuple[Shape, Attrs, int]:
    return want, (), want[0] if want else 1


def _dims(count_max: int | None = None, keeps: bool = True) -> ShapeRule:
    """Reductions over one int `dim` (count_max None) or an `int[]` of up to that many dims,
    keeping them as size 1 or not (`keeps`: the op has a `keepdim` argument)."""

    def rule(s: SpecSampler, want: Shape) -> tuple[Shape, Attrs, int] | None:
        ones = sum(size == 1 for size in want) if keeps else 0
        keepdim = ones > 0 and (s.chance(0.4) or len(want) >= s.max_rank)
        room = ones if keepdim else s.max_rank - len(want)
        if room < 1:
            return None
        if count_max is None and not want and s.chance(0.1):  # a 0-d tensor reduces over dim 0
            return (), (("dim", s.rng.choice((0, -1))), ("keepdim", keepdim)), 1
        count = 1 if count_max is None else s.rng.randint(1, min(room, count_max))
        source, dims = reduced_source(s, want, count, keepdim)
        signed = [signed_dim(s, d, len(source)) for d in dims]
        s.rng.shuffle(signed)
        dim = signed[0] if count_max is None else tuple(signed)
        attrs = (("dim", dim), ("keepdim", keepdim)) if keeps else (("dim", dim),)
        return source, attrs, math.prod(source[d] for d in dims)

    return rule


def _whole(s: SpecSampler, want: Shape) -> tuple[Shape, Attrs, int] | None:
    """Reductions of the whole tensor to a 0-d one."""
    if want != ():
        return None
    source = s.shape(min_rank=1)
    return source, (), math.prod(source)


def _whole_index(s: SpecSampler, want: Shape) -> tuple[Shape, Attrs, int] | None:
    """argmax/argmin without a dim: a flat index, 0-d or (keepdim) all dims of size 1."""
    if any(size != 1 for size in want) or len(want) > s.max_rank:
        return None
    keepdim = bool(want) or s.chance(0.2)
    source = tuple(s.dim_size() for _ in want) if keepdim else s.shape(min_rank=1)
    return source, (("dim", None), ("keepdim", keepdim)), math.prod(source)


def _top(s: SpecSampler, want: Shape) -> tuple[Shape, Attrs, int] | None:
    """topk: the wanted size of one dim is k, out of at least as many."""
    rank = max(len(want), 1)
    d = s.rng.randrange(rank)
    k = want[d] if want else 1
    n = s.rng.randint(k, max(k, s.max_dim)) if want else 1
    source = want[:d] + (n,) + want[d + 1 :] if want else ()
    attrs = (("k", k), ("dim", signed_dim(s, d, rank)), ("largest", s.chance(0.5)))
    return source, (*attrs, ("sorted", True)), n  # unsorted order is left to the kernel


def _small_whole(s: SpecSampler, want: Shape) -> tuple[Shape, Attrs, int] | None:
    """A whole-tensor product of at most 16 elements, so it stays representable."""
    if want != ():
        return None
    source = tuple(s.rng.randint(1, 4) for _ in range(s.rng.randint(1, 2)))
    return source, (), math.prod(source)


# Attributes that depend on the element count.
def _none(s: SpecSampler, n: int) -> Attrs:
    return ()


def _correction(s: SpecSampler, n: int) -> Attrs:
    # Bessel's correction over a single element divides by zero.
    return (("correction", s.rng.choice((0, 1)) if n > 1 else 0),)


def _kth(s: SpecSampler, n: int) -> Attrs:
    return (("k", s.rng.randint(1, n)),)


def _sorting(s: SpecSampler, n: int) -> Attrs:
    return (("stable", s.rng.choice((None, False, True))), ("descending", s.chance(0.5)))


def _arg_sorting(s: SpecSampler, n: int) -> Attrs:
    return (("stable", s.chance(0.5)), ("descending", s.chance(0.5)))  # `stable` is not optional


def _norm_order(s: SpecSampler, n: int) -> Attrs:
    return (("ord", s.rng.choice(NORM_ORDERS)),)


def op(
    name: str,
    target: Callable,
    family: str,
    rule: OperandRule,
    shape: ShapeRule,
    extra: ExtraAttrs = _none,
    *,
    pair: bool = False,
    args: LowerArgs = positional,
    traits: frozenset[Trait] = frozenset(),
    weight: float = 1.0,
    dense: bool = False,
) -> OpDef:
    """An op of one tensor operand; `pair` ops return (values, indices) or another pair and
    take the element of their rule's pick; `dense` ops get a contiguous operand."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        picked = None if want.is_scalar else rule.pick(s, want.dtype)
        found = None if picked is None else shape(s, want.shape)
        if picked is None or found is None:
            return None
        source, attrs, count = found
        attrs = (*attrs, *picked.attrs, *extra(s, count))
        if pair:
            attrs = (*attrs, ("output", picked.output))
        return Proposal((Want(source, picked.dtype, picked.domain, dense),), attrs)

    return OpDef(
        name,
        target,
        family,
        propose,
        traits,
        args=args,
        select="output" if pair else None,
        weight=weight,
        dtypes=rule.dtypes,
    )


def _widened(s: SpecSampler, want: torch.dtype) -> tuple[torch.dtype | None, Attrs]:
    return (s.dtype(WIDER[want]), (("dtype", want),)) if want in WIDER else (None, ())


# var_mean/std_mean: (var or std, mean) over an `int[]` of dims.
MOMENTS: dict[str, Any] = dict(extra=_correction, pair=True, args=listed("dim"), weight=0.5)


def scan(name: str, target: Callable, rule: OperandRule, **kw: Any) -> OpDef:
    return op(name, target, "scan", rule, _along, **kw)


def selection(name: str, target: Callable, rule: OperandRule, shape: ShapeRule, **kw: Any) -> OpDef:
    """Sorting and selecting ops: (values, indices) or (min, max) pairs, one element taken."""
    return op(name, target, "sort", rule, shape, pair=True, **kw)


def reducing(name: str, target: Callable, rule: OperandRule, shape: ShapeRule, **kw: Any) -> OpDef:
    return op(name, target, "reduction", rule, shape, traits=REDUCTION, **kw)


REAL, FLOATS = REAL_DTYPES, FLOAT_DTYPES
OPS: tuple[OpDef, ...] = (
    scan("cumsum", aten.cumsum.default, dtype_rule(ACCUMULATING)),
    scan("cumprod", aten.cumprod.default, dtype_rule(ACCUMULATING, SMALL), weight=0.5),
    scan("cummax", aten.cummax.default, valued(REAL), pair=True, weight=0.6),
    scan("cummin", aten.cummin.default, valued(REAL), pair=True, weight=0.6),
    scan("logcumsumexp", aten.logcumsumexp.default, keeping(FLOATS), weight=0.5),
    selection("sort", aten.sort.stable, valued(REAL), _along, extra=_sorting),
    op("argsort", aten.argsort.stable, "sort", keeping(INDEXED, DISTINCT), _along, _arg_sorting),
    op("msort", aten.msort.default, "sort", keeping(REAL), _first_dim, weight=0.4),
    selection("topk", aten.topk.default, valued(ORDERED), _top, weight=0.8),
    selection("kthvalue", aten.kthvalue.default, valued(ORDERED), _dims(), extra=_kth, weight=0.6),
    # median.dim/nanmedian.dim read garbage from an expanded (stride-0) operand in eager
    # (torch 2.13 CPU: median(x.expand(4, 3), 0) != median(x.expand(4, 3).contiguous(), 0)).
    selection("median", aten.median.dim, valued(ORDERED), _dims(), weight=0.6, dense=True),
    selection("nanmedian", aten.nanmedian.dim, valued(ORDERED), _dims(), weight=0.4, dense=True),
    selection("mode", aten.mode.default, valued(MODE, DISTINCT), _dims(), weight=0.4),
    selection("max_dim", aten.max.dim, valued(REAL), _dims()),
    selection("min_dim", aten.min.dim, valued(REAL), _dims()),
    selection("aminmax", aten.aminmax.default, either(REAL), _dims(), weight=0.6),
    selection("aminmax_all", aten.aminmax.default, either(REAL), _whole, weight=0.8),
    reducing("median_all", aten.median.default, keeping(ORDERED), _whole, weight=0.8),
    reducing("nanmedian_all", aten.nanmedian.default, keeping(ORDERED), _whole, weight=0.6),
    reduction("std", aten.std.correction, kept(FLOATS), extra=_correction, weight=0.6),
    reducing("var_mean", aten.var_mean.correction, either(FLOATS), _dims(4), **MOMENTS),
    reducing("std_mean", aten.std_mean.correction, either(FLOATS), _dims(4), **MOMENTS),
    reduction("logsumexp", aten.logsumexp.default, kept(FLOATS), weight=0.6),
    # The inf norm of an empty tensor has no value: no empty operands.
    declining_empty(
        reduction(
            "norm", aten.linalg_vector_norm.default, kept(FLOATS), extra=_norm_order, weight=0.6
        )
    ),
    reduction("any", aten.any.dims, fixed(TRUTH), weight=0.6),
    reduction("all", aten.all.dims, fixed(TRUTH), weight=0.6),
    reduction("any_all", aten.any.default, fixed(TRUTH), "all"),
    reduction("all_all", aten.all.default, fixed(TRUTH), "all"),
    reducing(
        "count_nonzero",
        aten.count_nonzero.dim_IntList,
        dtype_rule(fixed(REAL)),
        _dims(4, keeps=False),
        args=listed("dim"),
        weight=0.5,
    ),
    reduction("nansum", aten.nansum.default, ACCUMULATING, weight=0.5),
    reduction("mean_dtype", aten.mean.dim, DtypeRule(_widened, FLOATS), weight=0.5),
    reduction("mean_all", aten.mean.default, kept(FLOATS), "all", weight=0.8),
    reducing(
        "prod_all", aten.prod.default, dtype_rule(ACCUMULATING, SMALL), _small_whole, weight=0.8
    ),
    reducing(
        "argmax_all", aten.argmax.default, keeping(INDEXED, DISTINCT), _whole_index, weight=0.8
    ),
    reducing(
        "argmin_all", aten.argmin.default, keeping(INDEXED, DISTINCT), _whole_index, weight=0.8
    ),
)

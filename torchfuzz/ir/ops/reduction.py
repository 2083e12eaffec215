"""Reductions over some dims (sum, mean, amax, var, argmax, ...) and over the whole tensor."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from torchfuzz.ir.ops.base import (
    BOOL_DTYPES,
    COMPLEX_DTYPES,
    FLOAT_DTYPES,
    INT_DTYPES,
    REAL_DTYPES,
    LowerArgs,
    OpDef,
    Proposal,
    SpecSampler,
    Trait,
    Want,
    positional,
)
from torchfuzz.ir.ops.view import listed, signed_dim
from torchfuzz.ir.types import ANY, DISTINCT, SMALL, Domain

aten = torch.ops.aten
Shape = tuple[int, ...]
Attrs = tuple[tuple[str, Any], ...]
DtypePick = Callable[[SpecSampler, torch.dtype], "tuple[torch.dtype | None, Attrs]"]
# Extra attributes that depend on how many elements each output element reduces.
ExtraAttrs = Callable[[SpecSampler, int], Attrs]
REDUCTION = frozenset({Trait.REDUCTION})
INEXACT = FLOAT_DTYPES | COMPLEX_DTYPES
# Accumulating a narrower dtype into a wider one through the `dtype=` argument.
_WIDENING = {
    torch.float64: FLOAT_DTYPES,
    torch.float32: frozenset({torch.float32, torch.float16, torch.bfloat16}),
    torch.int32: frozenset({torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool}),
}


@dataclass(frozen=True, slots=True)
class DtypeRule:
    """Picks the operand dtype (and maybe a `dtype=` attribute) for a wanted result dtype;
    `dtypes` are all the operand dtypes it can pick."""

    pick: DtypePick
    dtypes: frozenset[torch.dtype]


def _accumulating(s: SpecSampler, want: torch.dtype) -> tuple[torch.dtype | None, Attrs]:
    """sum/prod: integers and bools accumulate into int64 unless `dtype=` says otherwise."""
    if want in _WIDENING and s.chance(0.2):
        return s.dtype(_WIDENING[want]), (("dtype", want),)
    if want == torch.int64:
        return (want if s.chance(0.6) else s.dtype(INT_DTYPES | BOOL_DTYPES)), ()
    return (want if want in FLOAT_DTYPES else s.dtype(REAL_DTYPES)), ()


def _accumulating_complex(s: SpecSampler, want: torch.dtype) -> tuple[torch.dtype | None, Attrs]:
    """sum/prod of complex64 too (nansum has no complex kernel)."""
    return (want, ()) if want in COMPLEX_DTYPES else _accumulating(s, want)


def _keeping(allowed: frozenset[torch.dtype]) -> DtypeRule:
    """The result has the operand's dtype."""

    def pick(s: SpecSampler, want: torch.dtype) -> tuple[torch.dtype | None, Attrs]:
        return (want if want in allowed else s.dtype(allowed)), ()

    return DtypeRule(pick, allowed)


_INDEXED = frozenset({torch.float32, torch.float64})


def _indexing(s: SpecSampler, want: torch.dtype) -> tuple[torch.dtype | None, Attrs]:
    """argmax/argmin give int64 indices; float32/64 have room for DISTINCT data without ties."""
    return s.dtype(_INDEXED), ()


# sum/prod take every real dtype: see the three branches of `_accumulating`.
ACCUMULATING = DtypeRule(_accumulating, REAL_DTYPES)
C_ACCUMULATING = DtypeRule(_accumulating_complex, REAL_DTYPES | COMPLEX_DTYPES)
INDEXING = DtypeRule(_indexing, _INDEXED)


def _no_extra(s: SpecSampler, reduced: int) -> Attrs:
    return ()


def _correction(s: SpecSampler, reduced: int) -> Attrs:
    # Bessel's correction over a single element divides by zero.
    return (("correction", s.rng.choice((0, 1)) if reduced > 1 else 0),)


def reduced_source(
    s: SpecSampler, want: Shape, count: int, keepdim: bool
) -> tuple[Shape, list[int]]:
    """An operand shape that reduces to `want` over `count` dims, and those dims."""
    if keepdim:
        dims = sorted(s.rng.sample([i for i, size in enumerate(want) if size == 1], count))
        return tuple(s.dim_size() if i in dims else size for i, size in enumerate(want)), dims
    rank = len(want) + count
    dims = sorted(s.rng.sample(range(rank), count))
    kept = iter(want)
    return tuple(s.dim_size() if i in dims else next(kept) for i in range(rank)), dims


def reduction(
    name: str,
    target: Callable,
    dtype_rule: DtypeRule,
    dims: str = "list",
    domain: Domain = ANY,
    extra: ExtraAttrs = _no_extra,
    weight: float = 1.0,
) -> OpDef:
    """A reduction over `dims`: "list" (an `int[]` attribute), "one" (an `int`) or "all"."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        dtype, attrs = (None, ()) if want.is_scalar else dtype_rule.pick(s, want.dtype)
        if dtype is None or dims == "all" and want.shape != ():
            return None
        if dims == "all":
            source = s.shape(min_rank=1)
            return Proposal((Want(source, dtype, domain),), attrs + extra(s, math.prod(source)))
        rank = len(want.shape)
        ones = sum(size == 1 for size in want.shape)
        keepdim = ones > 0 and s.chance(0.4)
        if not keepdim and rank == 0 and s.chance(0.1):  # a 0-d tensor reduces over dim 0
            source, reduced = (), [0]
        else:
            most = ones if keepdim else max(1, s.max_rank - rank)
            count = 1 if dims == "one" else s.rng.randint(1, most)
            source, reduced = reduced_source(s, want.shape, count, keepdim)
        numel = math.prod(source[d] for d in reduced) if source else 1
        signed = [signed_dim(s, d, max(len(source), 1)) for d in reduced]
        s.rng.shuffle(signed)
        dim_attr = tuple(signed) if dims == "list" else signed[0]
        attrs = (("dim", dim_attr), ("keepdim", keepdim), *attrs, *extra(s, numel))
        return Proposal((Want(source, dtype, domain),), attrs)

    args: LowerArgs = listed("dim") if dims == "list" else positional
    return OpDef(
        name,
        target,
        "reduction",
        propose,
        REDUCTION,
        args=args,
        weight=weight,
        dtypes=dtype_rule.dtypes,
    )


OPS: tuple[OpDef, ...] = (
    reduction("sum", aten.sum.dim_IntList, C_ACCUMULATING, weight=1.5),
    reduction("mean", aten.mean.dim, _keeping(INEXACT)),
    reduction("amax", aten.amax.default, _keeping(REAL_DTYPES)),
    reduction("amin", aten.amin.default, _keeping(REAL_DTYPES)),
    reduction("prod", aten.prod.dim_int, C_ACCUMULATING, "one", SMALL, weight=0.5),
    reduction("var", aten.var.correction, _keeping(FLOAT_DTYPES), extra=_correction, weight=0.7),
    reduction("argmax", aten.argmax.default, INDEXING, "one", DISTINCT, weight=0.7),
    reduction("argmin", aten.argmin.default, INDEXING, "one", DISTINCT, weight=0.7),
    reduction("sum_all", aten.sum.default, C_ACCUMULATING, "all", weight=0.5),
    reduction("max_all", aten.max.default, _keeping(REAL_DTYPES), "all", weight=0.5),
)

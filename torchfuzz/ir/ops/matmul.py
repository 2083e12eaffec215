"""Matrix products: mm, bmm, addmm, baddbmm, matmul (with broadcasting) and linear."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from torchfuzz.ir.ops.base import COMPLEX_DTYPES, FLOAT_DTYPES, OpDef, Proposal, SpecSampler, Want

aten = torch.ops.aten
PRODUCT_DTYPES = FLOAT_DTYPES | COMPLEX_DTYPES
Shape = tuple[int, ...]
# Wanted output shape -> operand shapes and attributes (None: this op can't make it).
ShapeRule = Callable[
    [SpecSampler, Shape], "tuple[tuple[Shape, ...], tuple[tuple[str, Any], ...]] | None"
]


def _scaling(s: SpecSampler) -> tuple[tuple[str, Any], ...]:
    """addmm-style `beta * self + alpha * (a @ b)`, usually with the default factors."""
    if not s.chance(0.4):
        return ()
    return (("beta", s.rng.choice((0.0, 0.5, 2.0))), ("alpha", s.rng.choice((0.5, -1.0, 2.0))))


def _mm(s: SpecSampler, want: Shape):
    if len(want) != 2:
        return None
    n, m = want
    k = s.dim_size()
    return ((n, k), (k, m)), ()


def _bmm(s: SpecSampler, want: Shape):
    if len(want) != 3:
        return None
    b, n, m = want
    k = s.dim_size()
    return ((b, n, k), (b, k, m)), ()


def _addmm(s: SpecSampler, want: Shape):
    found = _mm(s, want)
    if found is None:
        return None
    return (s.broadcast_to(want), *found[0]), _scaling(s)


def _baddbmm(s: SpecSampler, want: Shape):
    found = _bmm(s, want)
    if found is None:
        return None
    return (s.broadcast_to(want), *found[0]), _scaling(s)


def _matmul(s: SpecSampler, want: Shape):
    """torch.matmul's cases: dot, vector-matrix, matrix-vector and broadcast batched products."""
    k = s.dim_size()
    if not want:
        return ((k,), (k,)), ()
    if len(want) == 1 or s.chance(0.2):
        # A vector operand contributes no output dim.
        if len(want) == 1 and s.chance(0.5):
            return ((k,), (k, want[0])), ()
        if s.chance(0.5) or len(want) == 1:
            return (want + (k,), (k,)), ()
        return ((k,), want[:-1] + (k, want[-1])), ()
    *batch, n, m = want
    full = tuple(batch)
    other = s.broadcast_to(full)
    lhs, rhs = (full, other) if s.chance(0.5) else (other, full)
    return (lhs + (n, k), rhs + (k, m)), ()


def _linear(s: SpecSampler, want: Shape):
    if not want:
        return None
    k = s.dim_size()
    out = want[-1]
    shapes: tuple[Shape, ...] = (want[:-1] + (k,), (out, k))
    return (shapes + ((out,),) if s.chance(0.6) else shapes), ()


def product(name: str, target: Callable, rule: ShapeRule, weight: float = 1.0) -> OpDef:
    """A matrix product: every operand has the same float or complex dtype (these ops do not
    promote)."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        dtype = want.dtype if want.dtype in PRODUCT_DTYPES else s.dtype(PRODUCT_DTYPES)
        found = None if want.is_scalar or dtype is None else rule(s, want.shape)
        if found is None:
            return None
        shapes, attrs = found
        return Proposal(tuple(Want(shape, dtype) for shape in shapes), attrs)

    return OpDef(name, target, "matmul", propose, weight=weight, dtypes=PRODUCT_DTYPES)


OPS: tuple[OpDef, ...] = (
    product("mm", aten.mm.default, _mm),
    product("bmm", aten.bmm.default, _bmm),
    product("addmm", aten.addmm.default, _addmm),
    product("baddbmm", aten.baddbmm.default, _baddbmm, weight=0.5),
    product("matmul", aten.matmul.default, _matmul, weight=1.5),
    product("linear", aten.linear.default, _linear),
)

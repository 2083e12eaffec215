"""Unary, binary and ternary pointwise ops: math, comparison, logical, bitwise, where, clamp."""

from __future__ import annotations

from collections.abc import Callable

import torch

from torchfuzz.ir.ops.base import (
    BOOL_DTYPES,
    COMPLEX_DTYPES,
    FLOAT_DTYPES,
    INT_DTYPES,
    REAL_DTYPES,
    SIGNED_NUMERIC,
    OpDef,
    Promotion,
    Proposal,
    SpecSampler,
    Trait,
    Want,
)
from torchfuzz.ir.types import ANY, POSITIVE, SMALL, Domain

aten = torch.ops.aten
P = Promotion
NUMERIC = FLOAT_DTYPES | INT_DTYPES
INTEGRAL = INT_DTYPES | BOOL_DTYPES
# complex64 where PyTorch has the op; see types.Domain for complex data in each domain.
C_NUMERIC = NUMERIC | COMPLEX_DTYPES
C_SIGNED = SIGNED_NUMERIC | COMPLEX_DTYPES
C_ALL = REAL_DTYPES | COMPLEX_DTYPES
C_FLOAT = FLOAT_DTYPES | COMPLEX_DTYPES
ELEMENTWISE = frozenset({Trait.ELEMENTWISE})


def operand_dtype(
    s: SpecSampler, want: torch.dtype, allowed: frozenset[torch.dtype]
) -> torch.dtype | None:
    """Mostly the wanted dtype (no cast needed), sometimes another allowed one (mixed types)."""
    if want in allowed and not s.chance(0.15):
        return want
    return s.dtype(allowed)


def mixable(*dtypes: torch.dtype | None) -> bool:
    """Whether operands of these dtypes may be mixed: a 0-d complex64 operand promotes a
    float16 one to complex32, which the IR does not carry."""
    return not (torch.float16 in dtypes and any(d is not None and d.is_complex for d in dtypes))


def unary(
    name: str,
    target: Callable,
    promotion: Promotion,
    allowed: frozenset[torch.dtype] = REAL_DTYPES,
    domain: Domain = ANY,
    weight: float = 1.0,
) -> OpDef:
    """An elementwise op of one tensor."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        dtype = None if want.is_scalar else operand_dtype(s, want.dtype, allowed)
        if dtype is None:
            return None
        return Proposal((Want(want.shape, dtype, domain),))

    return OpDef(
        name, target, "pointwise", propose, ELEMENTWISE, promotion, weight=weight, dtypes=allowed
    )


def binary(
    name: str,
    target: Callable,
    promotion: Promotion,
    allowed: frozenset[torch.dtype] = REAL_DTYPES,
    domains: tuple[Domain, Domain] = (ANY, ANY),
    weight: float = 1.0,
) -> OpDef:
    """An elementwise op of two broadcasting tensors."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        if want.is_scalar:
            return None
        lhs = operand_dtype(s, want.dtype, allowed)
        rhs = lhs if s.chance(0.7) else s.dtype(allowed)
        if lhs is None or rhs is None:
            return None
        rhs = rhs if mixable(lhs, rhs) else lhs
        shapes = [want.shape, s.broadcast_to(want.shape)]
        if s.chance(0.5):
            shapes.reverse()
        return Proposal((Want(shapes[0], lhs, domains[0]), Want(shapes[1], rhs, domains[1])))

    return OpDef(
        name, target, "pointwise", propose, ELEMENTWISE, promotion, weight=weight, dtypes=allowed
    )


def with_scalar(
    name: str,
    target: Callable,
    promotion: Promotion,
    allowed: frozenset[torch.dtype] = NUMERIC,
    domains: tuple[Domain, Domain] = (ANY, ANY),
    weight: float = 0.6,
) -> OpDef:
    """An elementwise op of a tensor and a Python scalar (the `.Scalar` overloads)."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        dtype = None if want.is_scalar else operand_dtype(s, want.dtype, allowed)
        if dtype is None:
            return None
        inexact = dtype.is_floating_point or dtype.is_complex
        scalar = torch.float64 if inexact or s.chance(0.2) else torch.int64
        return Proposal((Want(want.shape, dtype, domains[0]), Want(None, scalar, domains[1])))

    return OpDef(
        name, target, "pointwise", propose, ELEMENTWISE, promotion, weight=weight, dtypes=allowed
    )


def _propose_where(s: SpecSampler, want: Want) -> Proposal | None:
    if want.is_scalar:
        return None
    a = operand_dtype(s, want.dtype, C_ALL)
    b = a if s.chance(0.8) else s.dtype(C_ALL)
    b = b if mixable(a, b) else a
    shapes = [want.shape, s.broadcast_to(want.shape), s.broadcast_to(want.shape)]
    s.rng.shuffle(shapes)
    return Proposal((Want(shapes[0], torch.bool), Want(shapes[1], a), Want(shapes[2], b)))


def _propose_clamp(s: SpecSampler, want: Want) -> Proposal | None:
    dtype = None if want.is_scalar else operand_dtype(s, want.dtype, NUMERIC)
    if dtype is None:
        return None
    lo = round(s.rng.uniform(-1.5, 0.5), 2)
    hi = round(lo + s.rng.uniform(0.25, 2.0), 2)
    if not dtype.is_floating_point:
        lo, hi = int(lo) - 1, int(hi) + 1
    attrs = (("min", lo), ("max", hi)) if s.chance(0.7) else (("min", lo),)
    return Proposal((Want(want.shape, dtype),), attrs)


def _propose_clamp_tensor(s: SpecSampler, want: Want) -> Proposal | None:
    dtype = None if want.is_scalar else operand_dtype(s, want.dtype, NUMERIC)
    if dtype is None:
        return None
    # min is drawn from `small` and max from `positive` (so min < max everywhere).
    return Proposal(
        (
            Want(want.shape, dtype),
            Want(s.broadcast_to(want.shape), dtype, SMALL),
            Want(s.broadcast_to(want.shape), dtype, POSITIVE),
        )
    )


# Also used before float -> integer conversions (see scalar.conversion).
ROUND = unary("round", aten.round.default, P.DEFAULT, FLOAT_DTYPES)
ABS = unary("abs", aten.abs.default, P.COMPLEX_TO_FLOAT, C_NUMERIC)

OPS: tuple[OpDef, ...] = (
    # unary math
    ABS,
    unary("neg", aten.neg.default, P.DEFAULT, C_SIGNED),
    unary("exp", aten.exp.default, P.INT_TO_FLOAT, C_NUMERIC, SMALL),
    unary("expm1", aten.expm1.default, P.INT_TO_FLOAT, NUMERIC, SMALL),
    # Complex `positive` data lies in the right half-plane: away from the branch cut of
    # log/sqrt/rsqrt on the negative real axis.
    unary("log", aten.log.default, P.INT_TO_FLOAT, C_NUMERIC, POSITIVE),
    unary("log1p", aten.log1p.default, P.INT_TO_FLOAT, NUMERIC, POSITIVE),
    unary("sqrt", aten.sqrt.default, P.INT_TO_FLOAT, C_NUMERIC, POSITIVE),
    unary("rsqrt", aten.rsqrt.default, P.INT_TO_FLOAT, C_NUMERIC, POSITIVE),
    unary("reciprocal", aten.reciprocal.default, P.INT_TO_FLOAT, C_NUMERIC, POSITIVE),
    unary("sin", aten.sin.default, P.INT_TO_FLOAT, C_NUMERIC),
    unary("cos", aten.cos.default, P.INT_TO_FLOAT, C_NUMERIC),
    unary("tanh", aten.tanh.default, P.INT_TO_FLOAT, C_NUMERIC),
    unary("sigmoid", aten.sigmoid.default, P.INT_TO_FLOAT, NUMERIC),
    unary("erf", aten.erf.default, P.INT_TO_FLOAT, NUMERIC),
    unary("floor", aten.floor.default, P.DEFAULT, NUMERIC),
    unary("ceil", aten.ceil.default, P.DEFAULT, NUMERIC),
    ROUND,
    unary("trunc", aten.trunc.default, P.DEFAULT, FLOAT_DTYPES),
    unary("sign", aten.sign.default, P.DEFAULT, NUMERIC),
    unary("square", aten.square.default, P.BOOL_TO_LONG, C_NUMERIC),
    unary("bitwise_not", aten.bitwise_not.default, P.DEFAULT, INTEGRAL),
    unary("logical_not", aten.logical_not.default, P.ALWAYS_BOOL, REAL_DTYPES),
    # binary math
    binary("add", aten.add.Tensor, P.DEFAULT, C_ALL, weight=2.0),
    binary("sub", aten.sub.Tensor, P.DEFAULT, C_NUMERIC, weight=1.5),
    binary("mul", aten.mul.Tensor, P.DEFAULT, C_ALL, weight=2.0),
    binary("div", aten.div.Tensor, P.INT_TO_FLOAT, C_NUMERIC, (ANY, POSITIVE)),
    # Float floor division: FakeTensor's result strides differ from eager's for mixed layouts.
    binary("floor_divide", aten.floor_divide.default, P.DEFAULT, INT_DTYPES, (ANY, POSITIVE)),
    binary("remainder", aten.remainder.Tensor, P.DEFAULT, NUMERIC, (ANY, POSITIVE)),
    binary("maximum", aten.maximum.default, P.DEFAULT, REAL_DTYPES),
    binary("minimum", aten.minimum.default, P.DEFAULT, REAL_DTYPES),
    binary("pow", aten.pow.Tensor_Tensor, P.BOOL_TO_LONG, C_FLOAT, (POSITIVE, SMALL)),
    binary("atan2", aten.atan2.default, P.INT_TO_FLOAT, NUMERIC),
    # comparison and logical
    binary("eq", aten.eq.Tensor, P.ALWAYS_BOOL),
    binary("ne", aten.ne.Tensor, P.ALWAYS_BOOL),
    binary("lt", aten.lt.Tensor, P.ALWAYS_BOOL, NUMERIC),
    binary("le", aten.le.Tensor, P.ALWAYS_BOOL, NUMERIC),
    binary("gt", aten.gt.Tensor, P.ALWAYS_BOOL, NUMERIC),
    binary("ge", aten.ge.Tensor, P.ALWAYS_BOOL, NUMERIC),
    binary("logical_and", aten.logical_and.default, P.ALWAYS_BOOL),
    binary("logical_or", aten.logical_or.default, P.ALWAYS_BOOL),
    binary("logical_xor", aten.logical_xor.default, P.ALWAYS_BOOL),
    binary("bitwise_and", aten.bitwise_and.Tensor, P.DEFAULT, INTEGRAL),
    binary("bitwise_or", aten.bitwise_or.Tensor, P.DEFAULT, INTEGRAL),
    binary("bitwise_xor", aten.bitwise_xor.Tensor, P.DEFAULT, INTEGRAL),
    # tensor with a Python scalar
    with_scalar("add_scalar", aten.add.Scalar, P.DEFAULT, C_NUMERIC),
    with_scalar("mul_scalar", aten.mul.Scalar, P.DEFAULT, C_NUMERIC),
    with_scalar("sub_scalar", aten.sub.Scalar, P.DEFAULT, C_NUMERIC),
    with_scalar("div_scalar", aten.div.Scalar, P.INT_TO_FLOAT, C_NUMERIC, (ANY, POSITIVE)),
    with_scalar("pow_scalar", aten.pow.Tensor_Scalar, P.BOOL_TO_LONG, C_FLOAT, (POSITIVE, SMALL)),
    with_scalar("gt_scalar", aten.gt.Scalar, P.ALWAYS_BOOL),
    # ternary
    OpDef(
        "where",
        aten.where.self,
        "pointwise",
        _propose_where,
        ELEMENTWISE,
        P.NO_OPMATH,
        (1, 2),
        dtypes=C_ALL,
    ),
    OpDef(
        "clamp",
        aten.clamp.default,
        "pointwise",
        _propose_clamp,
        ELEMENTWISE,
        P.DEFAULT,
        (0,),
        dtypes=NUMERIC,
    ),
    OpDef(
        "clamp_tensor",
        aten.clamp.Tensor,
        "pointwise",
        _propose_clamp_tensor,
        ELEMENTWISE,
        P.DEFAULT,
        dtypes=NUMERIC,
    ),
)

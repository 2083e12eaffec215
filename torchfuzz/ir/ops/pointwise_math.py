"""More pointwise math: trig and hyperbolic, exp/log bases, rounding division, fmod, lerp,
addcmul/addcdiv, nan_to_num, one-sided clamps, shifts and alpha-scaled arithmetic.

Type-promotion kinds are the ones `torch._refs` declares for each op. Domains keep every
result finite and well conditioned; discontinuous ops (frac, fmod, rounding division, sgn,
copysign's sign operand) take fresh inputs (a non-`any` domain) so that both sides of the
comparison see exactly the same operand values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch

from torchfuzz.ir.ops.base import (
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
from torchfuzz.ir.ops.pointwise import (
    C_NUMERIC,
    C_SIGNED,
    NUMERIC,
    binary,
    mixable,
    operand_dtype,
    unary,
    with_scalar,
)
from torchfuzz.ir.types import ANY, POSITIVE, SMALL, UNIT, Domain

aten = torch.ops.aten
P = Promotion
Attrs = tuple[tuple[str, Any], ...]
# Attributes drawn for a proposal's operands (an int or a float `alpha` depends on their dtypes).
AttrSampler = Callable[[SpecSampler, tuple[Want, ...]], Attrs]
ELEMENTWISE = frozenset({Trait.ELEMENTWISE})
FAMILY = "math"


def _no_attrs(s: SpecSampler, inputs: tuple[Want, ...]) -> Attrs:
    return ()


def all_float(inputs: tuple[Want, ...]) -> bool:
    """Whether the result is floating for sure: then a float `alpha`/`value` is allowed."""
    return all(w.dtype.is_floating_point for w in inputs)


def with_attrs(op: OpDef, attrs: AttrSampler, family: str = FAMILY) -> OpDef:
    """The op with attributes drawn for each of its proposals (and moved to `family`)."""
    base = op.propose

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        proposal = base(s, want)
        if proposal is None:
            return None
        return Proposal(proposal.inputs, proposal.attrs + attrs(s, proposal.inputs))

    return replace(op, propose=propose, family=family)


def in_family(op: OpDef, family: str = FAMILY) -> OpDef:
    return replace(op, family=family)


def elementwise(
    name: str,
    target: Callable,
    promotion: Promotion,
    allowed: frozenset[torch.dtype],
    domains: tuple[Domain, ...],
    *,
    same_dtype: bool = False,
    contiguous: bool = False,
    attrs: AttrSampler = _no_attrs,
    weight: float = 0.5,
    family: str = FAMILY,
) -> OpDef:
    """An elementwise op of `len(domains)` broadcasting tensors; `same_dtype` for kernels
    that reject mixed dtypes (lerp, heaviside); `contiguous` where FakeTensor's result strides
    for operands of different layouts differ from eager's (the refs of copysign, xlogy and
    float floor division order dims otherwise than TensorIterator)."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        first = None if want.is_scalar else operand_dtype(s, want.dtype, allowed)
        if first is None:
            return None
        shapes = [want.shape] + [s.broadcast_to(want.shape) for _ in domains[1:]]
        s.rng.shuffle(shapes)
        dtypes = [first] + [
            first if same_dtype or s.chance(0.7) else s.dtype(allowed) for _ in domains[1:]
        ]
        if None in dtypes:  # the program's dtypes have none of the allowed ones
            return None
        if not mixable(*dtypes):
            dtypes = [first] * len(dtypes)
        inputs = tuple(
            Want(shape, dtype, domain, contiguous)
            for shape, dtype, domain in zip(shapes, dtypes, domains, strict=True)
        )
        return Proposal(inputs, attrs(s, inputs))

    return OpDef(
        name, target, family, propose, ELEMENTWISE, promotion, weight=weight, dtypes=allowed
    )


def _alpha(s: SpecSampler, inputs: tuple[Want, ...]) -> Attrs:
    if all_float(inputs):
        return (("alpha", s.rng.choice((0.5, -1.5, 2.0))),)
    return (("alpha", s.rng.choice((2, -1, 3))),)


def _maybe_alpha(s: SpecSampler, inputs: tuple[Want, ...]) -> Attrs:
    return _alpha(s, inputs) if s.chance(0.5) else ()


def _value(s: SpecSampler, inputs: tuple[Want, ...]) -> Attrs:
    if not s.chance(0.7):
        return ()
    if all_float(inputs):
        return (("value", s.rng.choice((0.5, -0.25, 2.0))),)
    return (("value", s.rng.choice((2, -1))),)


def _weight(s: SpecSampler, inputs: tuple[Want, ...]) -> Attrs:
    return (("weight", s.rng.choice((0.0, 0.25, 0.5, 0.8, 1.0, -0.5, 1.5))),)


def _rounding_mode(s: SpecSampler, inputs: tuple[Want, ...]) -> Attrs:
    return (("rounding_mode", s.rng.choice(("trunc", "floor"))),)


def _logit_eps(s: SpecSampler, inputs: tuple[Want, ...]) -> Attrs:
    # The input is clamped to [eps, 1 - eps] first, so any finite input gives a finite result.
    return (("eps", s.rng.choice((0.01, 0.05, 0.2))),)


def _nan_to_num(s: SpecSampler, inputs: tuple[Want, ...]) -> Attrs:
    choices = (("nan", (0.0, 1.0, -2.0)), ("posinf", (100.0, 1e3)), ("neginf", (-100.0, -1e3)))
    return tuple((key, s.rng.choice(values)) for key, values in choices if s.chance(0.5))


def _bound(key: str) -> AttrSampler:
    def sample(s: SpecSampler, inputs: tuple[Want, ...]) -> Attrs:
        if inputs[0].dtype.is_floating_point or s.chance(0.2):
            return ((key, round(s.rng.uniform(-1.0, 1.0), 2)),)
        return ((key, s.rng.randint(-2, 2)),)

    return sample


OPS: tuple[OpDef, ...] = (
    # trig and hyperbolic (INT_TO_FLOAT); uint8 is left out where its data would wrap around
    # (`small`/`unit` ints are signed), atanh/erfinv take floats only (int +-1 gives +-inf).
    # Complex data of `unit`/`small` domains has modulus below 1: away from the branch cuts of
    # asin/acos/atanh (real |x| > 1).
    in_family(unary("tan", aten.tan.default, P.INT_TO_FLOAT, C_SIGNED, SMALL, 0.5)),
    in_family(unary("asin", aten.asin.default, P.INT_TO_FLOAT, C_SIGNED, UNIT, 0.4)),
    in_family(unary("acos", aten.acos.default, P.INT_TO_FLOAT, C_SIGNED, UNIT, 0.4)),
    in_family(unary("atan", aten.atan.default, P.INT_TO_FLOAT, NUMERIC, ANY, 0.5)),
    in_family(unary("sinh", aten.sinh.default, P.INT_TO_FLOAT, C_SIGNED, SMALL, 0.4)),
    in_family(unary("cosh", aten.cosh.default, P.INT_TO_FLOAT, C_SIGNED, SMALL, 0.4)),
    in_family(unary("asinh", aten.asinh.default, P.INT_TO_FLOAT, NUMERIC, ANY, 0.4)),
    # acosh needs x >= 1: only `positive` ints (1..4) fit; `positive` floats start at 0.5.
    in_family(unary("acosh", aten.acosh.default, P.INT_TO_FLOAT, INT_DTYPES, POSITIVE, 0.4)),
    in_family(unary("atanh", aten.atanh.default, P.INT_TO_FLOAT, FLOAT_DTYPES, UNIT, 0.4)),
    in_family(unary("deg2rad", aten.deg2rad.default, P.INT_TO_FLOAT, NUMERIC, ANY, 0.3)),
    in_family(unary("rad2deg", aten.rad2deg.default, P.INT_TO_FLOAT, NUMERIC, ANY, 0.3)),
    in_family(unary("sinc", aten.sinc.default, P.INT_TO_FLOAT, NUMERIC, ANY, 0.4)),
    # exp and log in other bases, error functions
    in_family(unary("exp2", aten.exp2.default, P.INT_TO_FLOAT, SIGNED_NUMERIC, SMALL, 0.5)),
    in_family(unary("log2", aten.log2.default, P.INT_TO_FLOAT, C_NUMERIC, POSITIVE, 0.5)),
    in_family(unary("log10", aten.log10.default, P.INT_TO_FLOAT, C_NUMERIC, POSITIVE, 0.4)),
    in_family(unary("erfc", aten.erfc.default, P.INT_TO_FLOAT, NUMERIC, ANY, 0.4)),
    in_family(unary("erfinv", aten.erfinv.default, P.INT_TO_FLOAT, FLOAT_DTYPES, UNIT, 0.4)),
    # logit without eps needs data in (0, 1), which no domain gives: eps is always set.
    with_attrs(unary("logit", aten.logit.default, P.INT_TO_FLOAT, NUMERIC, ANY, 0.4), _logit_eps),
    # sign-like and rounding (DEFAULT), on fresh inputs
    in_family(unary("sgn", aten.sgn.default, P.DEFAULT, C_NUMERIC, SMALL, 0.4)),
    in_family(unary("frac", aten.frac.default, P.DEFAULT, FLOAT_DTYPES, POSITIVE, 0.4)),
    in_family(unary("positive", aten.positive.default, P.DEFAULT, C_NUMERIC, ANY, 0.3)),
    with_attrs(
        unary("nan_to_num", aten.nan_to_num.default, P.DEFAULT, NUMERIC, ANY, 0.3), _nan_to_num
    ),
    # one-sided clamps (DEFAULT, like clamp): a Python bound, or a tensor bound
    with_attrs(
        unary("clamp_min", aten.clamp_min.default, P.DEFAULT, NUMERIC, ANY, 0.5), _bound("min")
    ),
    with_attrs(
        unary("clamp_max", aten.clamp_max.default, P.DEFAULT, NUMERIC, ANY, 0.5), _bound("max")
    ),
    in_family(binary("clamp_min_tensor", aten.clamp_min.Tensor, P.DEFAULT, NUMERIC, weight=0.4)),
    in_family(binary("clamp_max_tensor", aten.clamp_max.Tensor, P.DEFAULT, NUMERIC, weight=0.4)),
    # division and remainders: positive divisors, fresh dividends
    in_family(
        binary(
            "true_divide", aten.true_divide.Tensor, P.INT_TO_FLOAT, NUMERIC, (ANY, POSITIVE), 0.4
        )
    ),
    elementwise(
        "div_mode",
        aten.div.Tensor_mode,
        P.DEFAULT,
        NUMERIC,
        (SMALL, POSITIVE),
        contiguous=True,
        attrs=_rounding_mode,
    ),
    with_attrs(
        with_scalar(
            "div_scalar_mode", aten.div.Scalar_mode, P.DEFAULT, NUMERIC, (SMALL, POSITIVE), 0.4
        ),
        _rounding_mode,
    ),
    elementwise("fmod", aten.fmod.Tensor, P.DEFAULT, NUMERIC, (SMALL, POSITIVE)),
    in_family(
        with_scalar("fmod_scalar", aten.fmod.Scalar, P.DEFAULT, NUMERIC, (SMALL, POSITIVE), 0.4)
    ),
    in_family(
        with_scalar(
            "remainder_scalar", aten.remainder.Scalar, P.DEFAULT, NUMERIC, (SMALL, POSITIVE), 0.4
        )
    ),
    # powers: float_power always computes in float64 (no promotion kind says so; DEFAULT is
    # declared and the type-promotion pass takes ATen's float64)
    elementwise(
        "float_power",
        aten.float_power.Tensor_Tensor,
        P.DEFAULT,
        SIGNED_NUMERIC,
        (POSITIVE, SMALL),
        weight=0.4,
    ),
    in_family(
        with_scalar(
            "float_power_scalar",
            aten.float_power.Tensor_Scalar,
            P.DEFAULT,
            NUMERIC,
            (POSITIVE, SMALL),
            0.4,
        )
    ),
    # alpha-scaled arithmetic (DEFAULT): alpha is an int unless every operand is a float
    elementwise("add_alpha", aten.add.Tensor, P.DEFAULT, C_NUMERIC, (ANY, ANY), attrs=_alpha),
    elementwise("sub_alpha", aten.sub.Tensor, P.DEFAULT, C_NUMERIC, (ANY, ANY), attrs=_alpha),
    elementwise("rsub", aten.rsub.Tensor, P.DEFAULT, NUMERIC, (ANY, ANY), attrs=_maybe_alpha),
    with_attrs(
        with_scalar("rsub_scalar", aten.rsub.Scalar, P.DEFAULT, NUMERIC, weight=0.4), _maybe_alpha
    ),
    # two-operand float math
    elementwise("hypot", aten.hypot.default, P.DEFAULT, FLOAT_DTYPES, (ANY, ANY), weight=0.4),
    elementwise("logaddexp", aten.logaddexp.default, P.DEFAULT, FLOAT_DTYPES, (ANY, ANY)),
    elementwise(
        "logaddexp2", aten.logaddexp2.default, P.DEFAULT, FLOAT_DTYPES, (ANY, ANY), weight=0.4
    ),
    elementwise(
        "copysign",
        aten.copysign.Tensor,
        P.INT_TO_FLOAT,
        NUMERIC,
        (ANY, SMALL),
        contiguous=True,
        weight=0.4,
    ),
    elementwise(
        "xlogy",
        aten.xlogy.Tensor,
        P.INT_TO_FLOAT,
        NUMERIC,
        (ANY, POSITIVE),
        contiguous=True,
        weight=0.4,
    ),
    elementwise("fmax", aten.fmax.default, P.DEFAULT, REAL_DTYPES, (ANY, ANY)),
    elementwise("fmin", aten.fmin.default, P.DEFAULT, REAL_DTYPES, (ANY, ANY)),
    # shifts by 1..4 bits (DEFAULT)
    elementwise(
        "bitwise_left_shift",
        aten.bitwise_left_shift.Tensor,
        P.DEFAULT,
        INT_DTYPES,
        (ANY, POSITIVE),
        weight=0.4,
    ),
    elementwise(
        "bitwise_right_shift",
        aten.bitwise_right_shift.Tensor,
        P.DEFAULT,
        INT_DTYPES,
        (ANY, POSITIVE),
        weight=0.4,
    ),
    # interpolation and fused multiply-add (lerp: DEFAULT and one float dtype; addcdiv:
    # INT_TO_FLOAT with a positive divisor, floats only since integer division is rejected)
    elementwise(
        "lerp_scalar",
        aten.lerp.Scalar,
        P.DEFAULT,
        FLOAT_DTYPES,
        (ANY, ANY),
        same_dtype=True,
        attrs=_weight,
    ),
    elementwise(
        "lerp_tensor", aten.lerp.Tensor, P.DEFAULT, FLOAT_DTYPES, (ANY, ANY, ANY), same_dtype=True
    ),
    elementwise(
        "addcmul", aten.addcmul.default, P.DEFAULT, C_NUMERIC, (ANY, ANY, ANY), attrs=_value
    ),
    elementwise(
        "addcdiv",
        aten.addcdiv.default,
        P.INT_TO_FLOAT,
        FLOAT_DTYPES,
        (ANY, ANY, POSITIVE),
        attrs=_value,
    ),
)

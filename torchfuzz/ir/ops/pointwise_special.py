"""Special functions (Bessel, gamma family, normal CDF), value predicates (isnan, signbit, ...),
comparisons with a Python scalar, `where` with a scalar branch, heaviside, nextafter.

Type-promotion kinds are the ones `torch._refs` declares for each op. Predicates and
comparisons are discontinuous, so they take fresh inputs (a non-`any` domain): an overflow or a
last-bit difference in a computed operand can never flip their exact boolean results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import torch

from torchfuzz.ir.ops.base import (
    FLOAT_DTYPES,
    REAL_DTYPES,
    SIGNED_NUMERIC,
    OpDef,
    Promotion,
    Proposal,
    SpecSampler,
    Trait,
    Want,
)
from torchfuzz.ir.ops.pointwise import NUMERIC, operand_dtype, unary, with_scalar
from torchfuzz.ir.ops.pointwise_math import Attrs, elementwise, in_family, with_attrs
from torchfuzz.ir.types import ANY, POSITIVE, SMALL, Domain

aten = torch.ops.aten
P = Promotion
ELEMENTWISE = frozenset({Trait.ELEMENTWISE})
FAMILY = "special"
# log_ndtr, erfcx have no float16/bfloat16 CPU kernels.
WIDE_NUMERIC = NUMERIC - {torch.float16, torch.bfloat16}


def _special(
    name: str, target: Callable, allowed: frozenset[torch.dtype], domain: Domain, weight: float
) -> OpDef:
    """A special function of one tensor (all INT_TO_FLOAT in torch._refs.special)."""
    return in_family(unary(name, target, P.INT_TO_FLOAT, allowed, domain, weight), FAMILY)


def _predicate(name: str, target: Callable) -> OpDef:
    """An ALWAYS_BOOL test of each value, on a fresh finite input."""
    return in_family(unary(name, target, P.ALWAYS_BOOL, REAL_DTYPES, SMALL, 0.3), FAMILY)


def _compare(name: str, target: Callable) -> OpDef:
    """A comparison of a fresh tensor with a fresh Python scalar."""
    return in_family(with_scalar(name, target, P.ALWAYS_BOOL, NUMERIC, (SMALL, SMALL), 0.4), FAMILY)


def _polygamma_order(s: SpecSampler, inputs: tuple[Want, ...]) -> Attrs:
    return (("n", s.rng.choice((1, 2))),)


def _order_first(
    inputs: Sequence[Any], attrs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    # polygamma(int n, Tensor self): the order comes before the tensor.
    return (attrs["n"], *inputs), {}


def _scalar_kind(s: SpecSampler, dtype: torch.dtype) -> torch.dtype:
    """The Python scalar that goes with a tensor of `dtype` (sometimes another kind)."""
    if dtype.is_floating_point or s.chance(0.2):
        return torch.float64
    return torch.bool if dtype == torch.bool else torch.int64


def _where_scalar(scalar_first: bool) -> Callable[[SpecSampler, Want], Proposal | None]:
    """where.ScalarSelf / where.ScalarOther: a bool condition, a tensor and a Python scalar."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        dtype = None if want.is_scalar else operand_dtype(s, want.dtype, REAL_DTYPES)
        if dtype is None:
            return None
        shapes = [want.shape, s.broadcast_to(want.shape)]
        s.rng.shuffle(shapes)
        branches = [Want(shapes[1], dtype), Want(None, _scalar_kind(s, dtype))]
        if scalar_first:
            branches.reverse()
        return Proposal((Want(shapes[0], torch.bool), *branches))

    return propose


OPS: tuple[OpDef, ...] = (
    # Bessel functions: i0/i1 grow like exp(|x|), so they take `small` fresh inputs; the
    # exponentially scaled ones are bounded.
    _special("i0", aten.i0.default, SIGNED_NUMERIC, SMALL, 0.4),
    _special("special_i0e", aten.special_i0e.default, NUMERIC, ANY, 0.3),
    _special("special_i1", aten.special_i1.default, SIGNED_NUMERIC, SMALL, 0.3),
    _special("special_i1e", aten.special_i1e.default, NUMERIC, ANY, 0.3),
    # normal distribution and error functions (erfcx(x) grows like exp(x^2) for x < 0)
    _special("special_ndtr", aten.special_ndtr.default, NUMERIC, ANY, 0.3),
    _special("special_log_ndtr", aten.special_log_ndtr.default, WIDE_NUMERIC, ANY, 0.3),
    _special("special_erfcx", aten.special_erfcx.default, WIDE_NUMERIC - {torch.uint8}, SMALL, 0.3),
    _special("special_expit", aten.special_expit.default, NUMERIC, ANY, 0.3),
    # gamma family and entropy on positive inputs (poles at 0 and the negative integers)
    _special("lgamma", aten.lgamma.default, NUMERIC, POSITIVE, 0.4),
    _special("digamma", aten.digamma.default, NUMERIC, POSITIVE, 0.4),
    _special("special_entr", aten.special_entr.default, NUMERIC, POSITIVE, 0.3),
    replace(
        with_attrs(
            _special("polygamma", aten.polygamma.default, NUMERIC, POSITIVE, 0.3),
            _polygamma_order,
            FAMILY,
        ),
        args=_order_first,
    ),
    elementwise(
        "igamma",
        aten.igamma.default,
        P.INT_TO_FLOAT,
        FLOAT_DTYPES,
        (POSITIVE, POSITIVE),
        weight=0.3,
        family=FAMILY,
    ),
    elementwise(
        "igammac",
        aten.igammac.default,
        P.INT_TO_FLOAT,
        FLOAT_DTYPES,
        (POSITIVE, POSITIVE),
        weight=0.3,
        family=FAMILY,
    ),
    elementwise(
        "special_xlog1py",
        aten.special_xlog1py.default,
        P.INT_TO_FLOAT,
        NUMERIC,
        (ANY, POSITIVE),
        contiguous=True,
        weight=0.3,
        family=FAMILY,
    ),
    # value predicates (ALWAYS_BOOL): constant on finite fresh data, but they must lower
    _predicate("isnan", aten.isnan.default),
    _predicate("isinf", aten.isinf.default),
    _predicate("isfinite", aten.isfinite.default),
    _predicate("isposinf", aten.isposinf.default),
    _predicate("isneginf", aten.isneginf.default),
    _predicate("signbit", aten.signbit.default),
    # comparisons with a Python scalar (ALWAYS_BOOL)
    _compare("eq_scalar", aten.eq.Scalar),
    _compare("ne_scalar", aten.ne.Scalar),
    _compare("lt_scalar", aten.lt.Scalar),
    _compare("le_scalar", aten.le.Scalar),
    _compare("ge_scalar", aten.ge.Scalar),
    # step and neighbour functions: heaviside's kernel wants one dtype; nextafter moves one ulp
    elementwise(
        "heaviside",
        aten.heaviside.default,
        P.DEFAULT,
        REAL_DTYPES,
        (SMALL, ANY),
        same_dtype=True,
        weight=0.3,
        family=FAMILY,
    ),
    elementwise(
        "nextafter",
        aten.nextafter.default,
        P.NO_OPMATH,
        FLOAT_DTYPES,
        (ANY, ANY),
        same_dtype=True,
        weight=0.3,
        family=FAMILY,
    ),
    # where with one Python scalar branch (NO_OPMATH over the two branches, like where)
    OpDef(
        "where_scalar_other",
        aten.where.ScalarOther,
        FAMILY,
        _where_scalar(scalar_first=False),
        ELEMENTWISE,
        P.NO_OPMATH,
        (1, 2),
        weight=0.5,
        dtypes=REAL_DTYPES,
    ),
    OpDef(
        "where_scalar_self",
        aten.where.ScalarSelf,
        FAMILY,
        _where_scalar(scalar_first=True),
        ELEMENTWISE,
        P.NO_OPMATH,
        (1, 2),
        weight=0.4,
        dtypes=REAL_DTYPES,
    ),
)

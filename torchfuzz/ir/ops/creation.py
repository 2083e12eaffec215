"""Tensors created inside the graph: the `*_like`, `new_*` and `fill` ops, which take an
operand's shape or dtype but not its values, and zeros, ones, arange, linspace, logspace and
eye, made from attributes alone.

Like `full`, ops without tensor operands take their dtype as an attribute and no device: every
program runs on the default (CPU) device. Attribute values are chosen so the results are exact
in every dtype (arange's length and values, integer linspace steps) or far from overflow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from torchfuzz.ir.ops.base import (
    BOOL_DTYPES,
    COMPLEX_DTYPES,
    FLOAT_DTYPES,
    INT_DTYPES,
    REAL_DTYPES,
    OpDef,
    Proposal,
    SpecSampler,
    Want,
    nonempty,
)

aten = torch.ops.aten
Attrs = tuple[tuple[str, Any], ...]
NUMERIC = FLOAT_DTYPES | INT_DTYPES
# Ops that read no values (or only fill them) make complex64 too.
FILLED = REAL_DTYPES | COMPLEX_DTYPES


def fill_value(s: SpecSampler, dtype: torch.dtype) -> bool | int | float:
    """A Python value that fits `dtype` exactly (no float truncated to an integer)."""
    if dtype == torch.bool:
        return s.chance(0.5)
    if dtype.is_floating_point or dtype.is_complex:
        return round(s.rng.uniform(-2.0, 2.0), 3)
    return s.rng.randint(0 if dtype == torch.uint8 else -4, 4)


def _source_dtype(s: SpecSampler, want: Want) -> tuple[torch.dtype, Attrs]:
    """The operand's dtype: mostly the wanted one, else any, converted by a dtype attribute."""
    other = s.dtype(REAL_DTYPES)
    if other is None or s.chance(0.7):
        return want.dtype, ()
    return other, (("dtype", want.dtype),)


def like(filled: bool) -> Callable[[SpecSampler, Want], Proposal | None]:
    """zeros_like/ones_like/full_like: the operand's shape (and layout), maybe another dtype."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        if want.is_scalar or want.dtype not in FILLED:
            return None
        dtype, attrs = _source_dtype(s, want)
        value = (("fill_value", fill_value(s, want.dtype)),) if filled else ()
        return Proposal((Want(want.shape, dtype),), value + attrs)

    return propose


def new(filled: bool) -> Callable[[SpecSampler, Want], Proposal | None]:
    """new_zeros/new_ones/new_full: the wanted size, the operand's dtype unless one is given."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        if want.is_scalar or want.dtype not in FILLED:
            return None
        dtype, attrs = _source_dtype(s, want)
        value = (("fill_value", fill_value(s, want.dtype)),) if filled else ()
        return Proposal((Want(s.shape(), dtype),), (("size", want.shape),) + value + attrs)

    return propose


def _propose_fill(s: SpecSampler, want: Want) -> Proposal | None:
    if want.is_scalar or want.dtype not in FILLED:
        return None
    return Proposal((Want(want.shape, want.dtype),), (("value", fill_value(s, want.dtype)),))


def _propose_fill_tensor(s: SpecSampler, want: Want) -> Proposal | None:
    """fill with a 0-d tensor's value; a float value is never truncated into an integer."""
    if want.is_scalar or want.dtype not in REAL_DTYPES:
        return None
    sources = REAL_DTYPES if want.dtype.is_floating_point else INT_DTYPES | BOOL_DTYPES
    value = want.dtype if s.chance(0.6) else s.dtype(sources)
    return Proposal((Want(want.shape, want.dtype), Want((), value or want.dtype)))


def created(
    allowed: frozenset[torch.dtype], rank: int | None, attrs: Callable[..., Attrs | None]
) -> Callable[[SpecSampler, Want], Proposal | None]:
    """An op without operands: `attrs(s, shape, dtype)` gives its attributes but the dtype
    (None: this op can't make that shape); `rank` limits the wanted shapes."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        if want.is_scalar or want.dtype not in allowed:
            return None
        if rank is not None and len(want.shape) != rank:
            return None
        found = attrs(s, want.shape, want.dtype)
        return None if found is None else Proposal((), found + (("dtype", want.dtype),))

    return propose


def _sized(s: SpecSampler, shape: tuple[int, ...], dtype: torch.dtype) -> Attrs:
    return (("size", shape),)


@nonempty
def _arange(s: SpecSampler, shape: tuple[int, ...], dtype: torch.dtype) -> Attrs:
    """start, end, step with exactly `n` values, all exact in `dtype` (end may be mid-step)."""
    (n,) = shape
    if dtype.is_floating_point:
        step = s.rng.choice((1, 2, -1, 0.5, 0.25, -0.5, 1.5))
    else:
        step = s.rng.choice((1, 2, 3) if dtype == torch.uint8 else (1, 2, 3, -1, -2))
    start = s.rng.randint(0 if dtype == torch.uint8 else -4, 4)
    end = start + n * step
    if s.chance(0.4):  # stop short of the next value: the length is still n
        end -= step / 2 if dtype.is_floating_point else (step > 1) - (step < -1)
    return (("start", start), ("end", end), ("step", step))


def _linspace(s: SpecSampler, shape: tuple[int, ...], dtype: torch.dtype) -> Attrs:
    """Integer dtypes take whole steps, so no value is truncated."""
    (n,) = shape
    if dtype.is_floating_point:
        start, end = (round(s.rng.uniform(-2.0, 2.0), 2) for _ in range(2))
    else:
        start = s.rng.randint(0, 4)
        end = start + (n - 1) * s.rng.randint(0, 3)
    return (("start", start), ("end", end), ("steps", n))


def _logspace(s: SpecSampler, shape: tuple[int, ...], dtype: torch.dtype) -> Attrs:
    start, end = (round(s.rng.uniform(-2.0, 2.0), 2) for _ in range(2))
    base = s.rng.choice((2.0, 10.0, 0.5))
    return (("start", start), ("end", end), ("steps", shape[0]), ("base", base))


def _eye(s: SpecSampler, shape: tuple[int, ...], dtype: torch.dtype) -> Attrs:
    return (("n", shape[0]), ("m", shape[1]))


def creation(
    name: str,
    target: Callable,
    propose: Callable[[SpecSampler, Want], Proposal | None],
    allowed: frozenset[torch.dtype] = REAL_DTYPES,
    weight: float = 0.3,
) -> OpDef:
    return OpDef(name, target, "creation", propose, weight=weight, dtypes=allowed)


OPS: tuple[OpDef, ...] = (
    creation("zeros_like", aten.zeros_like.default, like(False), FILLED, 0.4),
    creation("ones_like", aten.ones_like.default, like(False), FILLED, 0.4),
    creation("full_like", aten.full_like.default, like(True), FILLED, 0.4),
    creation("new_zeros", aten.new_zeros.default, new(False), FILLED),
    creation("new_ones", aten.new_ones.default, new(False), FILLED),
    creation("new_full", aten.new_full.default, new(True), FILLED),
    creation("fill", aten.fill.Scalar, _propose_fill, FILLED),
    creation("fill_tensor", aten.fill.Tensor, _propose_fill_tensor, weight=0.4),
    creation("zeros", aten.zeros.default, created(FILLED, None, _sized), FILLED),
    creation("ones", aten.ones.default, created(FILLED, None, _sized), FILLED),
    creation("arange", aten.arange.start_step, created(NUMERIC, 1, _arange), NUMERIC, 0.5),
    creation("linspace", aten.linspace.default, created(NUMERIC, 1, _linspace), NUMERIC, 0.6),
    creation(
        "logspace",
        aten.logspace.default,
        created(FLOAT_DTYPES, 1, _logspace),
        FLOAT_DTYPES,
        0.6,
    ),
    creation("eye", aten.eye.m, created(REAL_DTYPES, 2, _eye), weight=0.4),
)

"""Casts, Python scalar arithmetic, `.item()` and constants."""

from __future__ import annotations

import operator
from collections.abc import Sequence
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
    Trait,
    Want,
)
from torchfuzz.ir.ops.complex import REAL
from torchfuzz.ir.ops.pointwise import ABS, ROUND
from torchfuzz.ir.types import (
    ANY,
    POSITIVE,
    SCALAR_DTYPES,
    SCALAR_PYTHON_TYPES,
    ScalarSpec,
    Spec,
    TensorSpec,
)

aten = torch.ops.aten
# The tensor dtypes whose `.item()` gives each Python scalar kind.
_ITEM_SOURCES = {
    torch.float64: FLOAT_DTYPES,
    torch.int64: INT_DTYPES,
    torch.bool: BOOL_DTYPES,
}
_SCALAR_OF_TENSOR = {d: torch.float64 for d in FLOAT_DTYPES} | {d: torch.int64 for d in INT_DTYPES}
_SCALAR_OF_TENSOR[torch.bool] = torch.bool
_SCALAR_OF_TENSOR[torch.complex64] = torch.float64  # a 0-d complex tensor from a float


def _propose_cast(s: SpecSampler, want: Want) -> Proposal | None:
    if want.is_scalar:
        return None
    # Float sources are converted to integers by `conversion` (with rounding), not here;
    # complex sources never: a cast to a real dtype would drop the imaginary part.
    inexact = want.dtype.is_floating_point or want.dtype.is_complex
    sources = REAL_DTYPES if inexact else INT_DTYPES | BOOL_DTYPES
    source = s.dtype(sources - {want.dtype})
    if source is None:
        return None
    return Proposal((Want(want.shape, source),), (("dtype", want.dtype),))


def scalar_cast_to(result: torch.dtype):
    """Propose a Python scalar of another kind, converted to `result` (float(), int(), bool())."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        if not want.is_scalar or want.dtype != result:
            return None
        source = s.rng.choice([d for d in SCALAR_PYTHON_TYPES if d != result])
        return Proposal((Want(None, source),))

    return propose


def _propose_item(s: SpecSampler, want: Want) -> Proposal | None:
    if not want.is_scalar:
        return None
    dtype = s.dtype(_ITEM_SOURCES[want.dtype])
    if dtype is None:
        return None
    shape = s.rng.choice(((), (1,), (1, 1)))
    return Proposal((Want(shape, dtype),))


def _infer_item(specs: Sequence[Spec], attrs: dict[str, Any]) -> Spec:
    return ScalarSpec(_SCALAR_OF_TENSOR[specs[0].dtype])


def _scalar_binary_propose(divisor_positive: bool):
    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        if not want.is_scalar or want.dtype == torch.bool:
            return None
        other = want.dtype if s.chance(0.7) else torch.int64
        rhs = POSITIVE if divisor_positive else ANY
        return Proposal((Want(None, want.dtype), Want(None, other, rhs)))

    return propose


def _infer_scalar_binary(specs: Sequence[Spec], attrs: dict[str, Any]) -> Spec:
    # Python's rule for int/float/bool arithmetic is torch.promote_types on these dtypes,
    # except that bool arithmetic yields int.
    dtype = torch.promote_types(specs[0].dtype, specs[1].dtype)
    return ScalarSpec(torch.int64 if dtype == torch.bool else dtype)


def _infer_truediv(specs: Sequence[Spec], attrs: dict[str, Any]) -> Spec:
    return ScalarSpec(torch.float64)


def _propose_constant(s: SpecSampler, want: Want) -> Proposal | None:
    if not want.is_scalar:
        return None
    draw = {
        torch.float64: lambda: round(s.rng.uniform(-2.0, 2.0), 3),
        torch.int64: lambda: s.rng.randint(-4, 4),
        torch.bool: lambda: s.chance(0.5),
    }[want.dtype]
    return Proposal((), (("value", draw()),))


def _infer_constant(specs: Sequence[Spec], attrs: dict[str, Any]) -> Spec:
    return ScalarSpec(
        {float: torch.float64, int: torch.int64, bool: torch.bool}[type(attrs["value"])]
    )


def _propose_full(s: SpecSampler, want: Want) -> Proposal | None:
    if want.is_scalar:
        return None
    if want.dtype == torch.bool:
        value: bool | int | float = s.chance(0.5)
    elif want.dtype.is_floating_point or want.dtype.is_complex:
        value = round(s.rng.uniform(-2.0, 2.0), 3)
    else:
        value = s.rng.randint(-4, 4)
    return Proposal((), (("size", want.shape), ("fill_value", value), ("dtype", want.dtype)))


def _full_args(
    inputs: Sequence[Any], attrs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    attrs = dict(attrs)
    return (list(attrs.pop("size")), attrs.pop("fill_value")), attrs


def _propose_scalar_tensor(s: SpecSampler, want: Want) -> Proposal | None:
    """A 0-d tensor built from a Python scalar (scalars flowing back into tensors)."""
    if want.is_scalar or want.shape != ():
        return None
    source = _SCALAR_OF_TENSOR[want.dtype]
    return Proposal((Want(None, source),), (("dtype", want.dtype),))


CAST = OpDef(
    "cast",
    aten._to_copy.default,
    "cast",
    _propose_cast,
    frozenset({Trait.CAST}),
    weight=0.5,
    dtypes=REAL_DTYPES,
)


def scalar_cast(name: str, target: type, result: torch.dtype) -> OpDef:
    """float(x), int(x) or bool(x) of a Python scalar."""
    return OpDef(
        name,
        target,
        "cast",
        scalar_cast_to(result),
        frozenset({Trait.SCALAR, Trait.CAST}),
        infer=lambda specs, attrs: ScalarSpec(result),
        weight=0.3,
        dtypes=SCALAR_DTYPES - {result},
    )


TO_FLOAT = scalar_cast("to_float", float, torch.float64)
TO_INT = scalar_cast("to_int", int, torch.int64)
TO_BOOL = scalar_cast("to_bool", bool, torch.bool)
# Which op casts a value to a dtype: tensors use one op, Python scalars one per kind.
SCALAR_CASTS = {torch.float64: TO_FLOAT, torch.int64: TO_INT, torch.bool: TO_BOOL}


def _propose_scalar_round(s: SpecSampler, want: Want) -> Proposal | None:
    if not want.is_scalar or want.dtype != torch.int64:
        return None
    return Proposal((Want(None, torch.float64),))


SCALAR_ROUND = OpDef(
    "scalar_round",
    round,
    "scalar",
    _propose_scalar_round,
    frozenset({Trait.SCALAR}),
    infer=lambda specs, attrs: ScalarSpec(torch.int64),
    weight=0.3,
    dtypes=frozenset({torch.float64}),
)
Step = tuple[OpDef, tuple[tuple[str, Any], ...]]


def conversion(source: Spec, target: Spec) -> tuple[Step, ...]:
    """The ops (with attributes) that convert a value of `source`'s dtype to `target`'s.

    A float becomes an integer or bool through `round` first: a float that is mathematically
    integral (a saturated tanh, a normalized 1.0) may come out one ulp below it on one side,
    and truncation would turn that rounding noise into an off-by-one finding. A complex value
    becomes real through `real`, explicitly (a cast would drop the imaginary part, warning).
    """
    if isinstance(source, TensorSpec) and source.dtype.is_complex and not target.dtype.is_complex:
        part = source.with_dtype(source.dtype.to_real())  # complex128 (float64 mixed in) too
        rest = () if part.dtype == target.dtype else conversion(part, target)
        return ((REAL, ()), *rest)
    inexact = target.dtype.is_floating_point or target.dtype.is_complex
    from_float = source.dtype.is_floating_point and not inexact
    if isinstance(target, TensorSpec):
        rounding: tuple[Step, ...] = ((ROUND, ()),) if from_float else ()
        if from_float and target.dtype == torch.uint8:
            rounding += ((ABS, ()),)  # a negative float cast to uint8 is undefined behaviour
        return (*rounding, (CAST, (("dtype", target.dtype),)))
    if not from_float:
        return ((SCALAR_CASTS[target.dtype], ()),)
    if target.dtype == torch.bool:
        return ((SCALAR_ROUND, ()), (TO_BOOL, ()))
    return ((SCALAR_ROUND, ()),)


SCALAR_TRAITS = frozenset({Trait.SCALAR})
# Operands of Python arithmetic: ints and floats (bool results are never proposed).
SCALAR_ARITHMETIC = frozenset({torch.float64, torch.int64})
OPS: tuple[OpDef, ...] = (
    CAST,
    TO_FLOAT,
    TO_INT,
    TO_BOOL,
    SCALAR_ROUND,
    OpDef(
        "item",
        aten.item.default,
        "scalar",
        _propose_item,
        frozenset({Trait.DATA_DEPENDENT}),
        infer=_infer_item,
        weight=1.5,
        dtypes=REAL_DTYPES,
    ),
    OpDef(
        "scalar_add",
        operator.add,
        "scalar",
        _scalar_binary_propose(False),
        SCALAR_TRAITS,
        infer=_infer_scalar_binary,
        dtypes=SCALAR_ARITHMETIC,
    ),
    OpDef(
        "scalar_sub",
        operator.sub,
        "scalar",
        _scalar_binary_propose(False),
        SCALAR_TRAITS,
        infer=_infer_scalar_binary,
        dtypes=SCALAR_ARITHMETIC,
    ),
    OpDef(
        "scalar_mul",
        operator.mul,
        "scalar",
        _scalar_binary_propose(False),
        SCALAR_TRAITS,
        infer=_infer_scalar_binary,
        dtypes=SCALAR_ARITHMETIC,
    ),
    OpDef(
        "scalar_truediv",
        operator.truediv,
        "scalar",
        _scalar_binary_propose(True),
        SCALAR_TRAITS,
        infer=_infer_truediv,
        weight=0.5,
        dtypes=SCALAR_ARITHMETIC,
    ),
    OpDef(
        "constant",
        None,
        "constant",
        _propose_constant,
        frozenset({Trait.CONSTANT, Trait.SCALAR}),
        infer=_infer_constant,
        weight=0.5,
        dtypes=SCALAR_DTYPES,
    ),
    OpDef(
        "full",
        aten.full.default,
        "constant",
        _propose_full,
        args=_full_args,
        weight=0.3,
        dtypes=REAL_DTYPES | COMPLEX_DTYPES,
    ),
    OpDef(
        "scalar_tensor",
        aten.scalar_tensor.default,
        "constant",
        _propose_scalar_tensor,
        weight=0.5,
        dtypes=REAL_DTYPES | COMPLEX_DTYPES,
    ),
)

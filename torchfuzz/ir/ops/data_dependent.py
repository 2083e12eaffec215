"""Data-dependent ops: result sizes read from the data (nonzero, masked_select, unique,
repeat_interleave) or from a size handed over as a 0-d tensor and read with `.item()`
(arange, full, narrow): under `capture_scalar_outputs` / `capture_dynamic_output_shape_ops`
these sizes become unbacked SymInts that flow into the ops downstream.

The IR carries concrete shapes, so the data is made to fit a size known in advance: a mask of
a `nonzero` domain holds exactly `count` nonzeros, a size or repeat count of an `exact` domain
holds exactly that value, and unique's operand comes from the `distinct` domain (every element
its own value, so the sorted result has all of them and no ties). Such operands are always
fresh graph inputs. FakeTensor cannot size these results without a ShapeEnv, so each op's
`infer` computes the spec from the known size, which it keeps in attributes its call leaves
out.

The `.item()` ops call torch-level functions (`torch.arange`, `torch.full`, `torch.narrow`)
that accept a 0-d integer tensor where a size goes and read it with `.item()`; the aten
overloads take Python numbers only. narrow sometimes takes a Python int length instead (a
backed SymInt under `dynamic=True`). arange and full, whose only operand is the size, declare
the size's dtypes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from torchfuzz.ir.ops.base import (
    BOOL_DTYPES,
    INT_DTYPES,
    REAL_DTYPES,
    LowerArgs,
    OpDef,
    Proposal,
    SpecSampler,
    Trait,
    Want,
)
from torchfuzz.ir.ops.creation import fill_value
from torchfuzz.ir.ops.view import factor_into, signed_dim
from torchfuzz.ir.types import (
    DISTINCT,
    ScalarSpec,
    Spec,
    TensorSpec,
    exact_domain,
    is_integral,
    nonzero_domain,
)

aten = torch.ops.aten
Shape = tuple[int, ...]
FAMILY = "data-dependent"
TRAITS = frozenset({Trait.DATA_DEPENDENT})
NUMERIC = REAL_DTYPES - BOOL_DTYPES
# distinct data is a permutation of integers around 0: every dtype holds 256 of them exactly.
UNIQUE_MAX_NUMEL = 256
# Data-dependent sizes are at least 2: compilers take an unbacked size for one that is not 1
# when broadcasting (PyTorch's documented size-oblivious rule), so a data-dependent 1 that
# broadcasts fails to compile by design.
MIN_COUNT = 2


def _dropping(*names: str) -> LowerArgs:
    """Operands positionally, attributes as keywords, less the `names` only `infer` reads."""

    def call(inputs: Sequence[Any], attrs: dict[str, Any]) -> tuple[tuple, dict[str, Any]]:
        return tuple(inputs), {k: v for k, v in attrs.items() if k not in names}

    return call


def _full_args(inputs: Sequence[Any], attrs: dict[str, Any]) -> tuple[tuple, dict[str, Any]]:
    """`torch.full(size, fill_value, dtype=)` with the size operand at `dim` of the size list."""
    size = list(attrs["size"])
    size[attrs["dim"]] = inputs[0]
    return (size, attrs["fill_value"]), {"dtype": attrs["dtype"]}


def _tensor(spec: Spec, what: str) -> TensorSpec:
    if not isinstance(spec, TensorSpec):
        raise ValueError(f"{what} must be a tensor, got {spec}")
    return spec


def _size_source(spec: Spec) -> None:
    """A size operand: a Python int or a 0-d integer tensor (read with `.item()`)."""
    if isinstance(spec, ScalarSpec) and spec.dtype == torch.int64:
        return
    if isinstance(spec, TensorSpec) and spec.shape == () and is_integral(spec.dtype):
        return
    raise ValueError(f"a size is a Python int or a 0-d integer tensor, not {spec}")


def _dim(dim: int, rank: int) -> int:
    if not -rank <= dim < max(rank, 1):
        raise ValueError(f"dim {dim} out of range for rank {rank}")
    return dim % max(rank, 1)


def _holding(s: SpecSampler, count: int, rank: int | None = None) -> Shape | None:
    """A shape with at least `count` elements (None: no such shape within the size limits)."""
    shape = list(s.shape(rank=rank))
    while math.prod(shape) < count:
        grow = [i for i, n in enumerate(shape) if n < s.max_dim]
        if not grow:
            return None
        shape[s.rng.choice(grow)] += 1
    return tuple(shape)


def _sized_dim(s: SpecSampler, shape: Shape) -> int | None:
    """A dim of `shape` that can have a data-dependent size (None: none can)."""
    dims = [d for d, n in enumerate(shape) if n >= MIN_COUNT]
    return s.rng.choice(dims) if dims else None


def _size_operand(s: SpecSampler, value: int, python_int: bool = False) -> Want:
    """`value` as a 0-d integer tensor of a program dtype, or (`python_int`, sometimes) as a
    Python int."""
    if python_int and s.chance(0.25):
        return Want(None, torch.int64, exact_domain(value))
    return Want((), s.dtype(INT_DTYPES) or torch.int64, exact_domain(value))


# --- nonzero, nonzero_static ---------------------------------------------------------------
def _propose_nonzero(s: SpecSampler, want: Want) -> Proposal | None:
    if want.is_scalar or len(want.shape) != 2 or not 1 <= want.shape[1] <= s.max_rank:
        return None
    count, rank = want.shape
    if count < MIN_COUNT:
        return None
    shape, dtype = _holding(s, count, rank), s.dtype(REAL_DTYPES)
    if shape is None or dtype is None:
        return None
    return Proposal((Want(shape, dtype, nonzero_domain(count)),), (("count", count),))


def _infer_nonzero(specs: Sequence[Spec], attrs: dict[str, Any]) -> Spec:
    mask, count = _tensor(specs[0], "nonzero's operand"), attrs["count"]
    if count > mask.numel:
        raise ValueError(f"{count} nonzeros do not fit in {mask}")
    return TensorSpec((count, mask.rank), (1, count), torch.int64)  # column-major, as eager


def _propose_nonzero_static(s: SpecSampler, want: Want) -> Proposal | None:
    if want.is_scalar or len(want.shape) != 2 or not 1 <= want.shape[1] <= s.max_rank:
        return None
    dtype = s.dtype(REAL_DTYPES)
    if dtype is None:
        return None
    attrs: tuple[tuple[str, Any], ...] = (("size", want.shape[0]),)
    if s.chance(0.5):
        attrs += (("fill_value", s.rng.choice((-1, 0, 7))),)
    return Proposal((Want(s.shape(rank=want.shape[1]), dtype),), attrs)


# --- masked_select ---------------------------------------------------------------------------
def _propose_masked_select(s: SpecSampler, want: Want) -> Proposal | None:
    if want.is_scalar or len(want.shape) != 1:
        return None
    count = want.shape[0]
    if count < MIN_COUNT:
        return None
    shape = _holding(s, count)
    dtype = want.dtype if want.dtype in REAL_DTYPES else s.dtype(REAL_DTYPES)
    if shape is None or dtype is None:
        return None
    mask = Want(shape, torch.bool, nonzero_domain(count))
    return Proposal((Want(s.broadcast_to(shape), dtype), mask), (("count", count),))


def _infer_masked_select(specs: Sequence[Spec], attrs: dict[str, Any]) -> Spec:
    source = _tensor(specs[0], "masked_select's self")
    mask = _tensor(specs[1], "masked_select's mask")
    if mask.dtype != torch.bool or attrs["count"] > mask.numel:
        raise ValueError(f"{mask} is no bool mask with {attrs['count']} true elements")
    try:
        shape = torch.broadcast_shapes(source.shape, mask.shape)
    except RuntimeError as exc:
        raise ValueError(str(exc)) from None
    # A mask broadcast to a larger shape repeats its true elements.
    count = attrs["count"] * (math.prod(shape) // mask.numel)
    return TensorSpec.contiguous((count,), source.dtype)


# --- unique ----------------------------------------------------------------------------------
def _propose_unique(s: SpecSampler, want: Want) -> Proposal | None:
    if want.is_scalar or math.prod(want.shape) > UNIQUE_MAX_NUMEL:
        return None
    flat = len(want.shape) == 1 and want.shape[0] >= MIN_COUNT
    output = s.rng.choice((0, 0, 1, 2) if flat else (1,))
    if output == 1:
        shape = want.shape
    else:
        shape = factor_into(s, want.shape[0], s.max_rank) or want.shape
    dtype = want.dtype if output == 0 and want.dtype in NUMERIC else s.dtype(NUMERIC)
    if dtype is None:
        return None
    attrs = (
        ("sorted", True),
        ("return_inverse", output == 1 or s.chance(0.3)),
        ("return_counts", output == 2 or s.chance(0.3)),
        ("output", output),
    )
    return Proposal((Want(shape, dtype, DISTINCT),), attrs)


def _infer_unique(specs: Sequence[Spec], attrs: dict[str, Any]) -> Spec:
    """Distinct data: every element is its own value, so `numel` sorted values, counts of 1."""
    source = _tensor(specs[0], "unique's operand")
    if attrs["output"] != 1 and source.numel < MIN_COUNT:
        raise ValueError(f"unique of {source} has a data-dependent size below {MIN_COUNT}")
    empty = TensorSpec.contiguous((0,), torch.int64)  # results not asked for
    results = (
        TensorSpec.contiguous((source.numel,), source.dtype),
        TensorSpec.contiguous(source.shape, torch.int64)
        if attrs.get("return_inverse", False)
        else empty,
        TensorSpec.contiguous((source.numel,), torch.int64)
        if attrs.get("return_counts", False)
        else empty,
    )
    return results[attrs["output"]]


# --- repeat_interleave with a tensor of repeats ----------------------------------------------
def _propose_repeat_interleave(s: SpecSampler, want: Want) -> Proposal | None:
    d = None if want.is_scalar else _sized_dim(s, want.shape)
    if d is None:
        return None
    # At least 2 repeats: the result size stays data-dependent and >= 2 however small the
    # minimizer makes the operand.
    n = want.shape[d]
    repeats = s.rng.choice([r for r in range(MIN_COUNT, n + 1) if n % r == 0])
    source = want.shape[:d] + (want.shape[d] // repeats,) + want.shape[d + 1 :]
    dtype = want.dtype if want.dtype in REAL_DTYPES else s.dtype(REAL_DTYPES)
    if dtype is None:
        return None
    count = s.rng.choice((1, source[d]))  # one repeat count for all, or one per slice
    attrs = (("dim", signed_dim(s, d, len(want.shape))), ("count", repeats))
    operands = (Want(source, dtype), Want((count,), torch.int64, exact_domain(repeats)))
    return Proposal(operands, attrs)


def _infer_repeat_interleave(specs: Sequence[Spec], attrs: dict[str, Any]) -> Spec:
    source = _tensor(specs[0], "repeat_interleave's self")
    repeats = _tensor(specs[1], "repeat_interleave's repeats")
    d = _dim(attrs["dim"], source.rank)
    if (
        repeats.rank != 1
        or repeats.dtype != torch.int64
        or repeats.shape[0]
        not in {
            1,
            source.shape[d],
        }
    ):
        raise ValueError(f"repeats {repeats} do not fit dim {d} of {source}")
    shape = source.shape[:d] + (source.shape[d] * attrs["count"],) + source.shape[d + 1 :]
    return TensorSpec.contiguous(shape, source.dtype)


# --- sizes read with .item() -----------------------------------------------------------------
def _propose_arange(s: SpecSampler, want: Want) -> Proposal | None:
    if want.is_scalar or len(want.shape) != 1 or want.dtype == torch.bool or want.dtype.is_complex:
        return None  # no bool or complex arange kernels
    (count,) = want.shape
    if count < MIN_COUNT:
        return None
    return Proposal((_size_operand(s, count),), (("count", count), ("dtype", want.dtype)))


def _infer_arange(specs: Sequence[Spec], attrs: dict[str, Any]) -> Spec:
    _size_source(specs[0])
    return TensorSpec.contiguous((attrs["count"],), attrs["dtype"])


def _propose_full(s: SpecSampler, want: Want) -> Proposal | None:
    d = None if want.is_scalar else _sized_dim(s, want.shape)
    if d is None or want.dtype not in REAL_DTYPES:
        return None
    attrs = (
        ("size", want.shape),
        ("dim", d),
        ("fill_value", fill_value(s, want.dtype)),
        ("dtype", want.dtype),
    )
    return Proposal((_size_operand(s, want.shape[d]),), attrs)


def _infer_full(specs: Sequence[Spec], attrs: dict[str, Any]) -> Spec:
    _size_source(specs[0])
    _dim(attrs["dim"], len(attrs["size"]))
    return TensorSpec.contiguous(tuple(attrs["size"]), attrs["dtype"])


def _propose_narrow(s: SpecSampler, want: Want) -> Proposal | None:
    d = None if want.is_scalar else _sized_dim(s, want.shape)
    if d is None:
        return None
    extra = s.rng.randint(0, max(0, min(3, s.max_dim - want.shape[d])))
    source = want.shape[:d] + (want.shape[d] + extra,) + want.shape[d + 1 :]
    attrs = (
        ("dim", signed_dim(s, d, len(want.shape))),
        ("start", s.rng.randint(0, extra)),
        ("count", want.shape[d]),
    )
    if want.dtype not in REAL_DTYPES:
        return None  # a cast of a non-dense view is dense: users built on the view's strides
    size = _size_operand(s, want.shape[d], python_int=True)
    return Proposal((Want(source, want.dtype), size), attrs)


def _infer_narrow(specs: Sequence[Spec], attrs: dict[str, Any]) -> Spec:
    source = _tensor(specs[0], "narrow's self")
    _size_source(specs[1])
    d, start, count = _dim(attrs["dim"], source.rank), attrs["start"], attrs["count"]
    if not source.shape or not 0 <= start <= start + count <= source.shape[d]:
        raise ValueError(f"narrow({source}, {d}, {start}, {count}) is out of range")
    shape = source.shape[:d] + (count,) + source.shape[d + 1 :]
    return TensorSpec(shape, source.stride, source.dtype)  # a view: the operand's strides


def _narrow_args(inputs: Sequence[Any], attrs: dict[str, Any]) -> tuple[tuple, dict[str, Any]]:
    """`torch.narrow(self, dim, start, length)`: the length is the size operand."""
    return (inputs[0], attrs["dim"], attrs["start"], inputs[1]), {}


_WITHOUT_COUNT = _dropping("count")


def data_op(
    name: str,
    target: Any,
    propose: Any,
    infer: Any = None,
    args: LowerArgs = _WITHOUT_COUNT,
    select: str | None = None,
    weight: float = 1.0,
    dtypes: frozenset[torch.dtype] = REAL_DTYPES,
) -> OpDef:
    return OpDef(
        name,
        target,
        FAMILY,
        propose,
        TRAITS,
        args=args,
        select=select,
        infer=infer,
        weight=weight,
        dtypes=dtypes,
    )


OPS: tuple[OpDef, ...] = (
    data_op("nonzero", aten.nonzero.default, _propose_nonzero, _infer_nonzero),
    data_op("nonzero_static", aten.nonzero_static.default, _propose_nonzero_static, weight=0.5),
    data_op(
        "masked_select", aten.masked_select.default, _propose_masked_select, _infer_masked_select
    ),
    data_op(
        "unique",
        aten._unique2.default,
        _propose_unique,
        _infer_unique,
        args=_dropping(),
        select="output",
        dtypes=NUMERIC,
    ),
    data_op(
        "repeat_interleave_tensor",
        aten.repeat_interleave.self_Tensor,
        _propose_repeat_interleave,
        _infer_repeat_interleave,
        weight=0.5,
    ),
    data_op("arange_item", torch.arange, _propose_arange, _infer_arange, dtypes=INT_DTYPES),
    data_op(
        "full_item",
        torch.full,
        _propose_full,
        _infer_full,
        args=_full_args,
        dtypes=INT_DTYPES,
        weight=0.5,
    ),
    data_op("narrow_item", torch.narrow, _propose_narrow, _infer_narrow, args=_narrow_args),
)

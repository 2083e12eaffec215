"""Indexing ops: index_select, gather, take_along_dim, advanced indexing and masked_fill."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from torchfuzz.ir.ops.base import REAL_DTYPES, OpDef, Proposal, SpecSampler, Want
from torchfuzz.ir.ops.view import insert_dim, signed_dim
from torchfuzz.ir.types import index_domain

aten = torch.ops.aten
INDEX_DTYPES = frozenset({torch.int64, torch.int32})


def _data_dtype(s: SpecSampler, want: Want) -> torch.dtype | None:
    if want.is_scalar:
        return None
    return want.dtype if want.dtype in REAL_DTYPES else s.dtype(REAL_DTYPES)


def _propose_index_select(s: SpecSampler, want: Want) -> Proposal | None:
    dtype = _data_dtype(s, want)
    if dtype is None or not want.shape:
        return None
    d = s.rng.randrange(len(want.shape))
    size = s.dim_size()
    source = want.shape[:d] + (size,) + want.shape[d + 1 :]
    index = Want((want.shape[d],), s.rng.choice(sorted(INDEX_DTYPES, key=str)), index_domain(size))
    return Proposal((Want(source, dtype), index), (("dim", signed_dim(s, d, len(want.shape))),))


def _index_select_args(
    inputs: Sequence[Any], attrs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    # The schema puts dim between the two operands.
    return (inputs[0], attrs["dim"], inputs[1]), {}


def _gathered_source(s: SpecSampler, want: tuple[int, ...], d: int) -> tuple[int, ...]:
    """A source at least as large as `want` in every dim but `d`, which has any size."""
    return tuple(
        s.dim_size() if i == d else s.rng.randint(size, max(size, s.max_dim))
        for i, size in enumerate(want)
    )


def _propose_gather(s: SpecSampler, want: Want) -> Proposal | None:
    dtype = _data_dtype(s, want)
    if dtype is None or not want.shape:
        return None
    d = s.rng.randrange(len(want.shape))
    source = _gathered_source(s, want.shape, d)
    index = Want(want.shape, torch.int64, index_domain(source[d]))
    return Proposal((Want(source, dtype), index), (("dim", signed_dim(s, d, len(want.shape))),))


def _gather_args(
    inputs: Sequence[Any], attrs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return (inputs[0], attrs["dim"], inputs[1]), {}


def _propose_take_along_dim(s: SpecSampler, want: Want) -> Proposal | None:
    dtype = _data_dtype(s, want)
    if dtype is None or not want.shape:
        return None
    d = s.rng.randrange(len(want.shape))
    size = s.dim_size()
    # Source and indices broadcast against each other in every dim but `d`.
    source = tuple(
        size if i == d else (1 if s.chance(0.2) else n) for i, n in enumerate(want.shape)
    )
    index = tuple(
        n if i == d or source[i] == 1 else (1 if s.chance(0.2) else n)
        for i, n in enumerate(want.shape)
    )
    inputs = (Want(source, dtype), Want(index, torch.int64, index_domain(size)))
    return Proposal(inputs, (("dim", signed_dim(s, d, len(want.shape))),))


def _propose_index(s: SpecSampler, want: Want) -> Proposal | None:
    """`x[:, ..., idx]`: one index tensor at dim `d` replaces that dim by the index's shape."""
    dtype = _data_dtype(s, want)
    if dtype is None:
        return None
    rank = len(want.shape)
    d = s.rng.randint(0, rank)
    index_rank = s.rng.randint(0, min(2, rank - d))
    size = s.rng.randint(2, max(2, s.max_dim))  # indexing a size-1 dim: FakeTensor's strides differ
    source = insert_dim(want.shape[:d] + want.shape[d + index_rank :], d, size)
    # FakeTensor's strides for aten.index differ from eager's unless both operands are dense.
    index = Want(want.shape[d : d + index_rank], torch.int64, index_domain(size), contiguous=True)
    return Proposal((Want(source, dtype, contiguous=True), index), (("dim", d),))


def _index_args(
    inputs: Sequence[Any], attrs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    # `indices` is a list of optional tensors: None leaves a dim alone.
    return (inputs[0], [None] * attrs["dim"] + [inputs[1]]), {}


def _fill_value(s: SpecSampler, dtype: torch.dtype) -> bool | int | float:
    if dtype == torch.bool:
        return s.chance(0.5)
    if dtype.is_floating_point:
        return round(s.rng.uniform(-2.0, 2.0), 2)
    low = 0 if dtype == torch.uint8 else -4
    return s.rng.randint(low, 4)


def _propose_masked_fill(s: SpecSampler, want: Want) -> Proposal | None:
    dtype = _data_dtype(s, want)
    if dtype is None:
        return None
    mask = Want(s.broadcast_to(want.shape), torch.bool)
    return Proposal((Want(want.shape, dtype), mask), (("value", _fill_value(s, dtype)),))


def _propose_masked_fill_tensor(s: SpecSampler, want: Want) -> Proposal | None:
    dtype = _data_dtype(s, want)
    if dtype is None:
        return None
    mask = Want(s.broadcast_to(want.shape), torch.bool)
    return Proposal((Want(want.shape, dtype), mask, Want((), dtype)))


OPS: tuple[OpDef, ...] = (
    OpDef(
        "index_select",
        aten.index_select.default,
        "indexing",
        _propose_index_select,
        args=_index_select_args,
        dtypes=REAL_DTYPES,
    ),
    OpDef(
        "gather",
        aten.gather.default,
        "indexing",
        _propose_gather,
        args=_gather_args,
        dtypes=REAL_DTYPES,
    ),
    OpDef(
        "take_along_dim",
        aten.take_along_dim.default,
        "indexing",
        _propose_take_along_dim,
        weight=0.5,
        dtypes=REAL_DTYPES,
    ),
    OpDef(
        "index",
        aten.index.Tensor,
        "indexing",
        _propose_index,
        args=_index_args,
        dtypes=REAL_DTYPES,
    ),
    OpDef(
        "masked_fill",
        aten.masked_fill.Scalar,
        "indexing",
        _propose_masked_fill,
        dtypes=REAL_DTYPES,
    ),
    OpDef(
        "masked_fill_tensor",
        aten.masked_fill.Tensor,
        "indexing",
        _propose_masked_fill_tensor,
        weight=0.5,
        dtypes=REAL_DTYPES,
    ),
)

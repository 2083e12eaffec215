"""Shape ops that copy or rearrange data: flip, roll, repeat, tile, tril/triu, diagonals, movedim,
unfold, padding, as_strided, einsum, pixel/channel shuffles, kron and block_diag."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from torchfuzz.ir.ops.base import (
    BOOL_DTYPES,
    COMPLEX_DTYPES,
    FLOAT_DTYPES,
    REAL_DTYPES,
    LowerArgs,
    OpDef,
    Proposal,
    SpecSampler,
    Trait,
    Want,
    nonempty,
    operand_list,
    positional,
)
from torchfuzz.ir.ops.indexing import _fill_value
from torchfuzz.ir.ops.view import _narrowed, _transposed, divisors, factor_into, listed, signed_dim

aten = torch.ops.aten
Shape = tuple[int, ...]
Attrs = tuple[tuple[str, Any], ...]
# Wanted (shape, dtype) -> operand shapes and attributes, or None when the op can't make it.
ShapeRule = Callable[[SpecSampler, Shape, torch.dtype], "tuple[tuple[Shape, ...], Attrs] | None"]
NO_BOOL = REAL_DTYPES - BOOL_DTYPES
# Contractions run through bmm, which has no bool kernel; small ints keep products exact.
CONTRACTING = FLOAT_DTYPES | frozenset({torch.int64, torch.int32}) | COMPLEX_DTYPES
# Ops that only move data around take complex64 too.
MOVING = REAL_DTYPES | COMPLEX_DTYPES


def _cut(s: SpecSampler, n: int, parts: int) -> list[int]:
    """`n` as `parts` positive sizes."""
    cuts = sorted(s.rng.sample(range(1, n), parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, n])]


def _signed_all(s: SpecSampler, dims: Sequence[int], rank: int) -> tuple[int, ...]:
    return tuple(signed_dim(s, d, rank) for d in dims)


def _flipped(s: SpecSampler, want: Shape, dtype: torch.dtype):
    dims = s.rng.sample(range(len(want)), s.rng.randint(1, len(want)))
    return (want,), (("dims", _signed_all(s, dims, len(want))),)


def _rolled(s: SpecSampler, want: Shape, dtype: torch.dtype):
    dims = s.rng.sample(range(len(want)), s.rng.randint(0, min(2, len(want))))
    shifts = tuple(s.rng.randint(-9, 9) for _ in range(max(len(dims), 1)))  # no dims: flat
    return (want,), (("shifts", shifts), ("dims", _signed_all(s, dims, len(want))))


def _repeats(s: SpecSampler, want: Shape) -> tuple[Shape, list[int], int]:
    """(source, one count per output dim, leading output dims the source lacks)."""
    lead = s.rng.randint(0, len(want)) if s.chance(0.3) else 0
    counts = [w if i < lead else s.rng.choice(divisors(w)) for i, w in enumerate(want)]
    return tuple(w // c for w, c in zip(want[lead:], counts[lead:])), counts, lead


@nonempty
def _repeated(s: SpecSampler, want: Shape, dtype: torch.dtype):
    source, counts, _ = _repeats(s, want)
    return (source,), (("repeats", tuple(counts)),)


@nonempty
def _tiled(s: SpecSampler, want: Shape, dtype: torch.dtype):
    """tile: like repeat, but fewer counts than source dims mean leading counts of 1."""
    source, counts, lead = _repeats(s, want)
    if lead == 0 and s.chance(0.4):
        given = s.rng.randint(0, len(want))
        counts = [1] * (len(want) - given) + counts[len(want) - given :]
        source = tuple(w // c for w, c in zip(want, counts))
        counts = counts[len(want) - given :]
    return (source,), (("dims", tuple(counts)),)


def _triangle(s: SpecSampler, want: Shape, dtype: torch.dtype):
    return (want,), (("diagonal", s.rng.randint(-3, 3)),)


def _diagonal_of(s: SpecSampler, length: int) -> tuple[int, int, int] | None:
    """(offset, size of dim1, size of dim2) whose diagonal has `length` elements."""
    offset = s.rng.randint(-2, 2)
    shifted, other = length + abs(offset), length
    if shifted > s.max_dim:
        return None
    if s.chance(0.5):
        shifted = s.rng.randint(shifted, s.max_dim) if s.chance(0.3) else shifted
    else:
        other = s.rng.randint(length, s.max_dim)
    return (offset, other, shifted) if offset >= 0 else (offset, shifted, other)


def _diagonal_attrs(s: SpecSampler, offset: int, d1: int, d2: int, rank: int) -> Attrs:
    dim1, dim2 = _signed_all(s, (d1, d2), rank)
    return (("offset", offset), ("dim1", dim1), ("dim2", dim2))


def _diagonal(s: SpecSampler, want: Shape, dtype: torch.dtype):
    if len(want) >= s.max_rank:
        return None
    found = _diagonal_of(s, want[-1])
    if found is None:
        return None
    offset, n1, n2 = found
    rank = len(want) + 1
    d1, d2 = s.rng.sample(range(rank), 2)
    rest = iter(want[:-1])
    source = tuple(n1 if i == d1 else n2 if i == d2 else next(rest) for i in range(rank))
    return (source,), _diagonal_attrs(s, offset, d1, d2, rank)


def _diag_embedded(s: SpecSampler, want: Shape, dtype: torch.dtype):
    pairs = [(a, b) for a in range(len(want)) for b in range(len(want)) if a != b]
    pairs = [(a, b) for a, b in pairs if want[a] == want[b]]
    if not pairs:
        return None
    d1, d2 = s.rng.choice(pairs)
    m = want[d1]
    offset = s.rng.randint(-m + 1, m - 1)
    source = tuple(n for i, n in enumerate(want) if i not in (d1, d2)) + (m - abs(offset),)
    return (source,), _diagonal_attrs(s, offset, d1, d2, len(want))


def _moved(s: SpecSampler, want: Shape, dtype: torch.dtype):
    r = len(want)
    src, dst = s.rng.randrange(r), s.rng.randrange(r)
    order = [d for d in range(r) if d != src]
    order.insert(dst, src)  # output dim j is source dim order[j]
    source = [0] * r
    for j, d in enumerate(order):
        source[d] = want[j]
    attrs = (("source", signed_dim(s, src, r)), ("destination", signed_dim(s, dst, r)))
    return (tuple(source),), attrs


@nonempty
def _unfolded(s: SpecSampler, want: Shape, dtype: torch.dtype):
    """unfold: windows of `size` every `step` along one dim become a new last dim."""
    d = s.rng.randrange(len(want) - 1)
    size, count = want[-1], want[d]
    step = s.rng.randint(1, 3)
    length = (count - 1) * step + size + s.rng.randint(0, step - 1)
    if length > s.max_dim:
        step, length = 1, count - 1 + size
    if length > s.max_dim:
        return None
    source = want[:d] + (length,) + want[d + 1 : -1]
    attrs = (("dimension", signed_dim(s, d, len(source))), ("size", size), ("step", step))
    return (source,), attrs


def _padded_source(s: SpecSampler, want: Shape, dims: int, low: int, reflect: bool):
    """(source, pads): (left, right) pads in [low, 2] of the last `dims` dims, last dim first;
    reflection pads must be smaller than the source dim. None: no source in range."""
    source, pads = list(want), []
    for d in reversed(range(len(want) - dims, len(want))):
        for _ in range(8):
            left, right = s.rng.randint(low, 2), s.rng.randint(low, 2)
            source[d] = want[d] - left - right
            kept = source[d] + min(left, 0) + min(right, 0)  # negative pads crop
            fits = 1 <= source[d] <= s.max_dim and kept >= 1
            if fits and (not reflect or max(left, right) < source[d]):
                pads += [left, right]
                break
        else:
            return None
    return tuple(source), tuple(pads)


def _constant_padded(s: SpecSampler, want: Shape, dtype: torch.dtype):
    found = _padded_source(s, want, s.rng.randint(1, min(3, len(want))), -2, False)  # crops too
    return found and ((found[0],), (("pad", found[1]), ("value", _fill_value(s, dtype))))


def _padded(dims: int, reflect: bool) -> ShapeRule:
    """reflection/replication_pad{dims}d: an optional batch dim, a channel dim, `dims` dims."""

    @nonempty
    def rule(s: SpecSampler, want: Shape, dtype: torch.dtype):
        found = _padded_source(s, want, dims, 0, reflect) if len(want) <= dims + 2 else None
        return found and ((found[0],), (("padding", found[1]),))

    return rule


def _as_strided(s: SpecSampler, want: Shape, dtype: torch.dtype):
    """as_strided of a dense operand: any strides (0 and overlaps too) that stay inside it."""
    source = s.shape()
    room = math.prod(source) - 1
    offset = s.rng.randint(0, min(room, 2))
    room -= offset
    stride = [s.rng.randint(0, 3) for _ in want]
    for d in s.rng.sample(range(len(want)), len(want)):
        if want[d] > 1:
            stride[d] = min(stride[d], room // (want[d] - 1))
            room -= stride[d] * (want[d] - 1)
    attrs = (("size", want), ("stride", tuple(stride)), ("storage_offset", offset))
    return (source,), attrs


_EINSUM = (
    "i,i->", "ij->", "ij,ij->",
    "ij->i", "ij->j", "ii->i", "ij,j->i", "i,i->i", "ij,ij->i",
    "ij,jk->ik", "ij->ji", "i,j->ij", "ik,jk->ij", "bij->ij", "ij,kj->ik",
    "bij,bjk->bik", "ijk->kji", "bi,bj->bij", "bij,jk->bik", "bik,bjk->bij",
    "bhqd,bhkd->bhqk", "bhqk,bhkd->bhqd", "abcd->badc", "abc,cd->abd",
)  # fmt: skip


def _einsum(s: SpecSampler, want: Shape, dtype: torch.dtype):
    """An equation template with as many output letters as wanted dims; others sized freely."""
    templates = [e for e in _EINSUM if len(e.split("->")[1]) == len(want)]
    if not templates:
        return None
    equation = s.rng.choice(templates)
    lhs, out = equation.split("->")
    sizes = dict(zip(out, want))
    for letter in lhs.replace(",", ""):
        sizes.setdefault(letter, s.dim_size())
    shapes = tuple(tuple(sizes[c] for c in term) for term in lhs.split(","))
    return shapes, (("equation", equation),)


def _einsum_args(inputs: Sequence[Any], attrs: dict[str, Any]) -> tuple[tuple, dict[str, Any]]:
    return (attrs["equation"], list(inputs)), {}


def _t(s: SpecSampler, want: Shape, dtype: torch.dtype):
    return None if len(want) > 2 else ((want[::-1],), ())


def _renamed(rule: Callable, **names: str) -> ShapeRule:
    """A view.py rule whose attributes this op's schema names differently."""

    def renamed(s: SpecSampler, want: Shape, dtype: torch.dtype):
        found = rule(s, want)
        return found and (found[0], tuple((names.get(k, k), v) for k, v in found[1]))

    return renamed


def _pixel(shuffle: bool) -> ShapeRule:
    """pixel_shuffle: (.., C*r*r, H, W) -> (.., C, H*r, W*r); pixel_unshuffle the inverse."""

    @nonempty
    def rule(s: SpecSampler, want: Shape, dtype: torch.dtype):
        c, h, w = want[-3:]
        if shuffle:
            factors = [r for r in divisors(math.gcd(h, w)) if c * r * r <= s.max_dim]
        else:
            factors = [r for r in divisors(c) if c % (r * r) == 0 and max(h, w) * r <= s.max_dim]
        r = s.rng.choice(factors[1:] or factors)
        source = (c * r * r, h // r, w // r) if shuffle else (c // (r * r), h * r, w * r)
        return (want[:-3] + source,), (("upscale_factor" if shuffle else "downscale_factor", r),)

    return rule


@nonempty
def _channel_shuffled(s: SpecSampler, want: Shape, dtype: torch.dtype):
    groups = divisors(want[1])
    return (want,), (("groups", s.rng.choice(groups[1:] or groups)),)


@nonempty
def _interleaved(s: SpecSampler, want: Shape, dtype: torch.dtype):
    """repeat_interleave: each element `repeats` times along a dim (or flattened: no dim)."""
    d = s.rng.randrange(len(want))
    repeats = s.rng.choice(divisors(want[d]))
    size = want[d] // repeats
    if len(want) == 1 and s.chance(0.3):
        source = factor_into(s, size, s.max_rank) or (size,)
        return (source,), (("repeats", repeats), ("dim", None))
    attrs: Attrs = (("repeats", repeats), ("dim", signed_dim(s, d, len(want))))
    if s.chance(0.3):
        attrs += (("output_size", want[d]),)
    return (want[:d] + (size,) + want[d + 1 :],), attrs


def _rotated(s: SpecSampler, want: Shape, dtype: torch.dtype):
    a, b = s.rng.sample(range(len(want)), 2)
    k = s.rng.randint(-3, 4)
    source = list(want)
    if k % 2:
        source[a], source[b] = source[b], source[a]
    return (tuple(source),), (("k", k), ("dims", _signed_all(s, (a, b), len(want))))


@nonempty
def _kron(s: SpecSampler, want: Shape, dtype: torch.dtype):
    """kron: each output dim is the product of the two operands' dims (leading dims of the
    lower-rank operand count as 1)."""
    a = tuple(s.rng.choice(divisors(n)) for n in want)
    shapes = [a, tuple(n // x for n, x in zip(want, a))]
    side = s.rng.randrange(2)
    ones = next((i for i, n in enumerate(shapes[side]) if n != 1), len(want))
    if ones and s.chance(0.5):
        shapes[side] = shapes[side][s.rng.randint(1, ones) :]
    return tuple(shapes), ()


@nonempty
def _block_diag(s: SpecSampler, want: Shape, dtype: torch.dtype):
    if len(want) > 2:
        return None
    count = s.rng.randint(1, min(3, *want))
    blocks = []
    for r, c in zip(_cut(s, want[0], count), _cut(s, want[1], count)):
        if r == 1 and s.chance(0.3):  # a vector is one row; a 0-d tensor a 1x1 block
            blocks.append(() if c == 1 and s.chance(0.5) else (c,))
        else:
            blocks.append((r, c))
    return tuple(blocks), ()


def shape_op(
    name: str,
    target: Callable,
    rule: ShapeRule,
    min_rank: int = 0,
    view: bool = False,
    args: LowerArgs | None = None,
    allowed: frozenset[torch.dtype] = MOVING,
    weight: float = 0.5,
    contiguous: bool = False,
) -> OpDef:
    """An op whose operands all have the result's dtype; the rule decides shapes and attrs for
    wanted results of at least `min_rank` dims."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        dtype = want.dtype if want.dtype in allowed else s.dtype(allowed)
        if want.is_scalar or dtype is None or len(want.shape) < min_rank:
            return None
        found = rule(s, want.shape, dtype)
        if found is None:
            return None
        shapes, attrs = found
        return Proposal(tuple(Want(shape, dtype, contiguous=contiguous) for shape in shapes), attrs)

    traits = frozenset({Trait.VIEW}) if view else frozenset()
    call = args if args is not None else listed("dims", "shifts", "repeats", "pad", "padding")
    return OpDef(name, target, "shape", propose, traits, args=call, weight=weight, dtypes=allowed)


def pad_op(name: str, target: Callable, dims: int, reflect: bool) -> OpDef:
    """reflection/replication_pad{dims}d (no bool kernels)."""
    return shape_op(name, target, _padded(dims, reflect), dims + 1, allowed=NO_BOOL, weight=0.3)


_SWAPPED = _renamed(_transposed, dim0="axis0", dim1="axis1")
_STRIDED = listed("size", "stride")

OPS: tuple[OpDef, ...] = (
    shape_op("flip", aten.flip.default, _flipped, 1, weight=0.6),
    shape_op("roll", aten.roll.default, _rolled, 1, weight=0.6),
    shape_op("repeat", aten.repeat.default, _repeated, 1, weight=0.6),
    shape_op("tile", aten.tile.default, _tiled, 1, weight=0.4),
    shape_op("tril", aten.tril.default, _triangle, 2),
    shape_op("triu", aten.triu.default, _triangle, 2),
    shape_op("diagonal", aten.diagonal.default, _diagonal, 1, view=True),
    shape_op("diag_embed", aten.diag_embed.default, _diag_embedded, 2, weight=0.4),
    shape_op("movedim", aten.movedim.int, _moved, 1, view=True),
    shape_op("unfold", aten.unfold.default, _unfolded, 2, view=True),
    shape_op("constant_pad_nd", aten.constant_pad_nd.default, _constant_padded, 1, weight=0.6),
    pad_op("reflection_pad1d", aten.reflection_pad1d.default, 1, True),
    pad_op("reflection_pad2d", aten.reflection_pad2d.default, 2, True),
    pad_op("replication_pad1d", aten.replication_pad1d.default, 1, False),
    pad_op("replication_pad2d", aten.replication_pad2d.default, 2, False),
    shape_op(
        "as_strided", aten.as_strided.default, _as_strided, 0, True, _STRIDED, contiguous=True
    ),
    shape_op("einsum", aten.einsum.default, _einsum, 0, args=_einsum_args, allowed=CONTRACTING),
    shape_op("t", aten.t.default, _t, view=True, weight=0.4),
    shape_op("swapaxes", aten.swapaxes.default, _SWAPPED, 1, view=True, weight=0.3),
    shape_op("narrow_copy", aten.narrow_copy.default, _renamed(_narrowed), 1, weight=0.3),
    shape_op("pixel_shuffle", aten.pixel_shuffle.default, _pixel(True), 3, weight=0.3),
    shape_op("pixel_unshuffle", aten.pixel_unshuffle.default, _pixel(False), 3, weight=0.3),
    shape_op("channel_shuffle", aten.channel_shuffle.default, _channel_shuffled, 3, weight=0.3),
    shape_op(
        "repeat_interleave", aten.repeat_interleave.self_int, _interleaved, 1, args=positional
    ),
    shape_op("rot90", aten.rot90.default, _rotated, 2, weight=0.4),
    # Eager kron views its operands: non-contiguous ones raise.
    shape_op("kron", aten.kron.default, _kron, 1, weight=0.3, contiguous=True),
    shape_op("block_diag", aten.block_diag.default, _block_diag, 2, args=operand_list, weight=0.3),
)

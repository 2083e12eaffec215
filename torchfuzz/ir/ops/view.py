"""Shape ops: views (view, permute, slice, ...), reshape-likes, and cat/stack/split families."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from torchfuzz.ir.ops.base import (
    COMPLEX_DTYPES,
    REAL_DTYPES,
    LowerArgs,
    OpDef,
    Proposal,
    SpecSampler,
    Trait,
    Want,
    nonempty,
    operand_list,
)

aten = torch.ops.aten
Shape = tuple[int, ...]
ShapeRule = Callable[
    [SpecSampler, Shape], "tuple[tuple[Shape, ...], tuple[tuple[str, Any], ...]] | None"
]
VIEW = frozenset({Trait.VIEW})


# Shape helpers, shared with the other families.
def signed_dim(s: SpecSampler, dim: int, rank: int) -> int:
    """`dim` of a tensor of this rank, sometimes spelled as a negative index."""
    return dim - rank if s.chance(0.3) else dim


def insert_dim(shape: Shape, dim: int, size: int) -> Shape:
    return shape[:dim] + (size,) + shape[dim:]


def listed(*names: str) -> LowerArgs:
    """A call that passes these tuple attributes as lists (aten's `int[]` arguments)."""

    def args(
        inputs: Sequence[Any], attrs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return tuple(inputs), {k: list(v) if k in names else v for k, v in attrs.items()}

    return args


def divisors(n: int) -> list[int]:
    """The positive divisors of `n`, ascending."""
    return [d for d in range(1, n + 1) if n % d == 0]


def factor_into(s: SpecSampler, numel: int, max_rank: int) -> Shape | None:
    """A random shape of this numel, every dim at most `s.max_dim` (None: no such shape)."""
    primes, n, p = [], numel, 2
    while n > 1:
        while n % p == 0:
            primes.append(p)
            n //= p
        p += 1
    s.rng.shuffle(primes)
    dims: list[int] = []
    for prime in primes:
        fits = [i for i, d in enumerate(dims) if d * prime <= s.max_dim]
        if fits and (len(dims) >= max_rank or s.chance(0.6)):
            dims[s.rng.choice(fits)] *= prime
        elif len(dims) < max_rank and prime <= s.max_dim:
            dims.append(prime)
        else:
            return None
    while len(dims) < max_rank and s.chance(0.2):
        dims.insert(s.rng.randint(0, len(dims)), 1)
    return tuple(dims)


# Shape rules: wanted shape -> (operand shapes, attrs), or None when the op can't make it.
def _reshaped(size_attr: str) -> ShapeRule:
    """view/reshape: any operand of the same numel; the target size may spell one dim -1."""

    def rule(s: SpecSampler, want: Shape):
        numel = math.prod(want)
        source = factor_into(s, numel, s.max_rank) if numel else None
        if source is None:
            return None
        size = list(want)
        if size and s.chance(0.3):
            size[s.rng.randrange(len(size))] = -1
        return (source,), ((size_attr, tuple(size)),)

    return rule


def _permuted(s: SpecSampler, want: Shape):
    if len(want) < 2:
        return None
    dims = list(range(len(want)))
    s.rng.shuffle(dims)
    source = [0] * len(want)
    for out, d in enumerate(dims):
        source[d] = want[out]
    dims = [signed_dim(s, d, len(want)) for d in dims]
    return (tuple(source),), (("dims", tuple(dims)),)


def _transposed(s: SpecSampler, want: Shape):
    if not want:
        return None
    a, b = s.rng.randrange(len(want)), s.rng.randrange(len(want))
    source = list(want)
    source[a], source[b] = source[b], source[a]
    r = len(want)
    return (tuple(source),), (("dim0", signed_dim(s, a, r)), ("dim1", signed_dim(s, b, r)))


def _expanded(s: SpecSampler, want: Shape):
    source = s.broadcast_to(want)
    lead = len(want) - len(source)
    size = [
        -1 if i >= lead and source[i - lead] == w and s.chance(0.3) else w
        for i, w in enumerate(want)
    ]
    return (source,), (("size", tuple(size)),)


def _squeezed(s: SpecSampler, want: Shape):
    others = [i for i, size in enumerate(want) if size != 1]
    if others and s.chance(0.15):  # squeezing a dim that isn't 1 leaves the tensor as is
        d = s.rng.choice(others)
        return (want,), (("dim", signed_dim(s, d, len(want))),)
    d = s.rng.randint(0, len(want))
    return (insert_dim(want, d, 1),), (("dim", signed_dim(s, d, len(want) + 1)),)


def _unsqueezed(s: SpecSampler, want: Shape):
    ones = [i for i, size in enumerate(want) if size == 1]
    if not ones:
        return None
    d = s.rng.choice(ones)
    return (want[:d] + want[d + 1 :],), (("dim", signed_dim(s, d, len(want))),)


@nonempty
def _sliced(s: SpecSampler, want: Shape):
    if not want:
        return None
    d = s.rng.randrange(len(want))
    n = want[d]
    step = s.rng.choice([k for k in (1, 2, 3) if (n - 1) * k + 1 <= s.max_dim] or [1])
    start = s.rng.randint(0, max(0, s.max_dim - (n - 1) * step - 1))
    stop = start + (n - 1) * step + 1  # one past the last element taken
    end: int | None
    if s.chance(0.3):  # slice to the end: the dim must have no room for another step
        size = s.rng.randint(stop, max(stop, min(stop + step - 1, s.max_dim)))
        end = None if s.chance(0.5) else size + s.rng.randint(0, 4)  # past the end clamps
    else:
        size = s.rng.randint(stop, max(stop, s.max_dim))
        end = s.rng.randint(stop, min(stop + step - 1, size))
        if end < size and s.chance(0.3):
            end -= size
    if s.chance(0.3):
        start -= size
    source = want[:d] + (size,) + want[d + 1 :]
    attrs = (("dim", signed_dim(s, d, len(want))), ("start", start), ("end", end), ("step", step))
    return (source,), attrs


def _selected(s: SpecSampler, want: Shape):
    d = s.rng.randint(0, len(want))
    size = s.dim_size()
    index = s.rng.randrange(size)
    if s.chance(0.3):
        index -= size
    return (insert_dim(want, d, size),), (
        ("dim", signed_dim(s, d, len(want) + 1)),
        ("index", index),
    )


def _narrowed(s: SpecSampler, want: Shape):
    if not want:
        return None
    d = s.rng.randrange(len(want))
    size = s.rng.randint(want[d], max(want[d], s.max_dim))
    start = s.rng.randint(0, size - want[d])
    source = want[:d] + (size,) + want[d + 1 :]
    return (source,), (("dim", signed_dim(s, d, len(want))), ("start", start), ("length", want[d]))


@nonempty
def _flattened(s: SpecSampler, want: Shape):
    if not want:
        return None
    d = s.rng.randrange(len(want))
    parts = factor_into(s, want[d], max(1, s.max_rank + 1 - len(want)))
    if parts is None or not parts:
        parts = (want[d],)
    source = want[:d] + parts + want[d + 1 :]
    r = len(source)
    end = d + len(parts) - 1
    return (source,), (("start_dim", signed_dim(s, d, r)), ("end_dim", signed_dim(s, end, r)))


def _same(s: SpecSampler, want: Shape):
    return (want,), ()


@nonempty
def _concatenated(s: SpecSampler, want: Shape):
    if not want:
        return None
    d = s.rng.randrange(len(want))
    cuts = sorted(s.rng.sample(range(1, want[d]), min(want[d] - 1, s.rng.randint(0, 3))))
    bounds = [0, *cuts, want[d]]
    parts = tuple(want[:d] + (hi - lo,) + want[d + 1 :] for lo, hi in itertools.pairwise(bounds))
    return parts, (("dim", signed_dim(s, d, len(want))),)


@nonempty
def _stacked(s: SpecSampler, want: Shape):
    dims = [i for i, size in enumerate(want) if size <= 4]
    if not dims:
        return None
    d = s.rng.choice(dims)
    part = want[:d] + want[d + 1 :]
    return (part,) * want[d], (("dim", signed_dim(s, d, len(want))),)


def _split_sizes(length: int, chunk: int) -> list[int]:
    return [min(chunk, length - start) for start in range(0, length, chunk)]


def _chunk_sizes(length: int, chunks: int) -> list[int]:
    return _split_sizes(length, -(-length // chunks))


def _piece(
    sizes_of: Callable[[int, int], list[int]], count_attr: str, max_count: int = 0
) -> ShapeRule:
    """Cut a dim into pieces (split/chunk) so that one of them, picked by `index`, is wanted."""

    @nonempty
    def rule(s: SpecSampler, want: Shape):
        if not want:
            return None
        d = s.rng.randrange(len(want))
        choices = [
            (length, count, i)
            for length in range(want[d], s.max_dim + 1)
            for count in range(1, (max_count or s.max_dim) + 1)
            for i, size in enumerate(sizes_of(length, count))
            if size == want[d]
        ]
        if not choices:
            return None
        length, count, i = s.rng.choice(choices)
        attrs = ((count_attr, count), ("dim", signed_dim(s, d, len(want))), ("index", i))
        return (want[:d] + (length,) + want[d + 1 :],), attrs

    return rule


def _unbound(s: SpecSampler, want: Shape):
    d = s.rng.randint(0, len(want))
    size = s.rng.randint(1, 4)
    attrs = (("dim", signed_dim(s, d, len(want) + 1)), ("index", s.rng.randrange(size)))
    return (insert_dim(want, d, size),), attrs


def _contiguous_args(
    inputs: Sequence[Any], attrs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    # torch.memory_format is not an attribute type, so the call supplies it.
    return tuple(inputs), {**attrs, "memory_format": torch.contiguous_format}


def shape_op(
    name: str,
    target: Callable,
    rule: ShapeRule,
    traits: frozenset[Trait] = VIEW,
    args: LowerArgs | None = None,
    contiguous: bool = False,
    select: str | None = None,
    allowed: frozenset[torch.dtype] = REAL_DTYPES | COMPLEX_DTYPES,
    weight: float = 1.0,
) -> OpDef:
    """An op that moves data of one dtype around: the rule decides operand shapes and attrs."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        dtype = want.dtype if want.dtype in allowed else s.dtype(allowed)
        found = None if want.is_scalar or dtype is None else rule(s, want.shape)
        if found is None:
            return None
        shapes, attrs = found
        return Proposal(tuple(Want(shape, dtype, contiguous=contiguous) for shape in shapes), attrs)

    call = args if args is not None else listed("size", "shape", "dims")
    return OpDef(
        name,
        target,
        "view",
        propose,
        traits,
        args=call,
        select=select,
        weight=weight,
        dtypes=allowed,
    )


# Also used by the generator to give `view` a dense operand.
CONTIGUOUS = shape_op(
    "contiguous", aten.clone.default, _same, frozenset(), _contiguous_args, weight=0.5
)

OPS: tuple[OpDef, ...] = (
    shape_op("view", aten.view.default, _reshaped("size"), contiguous=True),
    shape_op("reshape", aten.reshape.default, _reshaped("shape"), frozenset()),
    shape_op("permute", aten.permute.default, _permuted),
    shape_op("transpose", aten.transpose.int, _transposed),
    shape_op("expand", aten.expand.default, _expanded),
    shape_op("squeeze", aten.squeeze.dim, _squeezed, weight=0.5),
    shape_op("unsqueeze", aten.unsqueeze.default, _unsqueezed),
    shape_op("slice", aten.slice.Tensor, _sliced),
    shape_op("select", aten.select.int, _selected),
    shape_op("narrow", aten.narrow.default, _narrowed),
    shape_op("flatten", aten.flatten.using_ints, _flattened, frozenset()),
    CONTIGUOUS,
    shape_op("cat", aten.cat.default, _concatenated, frozenset(), operand_list),
    shape_op("stack", aten.stack.default, _stacked, frozenset(), operand_list, weight=0.5),
    shape_op("split", aten.split.Tensor, _piece(_split_sizes, "split_size"), select="index"),
    shape_op("chunk", aten.chunk.default, _piece(_chunk_sizes, "chunks", 4), select="index"),
    shape_op("unbind", aten.unbind.int, _unbound, select="index", weight=0.5),
)

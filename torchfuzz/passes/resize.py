"""Sizes for the dynamic-shape variants: which input dims to mark dynamic, and the same
program with one size grown (the recompile variant's second call).

Both choose one *size* s >= 2 of the graph's tensor inputs rather than one dim: every input
dim of that size is marked, or grown, together.  Dims that broadcast against each other or
that an op matches (mm's inner dims, cat's other dims) have equal sizes, so they stay equal,
and the marked dims relate symbolically (Dynamo's duck sizing gives equal sizes one symbol).
Size-1 dims never change: they broadcast, and Dynamo specializes them.

Choices are a function of the graph and the case seed, drawn from streams of their own
(``random.Random(f"resize:{seed}")``), so they are reproducible and change no program.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random

from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import TensorSpec, contiguous_strides
from torchfuzz.passes.respecify import respecify

log = logging.getLogger(__name__)

__all__ = ["grow", "marked_dims", "resize"]


def _sizes(graph: Graph) -> list[int]:
    """The distinct sizes >= 2 of the tensor inputs' dims, ascending."""
    return sorted(
        {n for inp in graph.inputs if isinstance(inp.spec, TensorSpec) for n in inp.spec.shape}
        - {0, 1}
    )


def _restride(spec: TensorSpec, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Strides laying `shape` out as `spec` is laid out: the same order of dims in memory,
    the same gaps (a step along a dim) and the same broadcast (stride-0) dims; None when
    the layout is none of these (an inner span that does not divide an outer stride)."""
    if spec.is_contiguous:
        return contiguous_strides(shape)
    stride = list(spec.stride)
    placed = sorted(
        (d for d in range(spec.rank) if spec.stride[d] != 0 and spec.shape[d] > 1),
        key=lambda d: (spec.stride[d], -d),
    )
    old_span = new_span = 1  # elements spanned by the dims placed so far, innermost first
    for d in placed:
        gap, rest = divmod(spec.stride[d], old_span)
        if rest:
            return None
        stride[d] = gap * new_span
        old_span, new_span = spec.stride[d] * spec.shape[d], stride[d] * shape[d]
    return tuple(stride)


def grow(graph: Graph, size: int, new: int) -> Graph | None:
    """`graph` with every tensor-input dim of `size` made `new` and the node specs
    re-derived; None when PyTorch rejects a node at the new size (the program hard-codes
    the size, e.g. in a view's shape), an input holds literal data of that size, or an
    input's domain cannot hold the grown input (a `permutation` needs numel <= bound)."""
    if size < 2 or new < 2:
        raise ValueError(f"only sizes >= 2 change, got {size} -> {new}")
    result = graph.copy()
    for inp in graph.inputs:
        spec = inp.spec
        if not isinstance(spec, TensorSpec) or size not in spec.shape:
            continue
        if inp.data is not None:
            return None
        shape = tuple(new if n == size else n for n in spec.shape)
        stride = _restride(spec, shape)
        if stride is None:
            return None
        if not inp.domain.holds(math.prod(shape)):
            return None
        result.replace_input(inp.name, spec=dataclasses.replace(spec, shape=shape, stride=stride))
    return respecify(result)


def _new_size(rng: random.Random, size: int, taken: set[int]) -> int:
    # Larger, and no size the program already has: equal sizes would merge symbols.
    fresh = [n for n in range(size + 1, 2 * size + 2) if n not in taken]
    return rng.choice(fresh) if fresh else max(taken) + 1


def resize(graph: Graph, seed: int) -> Graph | None:
    """The same program with one input size s >= 2 replaced by a larger s' in every
    tensor input that has it (see the module docstring); None when no size can grow.

    The lowered program is unchanged (attributes are kept, only specs are re-derived),
    so the resized graph runs the very same code on inputs of new sizes.
    """
    rng = random.Random(f"resize:{seed}")
    sizes = _sizes(graph)
    taken = set(sizes)
    rng.shuffle(sizes)
    for size in sizes:
        new = _new_size(rng, size, taken)
        result = grow(graph, size, new)
        if result is not None:
            log.debug("resized %d -> %d", size, new)
            return result
    return None


def marked_dims(graph: Graph, seed: int) -> tuple[tuple[int, ...], ...]:
    """Per graph input (in order), the dims to mark dynamic: every tensor-input dim of one
    size s >= 2.  The size is drawn from the seed among those the program does not
    hard-code (those :func:`grow` can change), else among all; empty when there is none."""
    rng = random.Random(f"mark_dynamic:{seed}")
    sizes = _sizes(graph)
    taken = set(sizes)
    rng.shuffle(sizes)
    free = (s for s in sizes if grow(graph, s, _new_size(rng, s, taken)) is not None)
    chosen = next(free, sizes[0] if sizes else None)
    return tuple(
        tuple(d for d, n in enumerate(inp.spec.shape) if n == chosen)
        if isinstance(inp.spec, TensorSpec)
        else ()
        for inp in graph.inputs
    )

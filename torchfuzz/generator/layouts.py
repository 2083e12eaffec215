"""Layouts of generated graph inputs: permuted, stepped and expanded strides."""

from __future__ import annotations

import random

import torch

from torchfuzz.ir.types import TensorSpec, contiguous_strides


def noncontiguous_strides(rng: random.Random, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Strides of a non-contiguous layout of `shape` (which must have 2+ elements):
    permuted dims, or a step along one dim of size > 1."""
    rank = len(shape)
    if rank >= 2 and rng.random() < 0.6:
        order = list(range(rank))
        rng.shuffle(order)
        # Lay the dims out in `order` (outermost first) and read the strides back.
        permuted = contiguous_strides(tuple(shape[d] for d in order))
        strides = [0] * rank
        for position, d in enumerate(order):
            strides[d] = permuted[position]
        if not TensorSpec(shape, tuple(strides), torch.float32).is_contiguous:
            return tuple(strides)
    step = rng.choice((2, 3))
    dim = rng.choice([d for d, size in enumerate(shape) if size > 1])
    padded = list(shape)
    padded[dim] = shape[dim] * step
    strides = list(contiguous_strides(tuple(padded)))
    strides[dim] *= step
    return tuple(strides)


def expanded_strides(rng: random.Random, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Strides of an expanded layout of `shape` (which must have a dim of size > 1): the
    dense strides of `shape` with some dims of size > 1 broadcast (stride 0), as `expand`
    makes them."""
    wide = [d for d, size in enumerate(shape) if size > 1]
    expanded = set(rng.sample(wide, rng.randint(1, len(wide))))
    base = tuple(1 if d in expanded else size for d, size in enumerate(shape))
    dense = contiguous_strides(base)
    return tuple(0 if d in expanded else dense[d] for d in range(len(shape)))

"""Layer ops: the output-size rules the proposals invert agree with ATen's."""

from __future__ import annotations

import itertools
import random

import pytest
import torch

from torchfuzz.ir.ops import layers
from torchfuzz.ir.ops.base import SpecSampler, Want

aten = torch.ops.aten
SIZES = range(1, 9)


def meta(*shape: int) -> torch.Tensor:
    return torch.empty(shape, device="meta")


def _aten_size(op, n: int, *args) -> int:
    """ATen's output length for an input of length n, or 0 where it rejects the window."""
    try:
        return op(meta(1, 2, n), *args).shape[-1]
    except RuntimeError:
        return 0


@pytest.mark.parametrize("k,st,p,d", list(itertools.product((1, 2, 3), (1, 2), (0, 1, 2), (1, 2))))
def test_conv_size_is_atens(k: int, st: int, p: int, d: int) -> None:
    weight = meta(2, 2, k)
    for n in SIZES:
        expected = _aten_size(aten.conv1d.default, n, weight, None, [st], [p], [d])
        assert layers._conv_size(n, (k, st, p, d)) == expected, n


@pytest.mark.parametrize("k,st,p,d", list(itertools.product((1, 2, 3), (1, 2), (0, 1, 2), (1, 2))))
def test_transposed_size_is_atens(k: int, st: int, p: int, d: int) -> None:
    weight = meta(2, 2, k)
    for n, extra in itertools.product(SIZES, range(max(st, d))):
        window = (k, st, p, d, extra)
        args = (weight, None, [st], [p], [extra], 1, [d])
        expected = _aten_size(aten.conv_transpose1d.default, n, *args)
        assert max(layers._transposed_size(n, window), 0) == expected, (n, extra)


@pytest.mark.parametrize(
    "k,st,d,ceil", list(itertools.product((1, 2, 3), (1, 2, 3), (1, 2), (False, True)))
)
def test_pool_size_is_atens(k: int, st: int, d: int, ceil: bool) -> None:
    size = layers._pool_size(ceil)
    for n, p in itertools.product(SIZES, range(k // 2 + 1)):
        expected = _aten_size(aten.max_pool1d.default, n, [k], [st], [p], [d], ceil)
        assert size(n, (k, st, p, d)) == expected, (n, p)


@pytest.mark.parametrize(
    "op", [op for op in layers.OPS if op.name.startswith(("conv", "max_pool"))]
)
def test_windowed_ops_reach_every_small_size(op) -> None:
    """The backward search finds inputs within max_dim for every wanted spatial size."""
    rng = random.Random(op.name)
    sampler = SpecSampler(rng, (torch.float32,), max_dim=8)
    k = 2 if op.name.endswith("2d") else 1
    for out in SIZES:
        want = Want((2, 3) + (out,) * k, torch.float32)
        proposal = op.propose(sampler, want)
        assert proposal is not None, out
        assert all(0 < size <= 8 for size in proposal.inputs[0].shape), proposal

"""Creation ops: arange and linspace attributes give exactly the wanted length, with values
that are exact in the output dtype (so no rounding separates a dtype from its float64 twin)."""

from __future__ import annotations

import random

import pytest
import torch

from torchfuzz.ir.catalogue import CATALOGUE
from torchfuzz.ir.ops.base import FLOAT_DTYPES, INT_DTYPES, SpecSampler, Want

NUMERIC = sorted(FLOAT_DTYPES | INT_DTYPES, key=str)


@pytest.mark.parametrize("name", ["arange", "linspace"])
@pytest.mark.parametrize("dtype", NUMERIC, ids=str)
def test_exact_ranges(name: str, dtype: torch.dtype) -> None:
    op = CATALOGUE.get(name)
    sampler = SpecSampler(random.Random(f"{name}:{dtype}"), (dtype,))
    for n in range(1, 9):
        for _ in range(10):
            proposal = op.propose(sampler, Want((n,), dtype))
            assert proposal is not None and not proposal.inputs
            attrs = dict(proposal.attrs)
            result = op.target(**attrs)
            assert result.shape == (n,) and result.dtype == dtype, attrs
            wide = op.target(**(attrs | {"dtype": torch.float64}))
            if name == "arange" or not dtype.is_floating_point:
                assert torch.equal(result.to(torch.float64), wide), attrs


def test_creation_without_operands_declares_its_dtype() -> None:
    """Ops made from attributes alone produce the wanted dtype (no conversion needed)."""
    for name in ("zeros", "ones", "eye", "arange", "linspace", "logspace"):
        op = CATALOGUE.get(name)
        sampler = SpecSampler(random.Random(name), tuple(op.dtypes))
        for dtype in op.dtypes:
            proposal = op.propose(sampler, Want((3, 2) if name == "eye" else (4,), dtype))
            assert proposal is not None, (name, dtype)
            assert op.target(**dict(proposal.attrs)).dtype == dtype

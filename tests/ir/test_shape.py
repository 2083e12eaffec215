"""Shape ops: every einsum template is reachable and as_strided stays inside its operand."""

from __future__ import annotations

import math
import random

import torch

from torchfuzz.ir.catalogue import CATALOGUE
from torchfuzz.ir.fast_infer import infer_spec
from torchfuzz.ir.ops.base import SpecSampler, Want
from torchfuzz.ir.ops.shape import _EINSUM

DTYPES = (torch.float32,)


def _wants(rng: random.Random, ranks: range):
    while True:
        yield Want(tuple(rng.randint(1, 6) for _ in range(rng.choice(ranks))), torch.float32)


def test_every_einsum_template_makes_the_wanted_shape() -> None:
    op = CATALOGUE.get("einsum")
    rng = random.Random("einsum")
    sampler = SpecSampler(rng, DTYPES, max_rank=4, max_dim=6)
    seen = set()
    for _, want in zip(range(2000), _wants(rng, range(5))):
        proposal = op.propose(sampler, want)
        attrs = dict(proposal.attrs)
        seen.add(attrs["equation"])
        spec = infer_spec(op, [w.spec() for w in proposal.inputs], attrs)
        assert spec.shape == want.shape, (attrs, proposal.inputs)
        if len(seen) == len(_EINSUM):
            break
    assert seen == set(_EINSUM)


def test_as_strided_stays_inside_its_dense_operand() -> None:
    op = CATALOGUE.get("as_strided")
    rng = random.Random("as_strided")
    sampler = SpecSampler(rng, DTYPES, max_rank=4, max_dim=6)
    for _, want in zip(range(300), _wants(rng, range(5))):
        proposal = op.propose(sampler, want)
        (operand,) = proposal.inputs
        assert operand.contiguous
        attrs = dict(proposal.attrs)
        last = attrs["storage_offset"] + sum(
            (n - 1) * st for n, st in zip(attrs["size"], attrs["stride"], strict=True)
        )
        assert last < math.prod(operand.shape), (attrs, operand.shape)

"""The scatter family: plain (non-accumulating) writes never hit one element twice."""

from __future__ import annotations

import random

import pytest
import torch

from torchfuzz.backends.inputs import input_call, make_permutation, make_tensor
from torchfuzz.ir.catalogue import CATALOGUE
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.infer import apply_op
from torchfuzz.ir.ops.base import SpecSampler, Want
from torchfuzz.ir.types import (
    DOMAIN_RULES,
    Domain,
    TensorSpec,
    contiguous_strides,
    index_domain,
    permutation_domain,
)

DTYPES = (torch.float32, torch.int64)


def test_permutation_domain() -> None:
    assert str(permutation_domain(5)) == "permutation<5"
    assert "permutation" in DOMAIN_RULES
    with pytest.raises(ValueError):
        Domain("permutation")
    with pytest.raises(ValueError):
        Domain("any", 3)


def test_make_permutation_is_distinct_in_range_and_strided() -> None:
    out = make_permutation((3, 2), (1, 3), torch.int64, 7, seed=1)
    assert out.stride() == (1, 3)
    values = out.flatten().tolist()
    assert len(set(values)) == 6 and all(0 <= v < 7 for v in values)
    assert torch.equal(out, make_permutation((3, 2), (1, 3), torch.int64, 7, seed=1))
    with pytest.raises(ValueError):
        make_permutation((3, 3), (3, 1), torch.int64, 8, seed=1)


def test_input_call_dispatches_on_the_domain() -> None:
    graph = Graph()
    spec = TensorSpec.contiguous((4,), torch.int64)
    index = graph.value(graph.add_input(spec, index_domain(3)))
    distinct = graph.value(graph.add_input(spec, permutation_domain(6)))
    assert input_call(index, 0)[0] is make_tensor
    fn, args = input_call(distinct, 0)
    assert fn is make_permutation and args[3] == 6


def _operand(want: Want, fill: float, seed: int) -> torch.Tensor:
    """Indices from their domain (dense), every other tensor filled with `fill`."""
    stride = contiguous_strides(want.shape)
    if want.domain.kind == "permutation":
        return make_permutation(want.shape, stride, want.dtype, want.domain.bound, seed)
    if want.domain.kind == "index":
        return make_tensor(want.shape, stride, want.dtype, 0, want.domain.bound - 1, False, seed)
    return torch.full(want.shape, fill).to(want.dtype)


# A plain write and the accumulating op with the same operands: writing ones into zeros with
# the latter counts how often each element is written by the former.
COUNTERPARTS = {
    "scatter": "scatter_add",
    "index_copy": "index_add",
    "index_put": "index_put_accumulate",
    "put": "put_accumulate",
    "index_put_": "index_put_accumulate_",  # in place: the counts are written into the zeros
}


@pytest.mark.parametrize("name", sorted(COUNTERPARTS))
def test_plain_writes_hit_each_element_at_most_once(name: str) -> None:
    op, counter = CATALOGUE.get(name), CATALOGUE.get(COUNTERPARTS[name])
    rng = random.Random(name)
    sampler = SpecSampler(rng, DTYPES, max_rank=4, max_dim=6)
    made = 0
    for attempt in range(200):
        shape = tuple(rng.randint(1, 6) for _ in range(rng.randint(1, 4)))
        proposal = op.propose(sampler, Want(shape, torch.float32))
        if proposal is None:
            continue
        made += 1
        fills = [0.0] + [1.0] * (len(proposal.inputs) - 1)
        operands = [_operand(w, f, attempt) for w, f in zip(proposal.inputs, fills, strict=True)]
        attrs = dict(proposal.attrs)
        counts = apply_op(counter, operands, attrs)
        assert counts.max() <= 1, (proposal, counts)
        apply_op(op, operands, attrs)  # and the plain write runs on them
    assert made > 50


def test_as_strided_scatter_windows_are_injective() -> None:
    op = CATALOGUE.get("as_strided_scatter")
    rng = random.Random("as_strided_scatter")
    sampler = SpecSampler(rng, DTYPES, max_rank=4, max_dim=6)
    for _ in range(200):
        shape = tuple(rng.randint(1, 6) for _ in range(rng.randint(1, 4)))
        proposal = op.propose(sampler, Want(shape, torch.float32))
        attrs = dict(proposal.attrs)
        numel = torch.Size(shape).numel()
        window = torch.arange(numel).as_strided(
            attrs["size"], attrs["stride"], attrs["storage_offset"]
        )
        assert window.unique().numel() == window.numel(), attrs

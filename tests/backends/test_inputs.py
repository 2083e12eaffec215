"""Input builders: exact layouts (strides and storage offset) for every layout kind."""

import pytest
import torch

from torchfuzz.backends.inputs import (
    TENSOR_CALLS,
    input_call,
    make_inputs,
    make_literal,
    make_permutation,
    make_tensor,
)
from torchfuzz.ir.graph import Graph, Input
from torchfuzz.ir.types import (
    DOMAIN_RULES,
    BoundRole,
    Domain,
    DomainKind,
    TensorSpec,
    index_domain,
    permutation_domain,
)

# (shape, stride) of each layout kind the generator makes.
LAYOUTS = {
    "contiguous": ((2, 3, 4), (12, 4, 1)),
    "permuted": ((2, 3, 4), (1, 8, 2)),
    "stepped": ((2, 3), (6, 2)),
    "expanded": ((2, 3, 4), (0, 4, 1)),
    "all-expanded": ((3, 2), (0, 0)),
    "rank-0": ((), ()),
    "size-0": ((2, 0, 3), (3, 3, 1)),
    "rank-5": ((2, 1, 2, 3, 2), (12, 12, 6, 2, 1)),
}
DTYPES = (torch.float32, torch.bfloat16, torch.int8, torch.int16, torch.uint8, torch.bool)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_make_tensor_gives_exactly_the_layout_at_any_offset(layout):
    shape, stride = LAYOUTS[layout]
    for dtype in DTYPES:
        plain = make_tensor(shape, stride, dtype, -4, 4, False, 7)
        for offset in (0, 1, 17):
            t = make_tensor(shape, stride, dtype, -4, 4, False, 7, offset)
            got = (tuple(t.shape), t.stride(), t.storage_offset(), t.dtype)
            assert got == (shape, stride, offset, dtype)
            assert torch.equal(t, plain)  # the offset moves the data, never changes it
            if offset and t.numel():
                assert not t.as_strided((offset,), (1,), 0).any()  # a zero prefix
    assert (make_tensor(shape, stride, torch.uint8, -4, 4, False, 7) >= 0).all()


def test_permutation_and_literal_inputs_honour_offsets():
    p = make_permutation((3, 2), (1, 3), torch.int64, 9, 1, offset=5)
    assert (p.stride(), p.storage_offset()) == ((1, 3), 5)
    assert torch.equal(p, make_permutation((3, 2), (1, 3), torch.int64, 9, 1))
    lit = make_literal((2, 2), (1, 2), torch.int8, [1, 2, 3, 4], 3)
    assert (lit.stride(), lit.storage_offset()) == ((1, 2), 3)
    assert lit.flatten().tolist() == [1, 2, 3, 4]


def test_input_calls_pass_the_offset_only_when_there_is_one():
    """Scripts of offset-free inputs read as before the offset existed."""
    g = Graph()
    plain = g.add_input(TensorSpec((2, 3), (3, 1), torch.float32))
    shifted = g.add_input(TensorSpec((2, 3), (1, 2), torch.int16, 4), index_domain(3))
    perm = g.add_input(TensorSpec((2,), (1,), torch.int64, 2), permutation_domain(5))
    g.set_outputs([plain, shifted, perm])
    calls = [input_call(i, 0) for i in g.inputs]
    assert len(calls[0][1]) == 7 and calls[1][1][-1] == 4 and calls[2][1][-1] == 2
    values = make_inputs(g, 0)
    assert [v.storage_offset() for v in values] == [0, 4, 2]
    assert 0 <= values[1].min() and values[1].max() < 3


def test_every_domain_kind_has_a_tensor_builder():
    assert set(TENSOR_CALLS) == set(DomainKind)


@pytest.mark.parametrize("kind", list(DomainKind))
@pytest.mark.parametrize("dtype", [torch.float32, torch.int64])
def test_built_inputs_keep_their_domain_promise(kind, dtype):
    bound = 0 if DOMAIN_RULES[kind].bound is BoundRole.NONE else 6  # a permutation fits
    inp = Input("x", TensorSpec((2, 3), (3, 1), dtype), Domain(kind, bound), key=1)
    fn, args = input_call(inp, 7)
    values = fn(*args).flatten().tolist()
    assert inp.domain.admits(values), (kind, values)

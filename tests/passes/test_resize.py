"""Resizing programs for the recompile variant, and choosing the dims mark_dynamic marks."""

import pytest
import torch

from tests._core_ops import CORE_OPS
from tests.passes._build import node, tensor
from torchfuzz.backends.lowering import lower_to_fx
from torchfuzz.backends.runner import run_eager
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import TensorSpec, permutation_domain
from torchfuzz.passes.resize import grow, marked_dims, resize
from torchfuzz.passes.validate import verify

F32 = torch.float32


def _broadcasting() -> Graph:
    """x0[3,4] + x1[4] and x0 * x2[1,4]: the 4s broadcast together, the 1 never grows."""
    g = Graph()
    x0, x1, x2 = tensor(g, (3, 4), F32), tensor(g, (4,), F32), tensor(g, (1, 4), F32)
    g.set_outputs([node(g, "add", [x0, x1]), node(g, "mul", [x0, x2])])
    return g


def _code(graph: Graph) -> str:
    return lower_to_fx(graph).python_code(root_module="self").src


def test_broadcasting_inputs_grow_together_and_size_one_dims_stay() -> None:
    g = _broadcasting()
    before = {i.name: i.spec.shape for i in g.inputs}
    grown = grow(g, 4, 6)
    assert grown is not None
    assert [i.spec.shape for i in grown.inputs] == [(3, 6), (6,), (1, 6)]
    assert [grown.spec(o).shape for o in grown.outputs] == [(3, 6), (3, 6)]
    assert {i.name: i.spec.shape for i in g.inputs} == before  # the input graph is unchanged
    verify(grown)
    outputs = run_eager(grown, 0)
    assert [tuple(o.shape) for o in outputs] == [(3, 6), (3, 6)]


def test_resize_grows_one_size_to_a_new_larger_one_deterministically() -> None:
    g = _broadcasting()
    for seed in range(6):
        resized = resize(g, seed)
        assert resized is not None and resized == resize(g, seed)
        old = [i.spec.shape for i in g.inputs]
        new = [i.spec.shape for i in resized.inputs]
        changed = {(a, b) for o, n in zip(old, new) for a, b in zip(o, n) if a != b}
        assert len(changed) == 1, changed
        ((size, grown_to),) = changed
        assert size in (3, 4) and grown_to > size and grown_to not in (3, 4)


def test_a_hard_coded_size_is_not_grown() -> None:
    g = Graph()
    x0 = tensor(g, (3, 4), F32)
    flat = node(g, "view", [x0], (("size", (12,)),))
    g.set_outputs([node(g, "neg", [flat])])
    assert grow(g, 3, 5) is None and grow(g, 4, 5) is None
    assert resize(g, 0) is None


def test_literal_data_and_permutation_bounds_block_growth() -> None:
    g = Graph()
    x0 = g.add_input(TensorSpec.contiguous((2, 3), F32), data=(1.0,) * 6)
    g.set_outputs([node(g, "neg", [x0])])
    assert grow(g, 3, 4) is None
    for bound, grows in ((7, False), (8, True)):
        g = Graph()
        x0 = g.add_input(TensorSpec.contiguous((2, 3), torch.int64), permutation_domain(bound))
        g.set_outputs([node(g, "neg", [x0])])
        assert (grow(g, 3, 4) is not None) is grows  # 8 distinct values below the bound?


@pytest.mark.parametrize(
    ("stride", "size", "new", "expected"),
    [
        ((1, 3), 3, 5, (1, 5)),  # column-major stays column-major
        ((8, 2), 4, 5, (10, 2)),  # a step of 2 along dim 1 is kept
        ((8, 2), 3, 5, (8, 2)),
        ((8, 1), 4, 5, (10, 1)),  # a step of 2 along dim 0 is kept
        ((0, 1), 3, 5, (0, 1)),  # an expanded (broadcast) dim stays expanded
        ((0, 1), 4, 6, (0, 1)),
    ],
)
def test_layouts_are_kept(stride, size, new, expected) -> None:
    g = Graph()
    x0 = g.add_input(TensorSpec((3, 4), stride, F32))
    g.set_outputs([node(g, "neg", [x0])])
    grown = grow(g, size, new)
    assert grown is not None
    spec = grown.spec(x0)
    assert spec.shape == tuple(new if n == size else n for n in (3, 4))
    assert spec.stride == expected
    (value,) = run_eager(grown, 0)
    assert tuple(value.shape) == spec.shape


def test_resized_generated_programs_run_the_same_code() -> None:
    """The lowered code is unchanged (only specs are re-derived), the result verifies, and
    eager computes outputs of the declared new shapes."""
    options = GeneratorOptions(ops=CORE_OPS)
    resized_count = 0
    for seed in range(8):
        g = generate(seed, options)
        resized = resize(g, seed)
        if resized is None:
            continue
        resized_count += 1
        verify(resized)
        assert _code(resized) == _code(g)
        assert [i.spec for i in resized.inputs] != [i.spec for i in g.inputs]
        for out, value in zip(resized.outputs, run_eager(resized, seed)):
            spec = resized.spec(out)
            if isinstance(spec, TensorSpec):
                assert tuple(value.shape) == spec.shape, (seed, out)
    assert resized_count >= 5


def test_marked_dims_are_every_dim_of_one_size_and_deterministic() -> None:
    g = _broadcasting()
    seen = set()
    for seed in range(8):
        marked = marked_dims(g, seed)
        assert marked == marked_dims(g, seed)
        assert marked in (((1,), (0,), (1,)), ((0,), (), ()))  # all the 4s, or the 3
        seen.add(marked)
    assert len(seen) == 2  # the seed decides


def test_marked_dims_prefer_a_size_the_program_does_not_hard_code() -> None:
    g = Graph()
    x0, x1 = tensor(g, (3, 4), F32), tensor(g, (5,), F32)
    flat = node(g, "view", [x0], (("size", (12,)),))
    g.set_outputs([node(g, "neg", [flat]), node(g, "neg", [x1])])
    for seed in range(4):
        assert marked_dims(g, seed) == ((), (0,))


def test_no_size_to_mark_or_grow() -> None:
    g = Graph()
    x0 = tensor(g, (1, 1), F32)
    g.set_outputs([node(g, "neg", [x0])])
    assert marked_dims(g, 0) == ((),) and resize(g, 0) is None

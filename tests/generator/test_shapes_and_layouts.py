"""Generated programs reach storage offsets, size-0 dims, rank 5, small integer dtypes and
rank-0 broadcasting, and eager runs them."""

import functools

import pytest
import torch

from torchfuzz.backends.inputs import make_inputs
from torchfuzz.backends.runner import run_eager
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import DEFAULT_DTYPES, GeneratorOptions
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import TensorSpec

SEEDS = range(150)
SMALL_INTS = (torch.int8, torch.int16, torch.uint8)


@functools.cache
def _programs() -> dict[int, Graph]:
    return {seed: generate(seed) for seed in SEEDS}


def _tensor_specs(graph: Graph) -> list[TensorSpec]:
    return [v.spec for v in graph.values() if isinstance(v.spec, TensorSpec)]


def _features(graph: Graph) -> set[str]:
    specs = _tensor_specs(graph)
    found = {str(s.dtype) for s in specs if s.dtype in SMALL_INTS}
    if any(isinstance(i.spec, TensorSpec) and i.spec.offset for i in graph.inputs):
        found.add("offset")
    if any(0 in s.shape for s in specs):
        found.add("empty")
    if any(s.rank == 5 for s in specs):
        found.add("rank5")
    for node in graph.nodes:
        ranks = [s.rank for s in map(graph.spec, node.inputs) if isinstance(s, TensorSpec)]
        if 0 in ranks and max(ranks) > 0:
            found.add("rank0-broadcast")
    return found


def test_defaults_take_rank_5_and_the_small_integer_dtypes():
    options = GeneratorOptions()
    assert options.max_rank == 5 and set(SMALL_INTS) <= set(DEFAULT_DTYPES)
    assert GeneratorOptions.from_dict({"max_rank": 4}).p_offset == options.p_offset  # old cases


@pytest.mark.slow
def test_programs_show_every_new_shape_layout_and_dtype():
    counts: dict[str, int] = {}
    for graph in _programs().values():
        for feature in _features(graph):
            counts[feature] = counts.get(feature, 0) + 1
        for inp in graph.inputs:
            if isinstance(inp.spec, TensorSpec) and inp.spec.offset:
                assert inp.domain.kind != "permutation" or inp.spec.numel <= inp.domain.bound
    assert counts.get("offset", 0) >= 15, counts
    assert counts.get("rank5", 0) >= 15, counts
    assert counts.get("rank0-broadcast", 0) >= 10, counts
    assert all(counts.get(str(d), 0) >= 10 for d in SMALL_INTS), counts
    assert 1 <= counts.get("empty", 0) <= 15, counts  # a few percent of programs


@pytest.mark.slow
def test_offsets_and_empty_dims_can_be_switched_off():
    options = GeneratorOptions(p_offset=0.0, p_empty=0.0)
    for seed in range(40):
        graph = generate(seed, options)
        assert not any(getattr(s, "offset", 0) for s in _tensor_specs(graph))
        assert not any(0 in s.shape for s in _tensor_specs(graph))


def test_eager_runs_programs_with_each_feature():
    """Two programs per feature: inputs come at their offsets, outputs have declared shapes."""
    picked: dict[int, Graph] = {}
    for feature in ("offset", "empty", "rank5", "rank0-broadcast", *map(str, SMALL_INTS)):
        seeds = [s for s, g in _programs().items() if feature in _features(g)][:2]
        picked.update((s, _programs()[s]) for s in seeds)
    for seed, graph in picked.items():
        for inp, value in zip(graph.inputs, make_inputs(graph, seed)):
            if isinstance(inp.spec, TensorSpec):
                assert value.storage_offset() == inp.spec.offset and value.stride() == (
                    inp.spec.stride
                )
        for name, out in zip(graph.outputs, run_eager(graph, seed)):
            spec = graph.spec(name)
            if isinstance(spec, TensorSpec):
                assert (tuple(out.shape), out.dtype) == (spec.shape, spec.dtype), (seed, name)

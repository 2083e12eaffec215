"""User-level spellings (torchfuzz.ir.spellings): each computes what its aten call computes,
in eager and under FakeTensor; every op with a public spelling has one; the surface decides."""

from __future__ import annotations

import random

import pytest
from torch._ops import OpOverload

from tests._spellings import AtenFails, applications, candidate_paths, disagreement
from tests.ir.test_ops import _declared
from torchfuzz.backends.lowering import lower_to_fx, surface_speller
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.catalogue import CATALOGUE
from torchfuzz.ir.ops.base import OpDef
from torchfuzz.ir.serialize import graph_from_dict, graph_to_dict
from torchfuzz.ir.spellings import (
    REJECTED,
    SAME_ARGS,
    SPELLINGS,
    WITHOUT_SPELLING,
    Surface,
    SurfaceMode,
)
from torchfuzz.passes.dce import DeadCodeElimination

SPELLED = [pytest.param(op, id=op.name) for op in CATALOGUE if op.name in SPELLINGS]
APPLICATIONS_PER_DTYPE = 4


@pytest.mark.parametrize("op", SPELLED)
def test_every_spelling_computes_the_aten_call(op: OpDef) -> None:
    """On sampled applications with every declared dtype (contiguous and strided operands),
    each spelling gives the aten call's values, dtype, shape and strides in eager (outputs and
    written inputs) and its spec under FakeTensor; each applies to some application."""
    used = dict.fromkeys(map(str, SPELLINGS[op.name]), 0)
    for dtype in _declared(op):
        rng = random.Random(f"spelling-test:{op.name}:{dtype}")
        for made, graph in enumerate(applications(op, dtype, rng, 3 * APPLICATIONS_PER_DTYPE)):
            if made >= APPLICATIONS_PER_DTYPE and all(used.values()):
                break
            for spelling in SPELLINGS[op.name]:
                try:
                    why = disagreement(graph, spelling)
                except AtenFails:
                    break
                if why == "does not apply":
                    continue
                assert why is None, f"{spelling} on {graph.nodes[0]}: {why}"
                used[str(spelling)] += 1
    assert all(used.values()), f"spellings that never applied: {used}"


@pytest.mark.parametrize("op", list(CATALOGUE), ids=CATALOGUE.names())
def test_every_public_name_was_tried(op: OpDef) -> None:
    """The table is derived from the names torch has today: each candidate (`torch.X`,
    `Tensor.X`, `F.X`, ...) is kept or rejected with a reason (rerun `python -m
    tests._spellings` when torch gains one), and an op has a spelling unless it is listed in
    WITHOUT_SPELLING with why."""
    tried = set(SAME_ARGS.get(op.name, ())) | set(REJECTED.get(op.name, {}))
    assert tried == set(candidate_paths(op))
    assert (op.name in SPELLINGS) != (op.name in WITHOUT_SPELLING), op.name


def _spelled_share(graphs) -> float:
    """Of the calls of nodes whose op is an aten overload (not those already Python, such
    as float(x) or x + y on numbers), the share the lowering spells otherwise."""
    calls = spelled = 0
    for graph in graphs:
        draw = surface_speller(graph.surface)

        def counting(node, *call, draw=draw):
            nonlocal calls, spelled
            spelling = draw(node, *call)
            if isinstance(node.op.target, OpOverload):
                calls += 1
                spelled += spelling is not None
            return spelling

        lower_to_fx(graph, counting)
    return spelled / calls


def test_default_surface_spells_a_third_of_the_calls() -> None:
    """Under the default (mixed) surface, 30 % or more of the nodes' calls are not aten."""
    graphs = [generate(seed=seed) for seed in range(60)]
    assert all(g.surface == Surface(SurfaceMode.MIXED, seed) for seed, g in enumerate(graphs))
    assert _spelled_share(graphs) >= 0.3
    aten = [generate(seed=s, options=GeneratorOptions(surface="aten")) for s in range(20)]
    assert _spelled_share(aten) == 0.0


def test_surface_changes_the_spelling_not_the_program() -> None:
    mixed = generate(seed=7)
    aten = generate(seed=7, options=GeneratorOptions(surface="aten"))
    assert mixed.nodes == aten.nodes and mixed.inputs == aten.inputs
    assert mixed != aten  # the graphs say how they are spelled
    assert lower_to_fx(mixed).python_code("self").src != lower_to_fx(aten).python_code("self").src


def test_a_node_keeps_its_spelling_through_passes_and_the_case_file() -> None:
    graph = generate(seed=11)
    code = {n.name: str(n.target) for n in lower_to_fx(graph).nodes}
    pruned = DeadCodeElimination().run(graph).graph
    assert pruned.surface == graph.surface
    for node in lower_to_fx(pruned).nodes:
        if node.name in code:
            assert str(node.target) == code[node.name]
    again = graph_from_dict(graph_to_dict(graph))
    assert again == graph and again.surface == graph.surface
    data = graph_to_dict(graph)
    del data["surface"]  # a case written before spellings
    assert graph_from_dict(data).surface == Surface()

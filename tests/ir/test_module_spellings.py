"""The nn.Module spelling (torchfuzz.ir.modules): each module call computes what its aten call
computes, in eager (values, dtype, shape, strides) and under FakeTensor; it applies only to
free state operands, is drawn by node name and falls back to the other spellings."""

from __future__ import annotations

import random

import pytest
import torch

from tests._spellings import _same, applications
from tests.ir.test_ops import _declared
from torchfuzz.backends.inputs import make_inputs
from torchfuzz.backends.lowering import lower_to_fx, surface_speller
from torchfuzz.backends.module_state import build_root, module_calls
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.catalogue import CATALOGUE
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.infer import fake_mode, fake_value, spec_of
from torchfuzz.ir.modules import MODULES, WITHOUT_MODULE, free_inputs
from torchfuzz.ir.ops.base import OpDef
from torchfuzz.ir.spellings import SurfaceMode
from torchfuzz.ir.types import TensorSpec

MODULE_OPS = tuple(MODULES)
MODULED = [pytest.param(CATALOGUE.get(name), id=name) for name in MODULE_OPS]


def _module_speller(node, operands, attrs, specs):
    return MODULES[node.op.name](node.attr_map, specs)


def _program(graph: Graph, speller, values: list) -> torch.fx.GraphModule:
    fx_graph = lower_to_fx(graph, speller)
    root = build_root(fx_graph, {i.name: v for i, v in zip(graph.inputs, values)})
    return torch.fx.GraphModule(root, fx_graph)


def _aten(node, *_):
    return None


@pytest.mark.parametrize("op", MODULED)
def test_every_module_spelling_computes_the_aten_call(op: OpDef) -> None:
    """On sampled applications of every declared dtype the module call gives the aten call's
    values, dtype, shape and strides in eager and its spec under FakeTensor."""
    used = 0
    for dtype in _declared(op):
        rng = random.Random(f"module-spelling-test:{op.name}:{dtype}")
        for graph in applications(op, dtype, rng, 4):
            specs = [graph.spec(i) for i in graph.nodes[0].inputs]
            if MODULES[op.name](graph.nodes[0].attr_map, specs) is None:
                continue
            try:
                (expected,) = _program(graph, _aten, make_inputs(graph, 0)).forward(
                    *make_inputs(graph, 0)
                )
            except Exception:  # noqa: BLE001 - the aten call rejects it: nothing to compare
                continue
            module = _program(graph, _module_speller, make_inputs(graph, 0))
            assert any(n.op == "call_module" for n in module.graph.nodes)
            (got,) = module.forward(*make_inputs(graph, 0))
            assert _same(expected, got) is None, f"{graph.nodes[0]}: {_same(expected, got)}"
            with fake_mode() as mode:
                fakes = [fake_value(i.spec) for i in graph.inputs]
            fake_program = _program(graph, _module_speller, fakes)  # built outside: skip_init
            with mode:
                fake = fake_program.forward(*fakes)[0]
            assert spec_of(fake) == graph.nodes[0].spec
            used += 1
    assert used, f"{op.name}: the module spelling never applied"


def test_every_op_with_an_nn_module_is_listed() -> None:
    assert set(MODULES).isdisjoint(WITHOUT_MODULE)
    assert set(MODULES) | set(WITHOUT_MODULE) <= set(CATALOGUE.names())


def _linear_graph(shared: bool = False) -> Graph:
    op = CATALOGUE.get("linear")
    g = Graph()
    x = g.add_input(TensorSpec.contiguous((2, 3), torch.float32))
    w = g.add_input(TensorSpec.contiguous((4, 3), torch.float32))
    out = g.add_node(op, (x, w), (), TensorSpec.contiguous((2, 4), torch.float32))
    outputs = [out, w] if shared else [out]
    g.set_outputs(outputs)
    return g


def test_only_inputs_read_once_and_kept_nowhere_else_are_free() -> None:
    assert free_inputs(_linear_graph()) == {"x0", "x1"}
    assert free_inputs(_linear_graph(shared=True)) == {"x0"}


def _spelled(graph: Graph, free: frozenset[str]) -> dict[str, str]:
    speller = surface_speller(graph.surface, free)
    found: dict[str, str] = {}

    def record(node, *call):
        spelling = speller(node, *call)
        found[node.name] = str(spelling)
        return spelling

    lower_to_fx(graph, record)
    return found


def test_a_node_not_module_spelled_keeps_the_spelling_it_had_without_modules() -> None:
    """The module draw comes first, by node name: a node drawn for it whose state is not free
    (or any node not drawn) gets the very spelling the other spellings draw for it."""
    options = GeneratorOptions(ops=MODULE_OPS + ("add", "relu", "mul"))
    moduled = 0
    for seed in range(40):
        graph = generate(seed=seed, options=options)
        plain = _spelled(graph, frozenset())
        with_modules = _spelled(graph, free_inputs(graph))
        for name, spelling in with_modules.items():
            if spelling.startswith("module:"):
                moduled += 1
            else:
                assert spelling == plain[name], (seed, name)
        assert with_modules == _spelled(graph, free_inputs(graph))  # deterministic
    assert moduled >= 10


def _module_share(graphs: list[Graph]) -> tuple[int, int]:
    """(module calls, calls of ops with a module form) over `graphs`' lowered code."""
    modules = calls = 0
    for graph in graphs:
        fx_graph = lower_to_fx(graph)
        modules += len(module_calls(fx_graph))
        calls += sum(node.op.name in MODULES for node in graph.nodes)
    return modules, calls


def test_module_spellings_appear_under_mixed_and_torch_never_under_aten() -> None:
    mixed = GeneratorOptions(ops=MODULE_OPS + ("add", "relu"))
    graphs = [generate(seed=s, options=mixed) for s in range(30)]
    assert all(g.surface.mode is SurfaceMode.MIXED for g in graphs)
    modules, calls = _module_share(graphs)
    assert modules >= 10 and calls > modules
    assert "_module(" in "".join(lower_to_fx(g).python_code("self").src for g in graphs)
    aten = [
        generate(seed=s, options=GeneratorOptions(ops=MODULE_OPS, surface="aten"))
        for s in range(20)
    ]
    assert _module_share(aten)[0] == 0
    torch_only = GeneratorOptions(ops=MODULE_OPS, surface="torch")
    modules, calls = _module_share([generate(seed=s, options=torch_only) for s in range(30)])
    assert modules >= calls // 8

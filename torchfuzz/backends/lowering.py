"""The one lowering, IR -> torch.fx.Graph, that both backends start from."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import torch.fx

from torchfuzz.backends.module_state import STATE, build_root
from torchfuzz.backends.structure import structured
from torchfuzz.ir.graph import Graph, Node
from torchfuzz.ir.infer import call_attrs, write_in_place
from torchfuzz.ir.modules import ModuleCall, free_inputs, module_call
from torchfuzz.ir.ops.base import Trait
from torchfuzz.ir.spellings import (
    ATEN_SURFACE,
    Form,
    Spelling,
    Surface,
    applicable,
    choose,
    spelled_call,
)
from torchfuzz.ir.types import Spec
from torchfuzz.ir.write_view import op_attrs

# Which spelling a node's call gets, given (node, operands, attributes of the call, operand
# specs); None: the aten call. It must return a spelling that applies to the call.
Speller = Callable[
    [Node, Sequence[Any], dict[str, Any], Sequence[Spec]], Spelling | ModuleCall | None
]


def surface_speller(surface: Surface, free: frozenset[str] = frozenset()) -> Speller:
    """The spelling `surface` draws for each node among those of its op that apply
    (:func:`torchfuzz.ir.spellings.choose`), or its module call (:mod:`torchfuzz.ir.modules`)
    when the node's state operands are among the `free` inputs."""

    def speller(node: Node, operands: Sequence[Any], attrs: dict, specs: Sequence[Spec]):
        if surface == ATEN_SURFACE:
            return None
        candidates = applicable(node.op.name, operands, attrs, specs)
        module = module_call(surface, node, specs, free, len(candidates)) if free else None
        return module or choose(surface, node.name, candidates)

    return speller


def _emit(
    fx_graph: torch.fx.Graph,
    node: Node,
    specs: Sequence[Spec],
    speller: Speller,
    operands: Sequence[Any],
    attrs: dict[str, Any],
    call: tuple[tuple, dict],
    name: str | None = None,
) -> torch.fx.Node:
    """The FX node of `node`'s op call: `call` (its aten args and kwargs) as `speller`
    spells it for these `operands` and call `attrs`."""
    spelling = speller(node, operands, attrs, specs)
    if spelling is None:
        return fx_graph.call_function(node.op.target, *call, name=name)
    if isinstance(spelling, ModuleCall):  # the state operands' placeholders stay, unused
        args = tuple(operands[i] for i in spelling.inputs)
        called = fx_graph.create_node("call_module", f"{node.name}_module", args, name=name)
        state = tuple((attr, node.inputs[i]) for i, attr in spelling.state)
        called.meta[STATE] = (spelling, state)
        return called
    args, kwargs = spelled_call(spelling, call, operands, attrs, specs)
    if spelling.form is Form.METHOD:
        return fx_graph.create_node("call_method", spelling.target, args, kwargs, name=name)
    return fx_graph.call_function(spelling.target, args, kwargs, name=name)


def lower_to_fx(
    graph: Graph, speller: Speller | None = None, modules: bool = True
) -> torch.fx.Graph:
    """An FX graph computing the program: one placeholder per input, one call per node
    (plus `getitem` for ops that select from a list result, and the view an in-place node
    writes through), constants inlined as literals. Each call is spelled as the graph's
    surface says (or `speller`): an aten overload, or a user-level form computing the same;
    with `modules`, some calls are submodule calls whose state the caller binds
    (:mod:`torchfuzz.backends.module_state`)."""
    free = free_inputs(graph) if modules else frozenset()
    speller = speller or surface_speller(graph.surface, free)
    fx_graph = torch.fx.Graph()
    env: dict[str, Any] = {}

    for inp in graph.inputs:
        env[inp.name] = fx_graph.placeholder(inp.name)
    for node in graph.nodes:
        attrs = node.attr_map
        op = node.op
        if op.has(Trait.CONSTANT):
            env[node.name] = attrs["value"]
            continue
        operands = [env[i] for i in node.inputs]
        specs: list[Spec] = [graph.spec(i) for i in node.inputs]
        if op.mutates is not None:
            # The view (if any) and the in-place call; later readers read the written base.
            env[node.name] = write_in_place(
                op,
                operands,
                attrs,
                functools.partial(_spelled_write, fx_graph, node, specs, speller),
            )
            continue
        own = call_attrs(op, attrs)
        call = op.args(operands, own)
        # A selecting op's call is unnamed: the node's name goes to the element it takes.
        name = node.name if op.select is None else None
        result = _emit(fx_graph, node, specs, speller, operands, own, call, name)
        if op.select is None:
            env[node.name] = result
        else:
            env[node.name] = fx_graph.call_function(
                operator.getitem, (result, attrs[op.select]), name=node.name
            )
    fx_graph.output(tuple(env[name] for name in graph.outputs))
    structured(fx_graph, graph)  # Python structure around some calls (graph.structure)
    fx_graph.lint()
    return fx_graph


def _spelled_write(
    fx_graph: torch.fx.Graph,
    node: Node,
    specs: Sequence[Spec],
    speller: Speller,
    target: Any,
    args: tuple,
    kwargs: dict[str, Any],
) -> torch.fx.Node:
    """`write_in_place`'s calls: the view as aten, the in-place op spelled (it writes the
    view, the first operand of its call)."""
    if target is not node.op.target:
        return fx_graph.call_function(target, args, kwargs)
    # Every in-place op of the catalogue takes its operands positionally, written one first.
    own = op_attrs(node.attr_map)
    return _emit(fx_graph, node, specs, speller, list(args), own, (args, kwargs))


def to_fx(graph: Graph, values: Sequence[Any] | None = None) -> torch.fx.GraphModule:
    """An in-memory GraphModule of the program; call it with the inputs, get a tuple back.
    Given the input `values` its modules' state is bound from (the inputs of the seed the
    program is called with), some calls are module calls; without, none is."""
    fx_graph = lower_to_fx(graph, modules=values is not None)
    names = [inp.name for inp in graph.inputs]
    root = build_root(fx_graph, dict(zip(names, values or ())))
    return torch.fx.GraphModule(root, fx_graph, class_name="Program")

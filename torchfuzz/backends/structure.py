"""Python structure around some of a lowered program's calls, for Dynamo's front end.

The lowering (:func:`torchfuzz.backends.lowering.lower_to_fx`) ends with :func:`structured`:
for a graph whose :class:`~torchfuzz.ir.structure.Structure` is not ``NONE``, a share of its
nodes get one element of :mod:`torchfuzz.backends.structure_helpers` around their call (a
graph break, a print, an untraced call, a branch on `.item()`, a loop, a dict or tuple
passed to a helper, a closure). The FX node then calls the element's function with the
call's own arguments, and gets the call's own result: values never change, so the IR and the
oracle know nothing of it, and the in-memory module and the scripts get it from one place.

Which node gets which element is a hash of the surface's salt and the node's name (salted
apart from the spelling draw), so a node keeps its element through every pass, the minimizer
included. An ``UNBROKEN`` graph leaves out the elements that end a single graph: what
fullgraph and export variants compile (:func:`one_graph`).
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.fx
from torch.fx.node import _get_qualified_name

from torchfuzz.backends import structure_helpers as helpers
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.ops.base import Trait
from torchfuzz.ir.spellings import Surface
from torchfuzz.ir.structure import Structure

__all__ = ["ELEMENTS", "SHARE", "Element", "definitions", "drawn", "one_graph", "structured"]


@dataclass(frozen=True, slots=True)
class Element:
    """One kind of structure: its short name (in the program's global names), the factory
    of :mod:`~torchfuzz.backends.structure_helpers` making it, and whether it ends a single
    graph (a graph break, or a branch on data: fullgraph raises, export cannot trace)."""

    name: str
    factory: Callable[[Any], Callable[..., Any]]
    breaks: bool


ELEMENTS: tuple[Element, ...] = (
    Element("graph_break", helpers.with_graph_break, breaks=True),
    Element("printed", helpers.with_print, breaks=True),
    Element("disabled", helpers.with_disable, breaks=True),
    Element("item_branch", helpers.with_item_branch, breaks=True),
    Element("loop", helpers.with_loop, breaks=False),
    Element("dict", helpers.with_dict, breaks=False),
    Element("tuple", helpers.with_tuple, breaks=False),
    Element("closure", helpers.with_closure, breaks=False),
)
SHARE = 15  # percent of the nodes that get an element


def drawn(surface: Surface, node_name: str) -> Element | None:
    """The element node `node_name` gets under `surface` (None: its plain call)."""
    draw = zlib.crc32(f"structure/{surface.salt}/{node_name}".encode())
    if draw % 100 >= SHARE:
        return None
    return ELEMENTS[(draw // 100) % len(ELEMENTS)]


def one_graph(graph: Graph) -> Graph:
    """`graph` as fullgraph and export variants compile it: the elements that end a single
    graph left out, the others kept (`graph` itself when it has none)."""
    if graph.structure is not Structure.ALL:
        return graph
    unbroken = graph.copy()
    unbroken.structure = Structure.UNBROKEN
    return unbroken


def _callee_source(call: Any) -> str:
    """Python source naming the call in a script (a method by its name)."""
    if isinstance(call, str):
        return repr(call)
    return re.sub(r"^_operator\.", "operator.", _get_qualified_name(call))


def _short_name(call: Any) -> str:
    text = call if isinstance(call, str) else str(call)
    if not isinstance(call, (str, torch._ops.OpOverload)):
        text = getattr(call, "__name__", text)
    return re.sub(r"\W", "_", text)


@functools.cache
def _function(element: Element, call: Any) -> Callable[..., Any]:
    """The element's function around `call`, named for FX's code (`structure_<element>_<call>`)
    and marked with what the scripts rebuild it from. One per (element, call)."""
    fn = element.factory(call)
    fn.__module__ = "structure"
    fn.__name__ = fn.__qualname__ = f"{element.name}_{_short_name(call)}"
    fn.__torchfuzz_structure__ = f"{element.factory.__name__}({_callee_source(call)})"
    return fn


def structured(fx_graph: torch.fx.Graph, graph: Graph) -> torch.fx.Graph:
    """`fx_graph` (the lowering of `graph`, edited in place) with the drawn elements around
    the calls of `graph`'s nodes. Constants and in-place nodes keep their plain form."""
    if graph.structure is Structure.NONE:
        return fx_graph
    by_name = {n.name: n for n in fx_graph.nodes}
    for node in graph.nodes:
        if node.op.has(Trait.CONSTANT) or node.op.mutates is not None:
            continue
        element = drawn(graph.surface, node.name)
        if element is None or (element.breaks and graph.structure is Structure.UNBROKEN):
            continue
        fx_node = by_name.get(node.name)
        if fx_node is None or fx_node.op not in ("call_function", "call_method"):
            continue
        fx_node.target = _function(element, fx_node.target)
        fx_node.op = "call_function"
    return fx_graph


def definitions(fx_globals: Mapping[str, Any]) -> str:
    """The lines a script defines the element functions of FX code with these globals by
    (after the embedded helpers); "" when it uses none."""
    lines = [
        f"{name} = {fn.__torchfuzz_structure__}"
        for name, fn in fx_globals.items()
        if hasattr(fn, "__torchfuzz_structure__")
    ]
    if any(re.search(r"\(operator\.", line) for line in lines):
        lines.insert(0, "import operator")
    return "\n".join(lines)

"""The program IR: a DAG of op nodes over graph inputs, with use lists and a stable text form."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import networkx as nx
import torch

from torchfuzz.ir.spellings import ATEN_SURFACE, Surface
from torchfuzz.ir.structure import Structure
from torchfuzz.ir.types import ANY, Domain, Spec, TensorSpec, dtype_name
from torchfuzz.ir.write_view import WriteView, spell_attrs

if TYPE_CHECKING:
    from torchfuzz.ir.ops.base import OpDef

Attrs = tuple[tuple[str, Any], ...]
_ATTR_LEAF_TYPES = (type(None), bool, int, float, str, torch.dtype, WriteView)


def _check_attr_value(key: str, value: Any) -> None:
    if isinstance(value, tuple):
        for item in value:
            _check_attr_value(key, item)
    elif not isinstance(value, _ATTR_LEAF_TYPES):
        raise TypeError(f"attribute {key}={value!r}: type {type(value).__name__} not allowed")


def format_attr(value: Any) -> str:
    """Stable text for an attribute value."""
    if isinstance(value, torch.dtype):
        return dtype_name(value)
    if isinstance(value, tuple):
        inner = ", ".join(format_attr(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


@dataclass(frozen=True, slots=True)
class Input:
    """A graph input. Its data is drawn from `domain` by a generator seeded from the case seed
    and `key` (a stream id fixed when the input is made, so removing other inputs never changes
    this one's data), unless `data` gives the values literally (row-major, Python numbers)."""

    name: str
    spec: Spec
    domain: Domain = ANY
    key: int = 0
    data: tuple[bool | int | float | complex, ...] | None = None

    def __post_init__(self) -> None:
        if self.data is not None:
            count = self.spec.numel if isinstance(self.spec, TensorSpec) else 1
            if not isinstance(self.data, tuple) or len(self.data) != count:
                raise ValueError(
                    f"input {self.name}: literal data must be a tuple of {count} values"
                )

    def __str__(self) -> str:
        suffix = "" if self.domain == ANY else f" in {self.domain}"
        if self.data is not None:
            shown = ", ".join(map(repr, self.data[:4])) + (", ..." if len(self.data) > 4 else "")
            suffix += f" = [{shown}]"
        return f"{self.name}: {self.spec}{suffix}"


@dataclass(frozen=True, slots=True)
class Node:
    """One op application. `inputs` name values (graph inputs or other nodes)."""

    name: str
    op: OpDef
    inputs: tuple[str, ...]
    attrs: Attrs
    spec: Spec

    def __post_init__(self) -> None:
        if not isinstance(self.inputs, tuple) or not all(isinstance(i, str) for i in self.inputs):
            raise TypeError(f"{self.name}: inputs must be a tuple of value names")
        if not isinstance(self.attrs, tuple):
            raise TypeError(f"{self.name}: attrs must be a tuple of (key, value) pairs")
        for key, value in self.attrs:
            _check_attr_value(key, value)

    @property
    def attr_map(self) -> dict[str, Any]:
        return dict(self.attrs)

    def __str__(self) -> str:
        args = list(self.inputs) + [f"{k}={format_attr(v)}" for k, v in spell_attrs(self.attrs)]
        return f"{self.name}: {self.spec} = {self.op.name}({', '.join(args)})"


Value = Input | Node


@dataclass
class Graph:
    """A DAG program. Nodes are kept in a topological order; edit it only through its methods."""

    _inputs: dict[str, Input] = field(default_factory=dict)
    _nodes: dict[str, Node] = field(default_factory=dict)
    _outputs: tuple[str, ...] = ()
    _users: dict[str, dict[str, None]] = field(default_factory=dict)
    # How the lowering spells the calls (torchfuzz.ir.spellings): not what they compute.
    surface: Surface = ATEN_SURFACE
    # The Python structure the lowering writes around calls (torchfuzz.ir.structure).
    structure: Structure = Structure.NONE

    # --- reading ---------------------------------------------------------------------------
    @property
    def inputs(self) -> tuple[Input, ...]:
        return tuple(self._inputs.values())

    @property
    def nodes(self) -> tuple[Node, ...]:
        """Nodes in topological order."""
        return tuple(self._nodes.values())

    @property
    def outputs(self) -> tuple[str, ...]:
        return self._outputs

    def is_input(self, name: str) -> bool:
        return name in self._inputs

    def __contains__(self, name: str) -> bool:
        return name in self._inputs or name in self._nodes

    def value(self, name: str) -> Value:
        if name in self._nodes:
            return self._nodes[name]
        if name in self._inputs:
            return self._inputs[name]
        raise KeyError(f"no value named {name!r} in the graph")

    def node(self, name: str) -> Node:
        return self._nodes[name]

    def spec(self, name: str) -> Spec:
        return self.value(name).spec

    def users(self, name: str) -> tuple[str, ...]:
        """Nodes that read `name`, each once, in insertion order."""
        return tuple(self._users.get(name, {}))

    def mutated_inputs(self) -> tuple[str, ...]:
        """Graph inputs that some node writes in place (its op's `mutates` operand), in
        input order: the oracle compares their values after the call too."""
        written = {
            node.inputs[node.op.mutates]
            for node in self._nodes.values()
            if node.op.mutates is not None
        }
        return tuple(name for name in self._inputs if name in written)

    def values(self) -> Iterator[Value]:
        yield from self._inputs.values()
        yield from self._nodes.values()

    def __len__(self) -> int:
        return len(self._nodes)

    # --- editing ---------------------------------------------------------------------------
    def fresh_name(self, prefix: str) -> str:
        index = len(self._inputs) + len(self._nodes)
        while f"{prefix}{index}" in self:
            index += 1
        return f"{prefix}{index}"

    def add_input(
        self,
        spec: Spec,
        domain: Domain = ANY,
        name: str | None = None,
        *,
        key: int | None = None,
        data: tuple | None = None,
    ) -> str:
        """Add a graph input (last); `key` defaults to a data stream no other input uses."""
        name = name or self.fresh_name("x")
        if name in self:
            raise ValueError(f"value {name!r} already exists")
        if key is None:
            key = max((i.key for i in self._inputs.values()), default=-1) + 1
        self._inputs[name] = Input(name, spec, domain, key, data)
        self._users[name] = {}
        return name

    def add_node(
        self,
        op: OpDef,
        inputs: Iterable[str],
        attrs: Attrs | Mapping[str, Any],
        spec: Spec,
        *,
        name: str | None = None,
        after: str | None = None,
    ) -> str:
        """Append a node (or insert it right after node `after`) and return its name."""
        name = name or self.fresh_name("v")
        if name in self:
            raise ValueError(f"value {name!r} already exists")
        attrs = tuple(attrs.items()) if isinstance(attrs, Mapping) else tuple(attrs)
        node = Node(name, op, tuple(inputs), attrs, spec)
        for arg in node.inputs:
            if arg not in self:
                raise KeyError(f"{name}: input {arg!r} is not defined before use")
        self._insert(node, after)
        self._users[name] = {}
        for arg in node.inputs:
            self._users[arg][name] = None
        return name

    def _insert(self, node: Node, after: str | None) -> None:
        if after is None or after in self._inputs:
            if after in self._inputs:
                self._nodes = {node.name: node, **self._nodes}
            else:
                self._nodes[node.name] = node
            return
        if after not in self._nodes:
            raise KeyError(f"cannot insert after unknown node {after!r}")
        items = list(self._nodes.items())
        pos = [k for k, _ in items].index(after) + 1
        items.insert(pos, (node.name, node))
        self._nodes = dict(items)

    def replace_node(self, name: str, **changes: Any) -> None:
        """Replace fields (inputs, attrs, spec, op) of node `name`, keeping its position."""
        old = self._nodes[name]
        new = replace(old, **changes)
        for arg in new.inputs:
            if arg not in self:
                raise KeyError(f"{name}: input {arg!r} is not defined")
        for arg in old.inputs:
            self._users[arg].pop(name, None)
        self._nodes[name] = new
        for arg in new.inputs:
            self._users[arg][name] = None

    def replace_input(self, name: str, **changes: Any) -> None:
        """Replace fields (spec, domain, key, data) of graph input `name`."""
        self._inputs[name] = replace(self._inputs[name], **changes)

    def replace_all_uses_with(self, old: str, new: str, keep: Iterable[str] = ()) -> None:
        """Make every user of `old` (and the outputs) read `new` instead, except `new` itself
        and the nodes named in `keep`."""
        if new not in self:
            raise KeyError(f"unknown value {new!r}")
        keep = {new, *keep}
        for user in self.users(old):
            if user in keep:
                continue
            node = self._nodes[user]
            self.replace_node(user, inputs=tuple(new if i == old else i for i in node.inputs))
        self._outputs = tuple(new if o == old else o for o in self._outputs)

    def erase(self, name: str) -> None:
        """Remove a node or graph input that nothing reads."""
        if self._users.get(name):
            raise ValueError(f"cannot erase {name!r}: still used by {list(self._users[name])}")
        if name in self._outputs:
            raise ValueError(f"cannot erase {name!r}: it is a graph output")
        if name in self._nodes:
            for arg in self._nodes.pop(name).inputs:
                self._users[arg].pop(name, None)
        elif name in self._inputs:
            del self._inputs[name]
        else:
            raise KeyError(f"unknown value {name!r}")
        del self._users[name]

    def set_outputs(self, outputs: Iterable[str]) -> None:
        outputs = tuple(outputs)
        for out in outputs:
            if out not in self:
                raise KeyError(f"output {out!r} is not a value of the graph")
        self._outputs = outputs

    def copy(self) -> Graph:
        return Graph(
            dict(self._inputs),
            dict(self._nodes),
            self._outputs,
            {k: dict(v) for k, v in self._users.items()},
            self.surface,
            self.structure,
        )

    # --- views -----------------------------------------------------------------------------
    def to_networkx(self) -> nx.MultiDiGraph:
        """Values as networkx nodes, one edge per operand (so `add(x, x)` gives two edges)."""
        g = nx.MultiDiGraph()
        for value in self.values():
            g.add_node(value.name)
        for node in self._nodes.values():
            for arg in node.inputs:
                g.add_edge(arg, node.name)
        return g

    def text(self) -> str:
        """Stable, readable text form; equal graphs have equal text."""
        marks = [] if self.surface == ATEN_SURFACE else [str(self.surface)]
        marks += [] if self.structure is Structure.NONE else [f"structure:{self.structure.value}"]
        spelled = f"[{', '.join(marks)}]" if marks else ""
        lines = [f"graph{spelled}({', '.join(str(i) for i in self._inputs.values())}) {{"]
        lines += [f"  {node}" for node in self._nodes.values()]
        lines.append(f"  return ({', '.join(self._outputs)})")
        lines.append("}")
        return "\n".join(lines)

    __str__ = text

    def content_hash(self) -> str:
        """A short hash of the text form, stable across processes."""
        return hashlib.sha256(self.text().encode()).hexdigest()[:16]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Graph):
            return NotImplemented
        return (
            list(self._inputs.items()) == list(other._inputs.items())
            and list(self._nodes.items()) == list(other._nodes.items())
            and self._outputs == other._outputs
            and self.surface == other.surface
            and self.structure == other.structure
        )

    def __hash__(self) -> int:  # graphs are mutable: hash by identity is wrong, forbid it
        raise TypeError("Graph is mutable; use content_hash()")

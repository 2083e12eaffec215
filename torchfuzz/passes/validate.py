"""`verify(graph)`: the one checker every pass result must satisfy.

Structure first (names, order, cycles, use lists, arity, attribute types, liveness), then
semantics: FakeTensors are propagated through the graph and every node's declared spec must be
exactly what PyTorch computes (kind, shape, dtype and stride). Modelled on `Graph.lint` in
`torch/fx/graph.py` and `torch/fx/passes/fake_tensor_prop.py`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import networkx as nx
import torch

from torchfuzz.ir.fast_infer import infer_spec
from torchfuzz.ir.graph import Graph, Node
from torchfuzz.ir.infer import InferenceError, apply_op, fake_mode, fake_value, spec_of
from torchfuzz.ir.ops.base import OpDef, Trait, positional
from torchfuzz.ir.types import ScalarSpec, Spec, TensorSpec, dtype_name
from torchfuzz.ir.write_view import op_attrs
from torchfuzz.passes.base import Pass, PassError, PassResult
from torchfuzz.passes.writes import alias_violation, view_attrs_violation, write_violation

log = logging.getLogger(__name__)

VERIFY = "verify"


class ValidationError(PassError):
    """The graph breaks an IR rule; `node` and `rule` say where and which."""


def verify(graph: Graph, fake: bool = True) -> None:
    """Raise `ValidationError` unless `graph` is a well-formed program PyTorch agrees with.

    With `fake` every node runs on FakeTensors (the judge; also checks what in-place writes
    alias); without, every node's declared spec is checked against `infer_spec`, the fast
    inference path that tests/ir/test_infer_fast.py proves equal to FakeTensor's."""
    _check_structure(graph)
    if fake:
        _check_semantics(graph)
    else:
        _check_specs(graph)


@dataclass(frozen=True)
class Validate(Pass):
    """`verify` as a pass: returns the graph unchanged, or raises `ValidationError`."""

    name: ClassVar[str] = "validate"
    fake: bool = True

    def run(self, graph: Graph) -> PassResult:
        verify(graph, self.fake)
        return PassResult(graph, modified=False)


def _fail(graph: Graph, rule: str, node: str | None = None) -> ValidationError:
    return ValidationError(VERIFY, rule, graph.text(), node)


# --- structure ---------------------------------------------------------------------------
def _check_structure(graph: Graph) -> None:
    names: set[str] = set()
    for value in graph.values():
        if value.name in names:
            raise _fail(graph, f"name {value.name!r} is defined twice", value.name)
        names.add(value.name)
        if not isinstance(value.spec, (TensorSpec, ScalarSpec)):
            raise _fail(
                graph, f"spec {value.spec!r} is neither a TensorSpec nor a ScalarSpec", value.name
            )
    for node in graph.nodes:
        if graph.value(node.name) is not node:
            raise _fail(graph, "node is not registered under its own name", node.name)
        for arg in node.inputs:
            if arg not in names:
                raise _fail(graph, f"input {arg!r} is not defined", node.name)
    if not graph.outputs:
        raise _fail(graph, "the graph has no outputs")
    for out in graph.outputs:
        if out not in names:
            raise _fail(graph, f"output {out!r} is not a value of the graph")
    _check_acyclic_and_ordered(graph)
    _check_use_lists(graph)
    for node in graph.nodes:
        _check_signature(graph, node)
    _check_liveness(graph)
    for node in graph.nodes:
        broken = write_violation(graph, node) if node.op.mutates is not None else None
        if broken is not None:
            raise _fail(graph, broken, node.name)


def _check_acyclic_and_ordered(graph: Graph) -> None:
    """Every operand defined before its reader: then there is no cycle either, so networkx
    looks for one (to name it) only when the order is broken."""
    defined = {i.name for i in graph.inputs}
    for node in graph.nodes:
        for arg in node.inputs:
            if arg not in defined:
                _check_acyclic(graph)
                raise _fail(
                    graph,
                    f"input {arg!r} is used before it is defined (not topological)",
                    node.name,
                )
        defined.add(node.name)


def _check_acyclic(graph: Graph) -> None:
    try:
        cycle = nx.find_cycle(graph.to_networkx())
    except nx.NetworkXNoCycle:
        return
    path = " -> ".join([edge[0] for edge in cycle] + [cycle[0][0]])
    raise _fail(graph, f"the graph has a cycle: {path}", cycle[0][1])


def _check_use_lists(graph: Graph) -> None:
    expected: dict[str, set[str]] = {v.name: set() for v in graph.values()}
    for node in graph.nodes:
        for arg in node.inputs:
            expected[arg].add(node.name)
    for name, users in expected.items():
        recorded = set(graph.users(name))
        if recorded != users:
            raise _fail(
                graph,
                f"use list of {name!r} is {sorted(recorded)} but its readers are {sorted(users)}",
                name,
            )


def _check_liveness(graph: Graph) -> None:
    live = set(graph.outputs)
    for node in reversed(graph.nodes):  # readers come after what they read
        if node.name in live:
            live.update(node.inputs)
    for node in graph.nodes:
        if node.name not in live:
            raise _fail(graph, "node does not reach any output (dead code)", node.name)


# --- signature: operand count and attribute types --------------------------------------------
def _check_signature(graph: Graph, node: Node) -> None:
    op, attrs = node.op, node.attr_map
    if len(attrs) != len(node.attrs):
        raise _fail(graph, f"{op.name}: an attribute is given twice", node.name)
    broken = view_attrs_violation(node)
    if broken is not None:
        raise _fail(graph, broken, node.name)
    attrs = op_attrs(attrs)
    if op.select is not None and not _is_int(attrs.get(op.select)):
        raise _fail(
            graph,
            f"{op.name}: attribute {op.select!r} must be an int (it picks one result)",
            node.name,
        )
    if op.has(Trait.CONSTANT) and not isinstance(attrs.get("value"), (bool, int, float)):
        raise _fail(graph, f"{op.name}: attribute 'value' must be a bool, int or float", node.name)
    schema = _schema(op)
    if schema is not None:
        _check_schema_attrs(graph, node, schema, attrs)
    counts = _operand_counts(op, tuple(attrs), schema)
    if counts is not None and len(node.inputs) not in counts:
        raise _fail(
            graph,
            f"{op.name} takes {_describe_counts(counts)} operand(s) with attributes "
            f"{sorted(attrs)}, got {len(node.inputs)}",
            node.name,
        )


def _schema(op: OpDef) -> torch.FunctionSchema | None:
    return op.target._schema if isinstance(op.target, torch._ops.OpOverload) else None


def _check_schema_attrs(
    graph: Graph, node: Node, schema: torch.FunctionSchema, attrs: dict[str, Any]
) -> None:
    by_name = {a.name: a for a in schema.arguments}
    for key, value in attrs.items():
        if key == node.op.select:
            continue
        arg = by_name.get(key)
        if arg is None:
            if node.op.args is positional:
                raise _fail(
                    graph, f"{node.op.name}: {schema.name} has no argument {key!r}", node.name
                )
            continue  # a custom lowering may consume attributes of its own
        if not _accepts(arg.real_type, value):
            raise _fail(
                graph,
                f"{node.op.name}: attribute {key}={value!r} ({type(value).__name__}) "
                f"does not match the argument type {arg.real_type}",
                node.name,
            )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# Leaf JIT types (by their text) and the attribute values that fit them.
_LEAF_TYPES: dict[str, Callable[[Any], bool]] = {
    "number": lambda v: isinstance(v, (bool, int, float)),
    "int": _is_int,
    "SymInt": _is_int,
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "ScalarType": lambda v: isinstance(v, torch.dtype),
    "Tensor": lambda v: False,  # tensors are operands, never attributes
}


def _accepts(jit_type: Any, value: Any) -> bool:
    """Whether an attribute value fits a schema argument type (unknown types are accepted)."""
    if isinstance(jit_type, torch._C.OptionalType):
        return value is None or _accepts(jit_type.getElementType(), value)
    if isinstance(jit_type, torch._C.ListType):
        return isinstance(value, tuple) and all(
            _accepts(jit_type.getElementType(), v) for v in value
        )
    check = _LEAF_TYPES.get(str(jit_type))
    return True if check is None else check(value)


_COUNTS: dict[tuple[int, tuple[str, ...]], tuple[OpDef, frozenset[int] | None]] = {}


def _operand_counts(
    op: OpDef, attrs: tuple[str, ...], schema: torch.FunctionSchema | None
) -> frozenset[int] | None:
    """The operand counts the op accepts with attributes of these names, or None where not
    knowable; once per op and names (it asks the schema or the signature)."""
    known = _COUNTS.get((id(op), attrs))
    if known is None:
        known = _COUNTS[(id(op), attrs)] = (op, _count_operands(op, attrs, schema))
    return known[1]


def _count_operands(
    op: OpDef, attrs: tuple[str, ...], schema: torch.FunctionSchema | None
) -> frozenset[int] | None:
    if op.has(Trait.CONSTANT):
        return frozenset({0})
    if op.has(Trait.CAST):
        return frozenset({1})
    if schema is not None:
        if op.args is not positional:
            return None  # a custom lowering (e.g. an operand list) decides how operands map
        # Operands fill the leading positional arguments; attributes are passed by keyword.
        keys = set(attrs) - {op.select}
        params = [a for a in schema.arguments if not a.kwarg_only]
        counts = set()
        for k in range(len(params) + 1):
            if any(a.name in keys for a in params[:k]):
                break
            if all(a.has_default_value() or a.name in keys for a in params[k:]):
                counts.add(k)
        return frozenset(counts)
    try:
        signature = inspect.signature(op.target)
    except (TypeError, ValueError):
        return None  # builtins such as int() carry no signature
    counts = set()
    for k in range(len(signature.parameters) + 1):
        try:
            signature.bind(*range(k), **dict.fromkeys(attrs))
        except TypeError:
            continue
        counts.add(k)
    return frozenset(counts)


def _describe_counts(counts: frozenset[int]) -> str:
    if not counts:
        return "no valid number of"
    ordered = sorted(counts)
    return str(ordered[0]) if len(ordered) == 1 else " or ".join(map(str, ordered))


# --- semantics ---------------------------------------------------------------------------
def _check_semantics(graph: Graph) -> None:
    values: dict[str, Any] = {}
    specs: dict[str, Spec] = {}
    for inp in graph.inputs:
        values[inp.name] = fake_value(inp.spec)
        specs[inp.name] = inp.spec
    for node in graph.nodes:
        value, spec = _propagate(
            graph, node, [values[a] for a in node.inputs], [specs[a] for a in node.inputs]
        )
        mismatch = spec_mismatch(node.spec, spec)
        if mismatch is not None:
            raise _fail(graph, mismatch, node.name)
        broken = alias_violation(graph, node, values) if node.op.mutates is not None else None
        if broken is not None:
            raise _fail(graph, broken, node.name)
        values[node.name], specs[node.name] = value, spec


def _check_specs(graph: Graph) -> None:
    for node in graph.nodes:
        specs = [graph.spec(a) for a in node.inputs]
        try:
            spec = infer_spec(node.op, specs, node.attr_map)
        except InferenceError as exc:
            raise _fail(graph, f"PyTorch rejects {exc}", node.name) from exc
        mismatch = spec_mismatch(node.spec, spec)
        if mismatch is not None:
            raise _fail(graph, mismatch, node.name)


def _propagate(
    graph: Graph, node: Node, operands: list[Any], operand_specs: list[Spec]
) -> tuple[Any, Spec]:
    """Run one node on FakeTensors (or its `infer` rule): PyTorch's value and spec for it."""
    op, attrs = node.op, node.attr_map
    try:
        if op.infer is not None:  # Python scalar ops, `.item()`, constants
            spec = op.infer(operand_specs, attrs)
            value = attrs["value"] if op.has(Trait.CONSTANT) else fake_value(spec)
            return value, spec
        with fake_mode():
            value = apply_op(op, operands, attrs)
        return value, spec_of(value)
    except Exception as exc:  # PyTorch's verdict on an invalid application
        args = ", ".join(str(s) for s in operand_specs)
        raise _fail(
            graph,
            f"PyTorch rejects {op.name}({args}) with {attrs}: {type(exc).__name__}: {exc}",
            node.name,
        ) from exc


def spec_mismatch(declared: Spec, computed: Spec) -> str | None:
    """How a declared spec differs from the one PyTorch computes (None: identical)."""
    if isinstance(declared, TensorSpec) != isinstance(computed, TensorSpec):
        return f"declared {_kind(declared)} but PyTorch computes {_kind(computed)}"
    if isinstance(declared, TensorSpec) and isinstance(computed, TensorSpec):
        if declared.shape != computed.shape:
            return f"declared shape {declared.shape} but PyTorch computes {computed.shape}"
        if declared.dtype != computed.dtype:
            return f"declared dtype {dtype_name(declared.dtype)} but PyTorch computes {dtype_name(computed.dtype)}"
        if declared.stride != computed.stride:
            return f"declared stride {declared.stride} but PyTorch computes {computed.stride}"
        return None
    if declared.dtype != computed.dtype:
        return f"declared Python {declared} but PyTorch computes Python {computed}"
    return None


def _kind(spec: Spec) -> str:
    return f"a tensor {spec}" if isinstance(spec, TensorSpec) else f"a Python scalar ({spec})"

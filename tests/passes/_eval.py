"""A tiny reference evaluator: runs a graph node by node on real tensors.

Used to check that passes keep semantics. With `coerce=True` each node's value is converted to
its declared dtype, which is what a graph whose declared dtypes are *wanted* dtypes means (and
what TypePromotion makes explicit with casts).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from torchfuzz.backends.inputs import make_inputs as build_inputs
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.infer import apply_op, spec_of
from torchfuzz.ir.ops.base import Trait
from torchfuzz.ir.ops.scalar import conversion
from torchfuzz.ir.types import Spec, TensorSpec


def make_inputs(graph: Graph, seed: int = 0) -> dict[str, Any]:
    """Data for every graph input, by name: the backends' builders, so every domain's promise
    (distinct values, exact nonzero counts, ...) holds as in a real run."""
    return dict(zip((inp.name for inp in graph.inputs), build_inputs(graph, seed), strict=True))


def coerce(value: Any, spec: Spec) -> Any:
    """`value` converted to `spec`'s dtype the way the IR converts (`conversion`: floats are
    rounded before they become integers)."""
    source = spec_of(value)
    if source.dtype == spec.dtype:
        return value
    for op, attrs in conversion(source, spec):
        value = apply_op(op, [value], dict(attrs))
    return value


def evaluate(
    graph: Graph, inputs: dict[str, Any], *, coerce_to_declared: bool = False
) -> tuple[Any, ...]:
    """The graph's outputs on these inputs.

    Without coercion every real result must have its node's declared dtype and shape (the
    stride is not checked: eager and FakeTensor may lay out results differently).
    """
    written = set(graph.mutated_inputs())  # in-place ops write these: give them copies
    env: dict[str, Any] = {
        inp.name: inputs[inp.name].clone() if inp.name in written else inputs[inp.name]
        for inp in graph.inputs
    }
    for node in graph.nodes:
        attrs = node.attr_map
        if node.op.has(Trait.CONSTANT):
            value = attrs["value"]
        else:
            value = apply_op(node.op, [env[a] for a in node.inputs], attrs)
        if coerce_to_declared:
            value = coerce(value, node.spec)
        else:
            check_value(node.name, value, node.spec)
        env[node.name] = value
    return tuple(env[o] for o in graph.outputs)


def check_value(name: str, value: Any, spec: Spec) -> None:
    if isinstance(spec, TensorSpec):
        if not isinstance(value, torch.Tensor):
            raise AssertionError(f"{name}: declared {spec} but eager gives {value!r}")
        if value.dtype != spec.dtype or tuple(value.shape) != spec.shape:
            raise AssertionError(
                f"{name}: declared {spec} but eager gives {value.dtype}{list(value.shape)}"
            )
    elif type(value) is not spec.python_type:
        raise AssertionError(f"{name}: declared {spec} but eager gives {type(value).__name__}")


def assert_outputs_equal(expected: Iterable[Any], actual: Iterable[Any]) -> None:
    """Exactly equal values of the same type and dtype (NaNs in the same places)."""
    expected, actual = tuple(expected), tuple(actual)
    if len(expected) != len(actual):
        raise AssertionError(f"{len(expected)} outputs before, {len(actual)} after")
    for index, (a, b) in enumerate(zip(expected, actual, strict=True)):
        if isinstance(a, torch.Tensor):
            if not isinstance(b, torch.Tensor):
                raise AssertionError(f"output {index}: tensor before, {type(b).__name__} after")
            torch.testing.assert_close(
                b, a, rtol=0, atol=0, equal_nan=True, msg=f"output {index} differs"
            )
        elif type(a) is not type(b) or (a != b and not (a != a and b != b)):
            raise AssertionError(f"output {index}: {a!r} before, {b!r} after")


def assert_same_semantics(before: Graph, after: Graph, seeds: Iterable[int] = (0, 1, 2)) -> None:
    """`after` computes exactly what `before` means (declared dtypes coerced) on seeded inputs."""
    for seed in seeds:
        inputs = make_inputs(before, seed)
        expected = evaluate(before, inputs, coerce_to_declared=True)
        actual = evaluate(after, inputs)
        assert_outputs_equal(expected, actual)

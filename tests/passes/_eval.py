"""A tiny reference evaluator: runs a graph node by node on real tensors.

Used to check that passes keep semantics. With `coerce=True` each node's value is converted to
its declared dtype, which is what a graph whose declared dtypes are *wanted* dtypes means (and
what TypePromotion makes explicit with casts).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

import torch

from torchfuzz.ir.graph import Graph, Input
from torchfuzz.ir.ops.base import Trait
from torchfuzz.ir.ops.scalar import conversion
from torchfuzz.ir.types import DOMAIN_KINDS, ScalarSpec, Spec, TensorSpec
from torchfuzz.passes.infer import apply_op, spec_of


def make_input(inp: Input, seed: int) -> Any:
    """Seeded data for one input, from its domain, with the input's exact strides."""
    flo, fhi, ilo, ihi = DOMAIN_KINDS[inp.domain.kind]
    if inp.domain.kind == "index":
        ilo, ihi = 0, inp.domain.bound - 1
    spec = inp.spec
    if isinstance(spec, ScalarSpec):
        rng = random.Random(seed)
        if spec.python_type is bool:
            return rng.random() < 0.5
        if spec.python_type is int:
            return rng.randint(ilo, ihi)
        return round(rng.uniform(flo, fhi), 3)
    gen = torch.Generator().manual_seed(seed)
    size = spec.storage_size()
    if spec.dtype == torch.bool:
        data = torch.randint(0, 2, (size,), generator=gen).bool()
    elif spec.dtype.is_floating_point or spec.dtype.is_complex:
        data = torch.rand(size, generator=gen, dtype=torch.float64) * (fhi - flo) + flo
    else:
        data = torch.randint(ilo, ihi + 1, (size,), generator=gen)
    out = torch.empty_strided(spec.shape, spec.stride, dtype=spec.dtype)
    # Fill the whole storage, so overlapping (e.g. expanded) strides work too.
    out.as_strided((size,), (1,)).copy_(data.to(spec.dtype))
    return out


def make_inputs(graph: Graph, seed: int = 0) -> dict[str, Any]:
    """Data for every graph input, by name."""
    return {
        inp.name: make_input(inp, seed * 7919 + index) for index, inp in enumerate(graph.inputs)
    }


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
    env: dict[str, Any] = {inp.name: inputs[inp.name] for inp in graph.inputs}
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

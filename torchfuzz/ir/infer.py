"""Result specs decided by PyTorch itself: ops run on FakeTensors (no data, no kernels)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch._subclasses.fake_tensor import FakeTensorMode

from torchfuzz.ir.graph import Graph, Node
from torchfuzz.ir.ops.base import OpDef, Trait
from torchfuzz.ir.types import SCALAR_PYTHON_TYPES, ScalarSpec, Spec, TensorSpec
from torchfuzz.ir.write_view import op_attrs, written_view

# A representative value per Python scalar kind, for running ops on FakeTensors.
_SAMPLE_SCALARS = {torch.float64: 1.5, torch.int64: 2, torch.bool: True}


class InferenceError(Exception):
    """PyTorch rejected an op application while computing its result spec."""


# FakeTensor logs every rejected op with a traceback at ERROR level; a rejection here is an
# answer (this application is invalid), not an error.
_FAKE_TENSOR_LOG = logging.getLogger("torch._subclasses.fake_tensor")


@contextlib.contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    # `disabled`, not `setLevel`: setting a level clears the cache of every logger (~80 us).
    previous = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = previous


_PER_THREAD = threading.local()


def fake_mode() -> FakeTensorMode:
    """One FakeTensorMode per thread (FakeTensors hold no data, so a thread may share it;
    but the mode keeps whether it is inside a kernel on itself, so two threads using one
    mode at once break it: a campaign's triage threads verify candidates while the driver
    generates)."""
    mode = getattr(_PER_THREAD, "mode", None)
    if mode is None:
        mode = _PER_THREAD.mode = FakeTensorMode()
    return mode


def fake_value(spec: Spec) -> Any:
    """A FakeTensor with exactly this shape/stride/dtype, or a sample Python scalar."""
    if isinstance(spec, ScalarSpec):
        return _SAMPLE_SCALARS[spec.dtype]
    with fake_mode():
        return torch.empty_strided(spec.shape, spec.stride, dtype=spec.dtype)


def call_attrs(op: OpDef, attrs: dict[str, Any]) -> dict[str, Any]:
    """The attributes the op's call takes: all but the `select` attr (which picks from a
    list result after the call)."""
    return {k: v for k, v in attrs.items() if k != op.select}


def call_args(op: OpDef, operands: Sequence[Any], attrs: dict[str, Any]) -> tuple[tuple, dict]:
    """The args and kwargs the op's target is called with (the `select` attr left out)."""
    return op.args(operands, call_attrs(op, attrs))


def spec_of(value: Any) -> Spec:
    """The spec of a (fake or real) tensor or Python scalar."""
    if isinstance(value, torch.Tensor):
        return TensorSpec(tuple(value.shape), tuple(value.stride()), value.dtype)
    for dtype, kind in SCALAR_PYTHON_TYPES.items():
        if type(value) is kind:
            return ScalarSpec(dtype)
    raise InferenceError(f"unexpected result of type {type(value).__name__}")


# How a call is made: run now (eager or FakeTensor), or recorded as an FX node.
Call = Callable[[Callable[..., Any], tuple, dict[str, Any]], Any]


def _call_now(target: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> Any:
    return target(*args, **kwargs)


def write_in_place(op: OpDef, operands: Sequence[Any], attrs: dict[str, Any], call: Call) -> Any:
    """An in-place op's calls, made through `call`: the view of the written operand (when the
    node writes through one), then the op on it. Returns the written operand, the node's value.
    The lowering and `apply_op` both use it, so the FX program and inference cannot drift."""
    base = operands[op.mutates]
    view = written_view(attrs)
    written = base if view is None else view.apply(base, call)
    operands = [written if i == op.mutates else x for i, x in enumerate(operands)]
    args, kwargs = call_args(op, operands, op_attrs(attrs))
    call(op.target, args, kwargs)
    return base


def apply_op(op: OpDef, operands: Sequence[Any], attrs: dict[str, Any]) -> Any:
    """Call the op on real or fake operands as the lowered program will (an in-place op
    writes its operand and returns it)."""
    if op.mutates is not None:
        return write_in_place(op, operands, attrs, _call_now)
    args, kwargs = call_args(op, operands, attrs)
    result = op.target(*args, **kwargs)
    if op.select is not None:
        result = result[attrs[op.select]]
    return result


def evaluate_nodes(
    graph: Graph,
    inputs: Sequence[Any],
    clone_written: bool = False,
    before: Callable[[Node, list[Any], dict[str, Any]], None] | None = None,
    after: Callable[[Node, Any], Any] | None = None,
) -> dict[str, Any]:
    """Run `graph` on `inputs` node by node; the value of every input and node by name.

    With `clone_written` an in-place node writes a clone of its operand, so the values
    recorded before it keep what they were before the write. `before(node, operands,
    values so far)` is called for each node before it runs; `after(node, value)` after,
    and what it returns is the node's value from then on."""
    env: dict[str, Any] = {inp.name: value for inp, value in zip(graph.inputs, inputs)}
    for node in graph.nodes:
        attrs = node.attr_map
        operands = [env[i] for i in node.inputs]
        if clone_written and node.op.mutates is not None:
            operands[node.op.mutates] = operands[node.op.mutates].clone()
        if before is not None:
            before(node, operands, env)
        if node.op.has(Trait.CONSTANT):
            env[node.name] = attrs["value"]
        else:
            env[node.name] = apply_op(node.op, operands, attrs)
        if after is not None:
            env[node.name] = after(node, env[node.name])
    return env


def fake_spec(op: OpDef, specs: Sequence[Spec], attrs: dict[str, Any]) -> Spec:
    """The spec FakeTensor propagation gives `op` on these operands (or the op's own `infer`
    rule): the judge of the fast path, never remembered."""
    if op.infer is not None:
        return _by_rule(op, specs, attrs)
    operands = [fake_value(s) for s in specs]
    try:
        with fake_mode(), _quiet(_FAKE_TENSOR_LOG):
            result = apply_op(op, operands, attrs)
    except Exception as exc:  # PyTorch's verdict on an invalid application
        args = ", ".join(map(str, specs))
        raise InferenceError(f"{op.name}({args}, {attrs}): {type(exc).__name__}: {exc}") from exc
    return spec_of(result)


def _by_rule(op: OpDef, specs: Sequence[Spec], attrs: dict[str, Any]) -> Spec:
    try:
        return op.infer(specs, attrs)
    except ValueError as exc:  # the rule's verdict on an invalid application
        args = ", ".join(map(str, specs))
        raise InferenceError(f"{op.name}({args}, {attrs}): {exc}") from exc


def same_storage(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two (fake or real) tensors are views of one storage."""
    return a.untyped_storage()._cdata == b.untyped_storage()._cdata

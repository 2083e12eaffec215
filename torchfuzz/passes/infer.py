"""Result specs decided by PyTorch itself: ops run on FakeTensors (no data, no kernels)."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch._subclasses.fake_tensor import FakeTensorMode

from torchfuzz.ir.ops.base import OpDef
from torchfuzz.ir.types import SCALAR_PYTHON_TYPES, ScalarSpec, Spec, TensorSpec

# A representative value per Python scalar kind, for running ops on FakeTensors.
_SAMPLE_SCALARS = {torch.float64: 1.5, torch.int64: 2, torch.bool: True}


class InferenceError(Exception):
    """PyTorch rejected an op application while computing its result spec."""


# FakeTensor logs every rejected op with a traceback at ERROR level; a rejection here is an
# answer (this application is invalid), not an error.
_FAKE_TENSOR_LOG = logging.getLogger("torch._subclasses.fake_tensor")


@contextlib.contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


@functools.lru_cache(maxsize=1)
def fake_mode() -> FakeTensorMode:
    """One FakeTensorMode per process; FakeTensors hold no data, so sharing it is safe."""
    return FakeTensorMode()


def fake_value(spec: Spec) -> Any:
    """A FakeTensor with exactly this shape/stride/dtype, or a sample Python scalar."""
    if isinstance(spec, ScalarSpec):
        return _SAMPLE_SCALARS[spec.dtype]
    with fake_mode():
        return torch.empty_strided(spec.shape, spec.stride, dtype=spec.dtype)


def call_args(op: OpDef, operands: Sequence[Any], attrs: dict[str, Any]) -> tuple[tuple, dict]:
    """The args and kwargs the op's target is called with (the `select` attr left out)."""
    attrs = {k: v for k, v in attrs.items() if k != op.select}
    return op.args(operands, attrs)


def spec_of(value: Any) -> Spec:
    """The spec of a (fake or real) tensor or Python scalar."""
    if isinstance(value, torch.Tensor):
        return TensorSpec(tuple(value.shape), tuple(value.stride()), value.dtype)
    for dtype, kind in SCALAR_PYTHON_TYPES.items():
        if type(value) is kind:
            return ScalarSpec(dtype)
    raise InferenceError(f"unexpected result of type {type(value).__name__}")


def apply_op(op: OpDef, operands: Sequence[Any], attrs: dict[str, Any]) -> Any:
    """Call the op on real or fake operands as the lowered program will."""
    args, kwargs = call_args(op, operands, attrs)
    result = op.target(*args, **kwargs)
    if op.select is not None:
        result = result[attrs[op.select]]
    return result


def infer_spec(op: OpDef, specs: Sequence[Spec], attrs: dict[str, Any]) -> Spec:
    """The spec PyTorch gives `op` applied to operands of these specs."""
    if op.infer is not None:
        return op.infer(specs, attrs)
    operands = [fake_value(s) for s in specs]
    try:
        with fake_mode(), _quiet(_FAKE_TENSOR_LOG):
            result = apply_op(op, operands, attrs)
    except Exception as exc:  # PyTorch's verdict on an invalid application
        args = ", ".join(map(str, specs))
        raise InferenceError(f"{op.name}({args}, {attrs}): {type(exc).__name__}: {exc}") from exc
    return spec_of(result)

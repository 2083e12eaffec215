"""The fast inference path: result specs remembered per process and computed cheaply.

FakeTensor propagation (`torchfuzz.ir.infer.fake_spec`) is the judge; it costs about a
millisecond per op application. Generation asks for thousands, most of them again and again
(the generator's fit test, the node itself, type promotion, the spec check). Here:

* every answer is remembered by its exact application (`memo_key`);
* a new application runs on meta tensors (the ops' meta functions, no fake mode), except for
  the ops in `FAKE_ONLY`, and wherever the meta path raises;
* an elementwise op on dense operands has the dense broadcast shape (`_dense_elementwise`),
  its dtype remembered apart from sizes (`dtype_key`), found by running the op on ones.

tests/ir/test_infer_fast.py proves all of it equal to FakeTensor on every op of the
catalogue for every declared dtype. An answer depends on nothing but its key, so remembering
never changes a program: same seed, same program, in any process.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from torchfuzz.ir.infer import (
    _FAKE_TENSOR_LOG,
    _SAMPLE_SCALARS,
    InferenceError,
    _by_rule,
    _quiet,
    apply_op,
    fake_mode,
    fake_spec,
    fake_value,
    same_storage,
    spec_of,
)
from torchfuzz.ir.ops.base import OpDef, Trait
from torchfuzz.ir.types import ScalarSpec, Spec, TensorSpec, contiguous_strides


def infer_spec(op: OpDef, specs: Sequence[Spec], attrs: dict[str, Any]) -> Spec:
    """The spec PyTorch gives `op` applied to operands of these specs: remembered per process
    for each exact application (op, operand specs, typed attributes), and computed on meta
    tensors, or on FakeTensors for the ops in `FAKE_ONLY` and wherever the meta path raises.
    `fake_spec` is the judge it is tested against (tests/ir/test_infer_fast.py)."""
    key = memo_key(op, specs, attrs)
    if key is None:
        return _dense_elementwise(op, specs, attrs) or _compute(op, specs, attrs)
    known = _SPECS.get(key)
    if known is None:
        try:
            known = _dense_elementwise(op, specs, attrs) or _compute(op, specs, attrs)
        except InferenceError as exc:
            known = _Rejected(str(exc))
        _remember(_SPECS, key, known)
    if isinstance(known, _Rejected):
        raise InferenceError(known.message)
    return known


def natural_dtype(op: OpDef, specs: Sequence[Spec], attrs: dict[str, Any]) -> torch.dtype:
    """The dtype of `op`'s result on these operands, remembered by `dtype_key`: the op, the
    attribute types and each operand's dtype and whether it has dims, not its sizes or
    strides (a result dtype depends on no size: tests/ir/test_infer_fast.py checks it on
    every op). Only answers are remembered: an application PyTorch rejects is rejected by
    `infer_spec` when computed."""
    return _known_dtype(op, specs, attrs) or infer_spec(op, specs, attrs).dtype


def _known_dtype(op: OpDef, specs: Sequence[Spec], attrs: dict[str, Any]) -> torch.dtype | None:
    """The remembered dtype, or the one eager gives on ones (then remembered); None where
    neither is known."""
    key = dtype_key(op, specs, attrs)
    known = None if key is None else _DTYPES.get(key)
    if known is None:
        known = _eager_dtype(op, specs, attrs)
        if key is not None and known is not None:
            _remember(_DTYPES, key, known)
    return known


def _dense_elementwise(
    op: OpDef, specs: Sequence[Spec], attrs: dict[str, Any]
) -> TensorSpec | None:
    """An elementwise op on operands that are all dense row-major (or Python scalars) makes a
    dense row-major result of their broadcast shape (TensorIterator keeps the operands'
    order); its dtype is `_known_dtype`'s. None where the rule does not apply: other ops,
    views, in-place writes, strided or empty operands, ops in FAKE_ONLY, an unknown dtype."""
    if not op.has(Trait.ELEMENTWISE) or op.has(Trait.VIEW):  # real(c64) views its storage
        return None
    if op.mutates is not None or op.select is not None:
        return None
    if op.name in FAKE_ONLY:
        return None
    shapes = []
    for s in specs:
        if isinstance(s, TensorSpec):
            if 0 in s.shape or s.stride != contiguous_strides(s.shape):
                return None
            shapes.append(s.shape)
    if not shapes:
        return None
    dtype = _known_dtype(op, specs, attrs)
    if dtype is None:
        return None
    rank = max(map(len, shapes))
    out = [1] * rank
    for shape in shapes:
        for dim, size in enumerate(shape, rank - len(shape)):
            if size != 1:
                out[dim] = size
    shape = tuple(out)
    return TensorSpec(shape, contiguous_strides(shape), dtype)


def _eager_dtype(op: OpDef, specs: Sequence[Spec], attrs: dict[str, Any]) -> torch.dtype | None:
    """The dtype eager gives an elementwise op on ones of these specs (a few microseconds,
    where the meta path takes hundreds: eager's dtype is the program's, so FakeTensor's too),
    or None: for other ops (some print C++ warnings on such operands, e.g. var with one
    element), where eager raises, and for ops that draw random numbers (the global generator
    is left alone)."""
    if op.infer is not None or op.has(Trait.NONDETERMINISTIC) or not op.has(Trait.ELEMENTWISE):
        return None
    operands = [
        _SAMPLE_SCALARS[s.dtype]
        if isinstance(s, ScalarSpec)
        else torch.ones(s.shape, dtype=s.dtype)
        for s in specs
    ]
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = apply_op(op, operands, attrs)
        return spec_of(result).dtype
    except Exception:  # noqa: BLE001 - any failure: the exact path decides
        return None


def meta_spec(op: OpDef, specs: Sequence[Spec], attrs: dict[str, Any]) -> Spec:
    """The spec of `op` run on meta tensors (no fake mode: the ops' meta functions directly).
    Raises whatever the meta path raises (an op without a meta function, a rejection)."""
    return spec_of(apply_op(op, [_meta_value(s) for s in specs], attrs))


def _compute(op: OpDef, specs: Sequence[Spec], attrs: dict[str, Any]) -> Spec:
    if op.infer is not None:
        return _by_rule(op, specs, attrs)
    if op.name not in FAKE_ONLY:
        try:
            return meta_spec(op, specs, attrs)
        except Exception:  # no meta function, or a rejection: FakeTensor decides
            pass
    return fake_spec(op, specs, attrs)


def _meta_value(spec: Spec) -> Any:
    if isinstance(spec, ScalarSpec):
        return _SAMPLE_SCALARS[spec.dtype]
    return torch.empty_strided(spec.shape, spec.stride, dtype=spec.dtype, device="meta")


# Ops whose meta path gives another spec than FakeTensor (found by tests/ir/test_infer_fast.py,
# which runs every op of the catalogue both ways; convolutions pick their output layout by
# the CPU backend, which meta tensors do not have): these always run on FakeTensors.
FAKE_ONLY: frozenset[str] = frozenset(
    {
        "channel_shuffle",
        "conv1d",
        "conv2d",
        "conv_transpose1d",
        "conv_transpose2d",
        "einsum",
        "flatten",
        "logaddexp",
        "nonzero_static",
        "reshape",
    }
)


@dataclass(frozen=True, slots=True)
class _Rejected:
    """A remembered rejection: the same application is rejected again, with this message."""

    message: str


# Remembered answers per process, by `memo_key`. An answer depends on nothing but its key
# (PyTorch's rules are pure), so remembering never changes a program: same seed, same program.
_SPECS: dict[tuple, Spec | _Rejected] = {}
_ALIASES: dict[tuple, bool] = {}
_DTYPES: dict[tuple, torch.dtype] = {}
_MEMO_LIMIT = 200_000
_OPS: dict[int, OpDef] = {}  # ids in keys stay those of live ops


def _remember(memo: dict, key: tuple, value: Any) -> None:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value


def memo_key(op: OpDef, specs: Sequence[Spec], attrs: dict[str, Any]) -> tuple | None:
    """What an inference answer depends on: the op, each operand's shape, strides and dtype
    (not its storage offset), and the attributes with their types (1, 1.0 and True differ);
    None where an attribute is not hashable."""
    _OPS.setdefault(id(op), op)
    try:
        frozen = tuple((k, _typed(v)) for k, v in attrs.items())
        hash(frozen)
    except TypeError:
        return None
    operands = tuple(
        (s.shape, s.stride, s.dtype) if isinstance(s, TensorSpec) else s.dtype for s in specs
    )
    return (id(op), operands, frozen)


def dtype_key(op: OpDef, specs: Sequence[Spec], attrs: dict[str, Any]) -> tuple | None:
    """`memo_key` with each tensor operand's sizes and strides left out (whether it has
    dims kept: a 0-dim tensor takes part in type promotion as a scalar), and of int and float attributes
    only the type (a dim, a size or a fill value decides no dtype; the type does), except
    the one that picks a result of several (sort's values or indices)."""
    _OPS.setdefault(id(op), op)
    try:
        frozen = tuple((k, _typed(v) if k == op.select else _kind(v)) for k, v in attrs.items())
        hash(frozen)
    except TypeError:
        return None
    operands = tuple(
        (bool(s.shape), s.dtype) if isinstance(s, TensorSpec) else s.dtype for s in specs
    )
    return (id(op), operands, frozen)


def _kind(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return (type(value), tuple(_kind(v) for v in value))
    if type(value) in (int, float):
        return type(value)
    return (type(value), value)


def _typed(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return (type(value), tuple(_typed(v) for v in value))
    if isinstance(value, float):
        return (float, repr(value))  # -0.0 and nan are keys like any other
    return (type(value), value)


def may_alias(op: OpDef, specs: Sequence[Spec], attrs: dict[str, Any]) -> bool:
    """Whether `op`'s result may share storage with one of its operands: a view, an in-place
    write, or an op such as reshape that returns a view for some layouts. Asked of the given
    layouts and of dense ones, since eager's layouts can differ from FakeTensor's; remembered
    per process like `infer_spec`."""
    if op.infer is not None:
        return False  # Python scalars, `.item()` and constants hold no storage
    key = memo_key(op, specs, attrs)
    known = None if key is None else _ALIASES.get(key)
    if known is None:
        known = _may_alias(op, specs, attrs)
        if key is not None:
            _remember(_ALIASES, key, known)
    return known


def _may_alias(op: OpDef, specs: Sequence[Spec], attrs: dict[str, Any]) -> bool:
    dense = [
        TensorSpec.contiguous(s.shape, s.dtype) if isinstance(s, TensorSpec) else s for s in specs
    ]
    for layout in (specs, dense):
        operands = [fake_value(s) for s in layout]
        try:
            with fake_mode(), _quiet(_FAKE_TENSOR_LOG):
                result = apply_op(op, operands, attrs)
        except Exception:  # PyTorch's verdict on this layout; assume the worst
            return True
        if isinstance(result, torch.Tensor) and any(
            isinstance(x, torch.Tensor) and same_storage(x, result) for x in operands
        ):
            return True
    return False

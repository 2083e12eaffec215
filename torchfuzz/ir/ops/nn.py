"""Neural-network ops: activations, softmax/log_softmax and layer_norm (float dtypes only)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from torchfuzz.ir.ops.base import FLOAT_DTYPES, OpDef, Promotion, Proposal, SpecSampler, Trait, Want

aten = torch.ops.aten
Attrs = tuple[tuple[str, Any], ...]
AttrSampler = Callable[[SpecSampler], Attrs]
ELEMENTWISE = frozenset({Trait.ELEMENTWISE})


def _float_dtype(s: SpecSampler, want: Want) -> torch.dtype | None:
    if want.is_scalar:
        return None
    return want.dtype if want.dtype in FLOAT_DTYPES else s.dtype(FLOAT_DTYPES)


def _no_attrs(s: SpecSampler) -> Attrs:
    return ()


def activation(
    name: str, target: Callable, attrs: AttrSampler = _no_attrs, weight: float = 1.0
) -> OpDef:
    """An elementwise activation of one float tensor (torch._refs: DEFAULT type promotion)."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        dtype = _float_dtype(s, want)
        if dtype is None:
            return None
        return Proposal((Want(want.shape, dtype),), attrs(s))

    return OpDef(
        name,
        target,
        "nn",
        propose,
        ELEMENTWISE,
        Promotion.DEFAULT,
        weight=weight,
        dtypes=FLOAT_DTYPES,
    )


def _gelu_attrs(s: SpecSampler) -> Attrs:
    return (("approximate", s.rng.choice(("none", "tanh"))),)


def _leaky_relu_attrs(s: SpecSampler) -> Attrs:
    return (("negative_slope", s.rng.choice((0.01, 0.2, 1.5))),) if s.chance(0.6) else ()


def _hardtanh_attrs(s: SpecSampler) -> Attrs:
    low = round(s.rng.uniform(-1.5, 0.0), 2)
    return (("min_val", low), ("max_val", round(low + s.rng.uniform(0.1, 2.0), 2)))


def _elu_attrs(s: SpecSampler) -> Attrs:
    return (("alpha", s.rng.choice((1.0, 0.5, 2.0))),) if s.chance(0.5) else ()


def _softplus_attrs(s: SpecSampler) -> Attrs:
    return (("beta", s.rng.choice((1.0, 2.0))), ("threshold", s.rng.choice((20.0, 1.0))))


def softmax(name: str, target: Callable) -> OpDef:
    """`aten._softmax`-style: a dim and `half_to_float` (always False: CPU only allows that)."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        dtype = _float_dtype(s, want)
        if dtype is None:
            return None
        dim = s.dim(max(len(want.shape), 1))
        return Proposal((Want(want.shape, dtype),), (("dim", dim), ("half_to_float", False)))

    return OpDef(name, target, "nn", propose, dtypes=FLOAT_DTYPES)


def _propose_layer_norm(s: SpecSampler, want: Want) -> Proposal | None:
    dtype = _float_dtype(s, want)
    if dtype is None or not want.shape:
        return None
    normalized = want.shape[s.rng.randrange(len(want.shape)) :]
    affine = s.rng.randint(0, 2)  # operands after the input: weight, then bias
    inputs = (Want(want.shape, dtype),) + (Want(normalized, dtype),) * affine
    attrs: Attrs = (("normalized_shape", normalized),)
    if s.chance(0.4):
        attrs += (("eps", s.rng.choice((1e-5, 1e-3, 0.1))),)
    return Proposal(inputs, attrs)


def _layer_norm_args(
    inputs: Sequence[Any], attrs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    # weight and bias are optional operands in the middle of the signature.
    attrs = dict(attrs)
    weight, bias = (*inputs[1:], None, None)[:2]
    return (inputs[0], list(attrs.pop("normalized_shape")), weight, bias), attrs


OPS: tuple[OpDef, ...] = (
    activation("relu", aten.relu.default, weight=1.5),
    activation("gelu", aten.gelu.default, _gelu_attrs),
    activation("silu", aten.silu.default),
    activation("leaky_relu", aten.leaky_relu.default, _leaky_relu_attrs),
    activation("hardtanh", aten.hardtanh.default, _hardtanh_attrs),
    activation("elu", aten.elu.default, _elu_attrs),
    activation("mish", aten.mish.default, weight=0.5),
    activation("softplus", aten.softplus.default, _softplus_attrs, weight=0.5),
    activation("hardswish", aten.hardswish.default, weight=0.5),
    activation("hardsigmoid", aten.hardsigmoid.default, weight=0.5),
    softmax("softmax", aten._softmax.default),
    softmax("log_softmax", aten._log_softmax.default),
    OpDef(
        "layer_norm",
        aten.layer_norm.default,
        "nn",
        _propose_layer_norm,
        args=_layer_norm_args,
        dtypes=FLOAT_DTYPES,
    ),
)

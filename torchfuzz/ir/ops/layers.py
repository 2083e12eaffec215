"""Neural-network layers: convolution, pooling, normalization, embedding, attention, dropout in
eval form, and the activations nn.py lacks; the losses and distances of `losses` join them.

Windowed ops work backward: window attributes are drawn first, then an input size is searched
that ATen's own output-size formula maps to the wanted size."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch

from torchfuzz.ir.ops import losses
from torchfuzz.ir.ops.base import (
    FLOAT_DTYPES,
    INT_DTYPES,
    REAL_DTYPES,
    LowerArgs,
    OpDef,
    Promotion,
    Proposal,
    SpecSampler,
    Trait,
    Want,
    nonempty,
    positional,
)
from torchfuzz.ir.ops.losses import attr_choice, named, no_attrs
from torchfuzz.ir.ops.view import divisors, signed_dim
from torchfuzz.ir.types import ANY, DISTINCT, POSITIVE, Domain, index_domain

aten = torch.ops.aten
Shape = tuple[int, ...]
Attrs = tuple[tuple[str, Any], ...]
# Wanted output shape and operand dtype -> operands and attributes (None: can't make it).
Rule = Callable[[SpecSampler, Shape, torch.dtype], "tuple[tuple[Want, ...], Attrs] | None"]
Window = tuple[int, ...]  # kernel, stride, padding, dilation[, output_padding] of one dim
FLOATS = FLOAT_DTYPES


def layer(
    name: str,
    target: Callable,
    rule: Rule,
    allowed: frozenset[torch.dtype] = FLOATS,
    args: LowerArgs = positional,
    values_only: bool = False,
    weight: float = 0.5,
) -> OpDef:
    """A layer on tensors of one dtype (the wanted one when allowed): the rule does the rest.
    `values_only`: the op returns (values, indices or mask); the graph takes the values."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        dtype = _dtype(s, want, allowed)
        found = None if dtype is None else rule(s, want.shape, dtype)
        if found is None:
            return None
        return Proposal(found[0], found[1] + ((("index", 0),) if values_only else ()))

    select = "index" if values_only else None
    return OpDef(
        name, target, "layers", propose, args=args, select=select, weight=weight, dtypes=allowed
    )


# An op returning (values, indices or mask), of which the graph takes the values.
values = functools.partial(layer, values_only=True, weight=0.3)


def _dtype(s: SpecSampler, want: Want, allowed: frozenset[torch.dtype]) -> torch.dtype | None:
    if want.is_scalar:
        return None
    return want.dtype if want.dtype in allowed else s.dtype(allowed)


# --- windows: ATen's output size of one spatial dim, and random windows ----------------------
def _conv_size(n: int, w: Window) -> int:
    k, st, p, d = w
    span = n + 2 * p - d * (k - 1) - 1
    return span // st + 1 if span >= 0 else 0


def _transposed_size(n: int, w: Window) -> int:
    k, st, p, d, extra = w
    return (n - 1) * st - 2 * p + d * (k - 1) + extra + 1


def _pool_size(ceil: bool) -> Callable[[int, Window], int]:
    def size(n: int, w: Window) -> int:
        k, st, p, d = w
        span = n + 2 * p - d * (k - 1) - 1 + (st - 1 if ceil else 0)
        if span < 0:
            return 0
        out = span // st + 1
        # ceil_mode: the last window must start inside the input or its left padding.
        return out - 1 if ceil and (out - 1) * st >= n + p else out

    return size


def _conv_window(s: SpecSampler) -> Window:
    return s.rng.randint(1, 3), s.rng.randint(1, 2), s.rng.randint(0, 2), s.rng.randint(1, 2)


def _transposed_window(s: SpecSampler) -> Window:
    k, st, p, d = _conv_window(s)
    return k, st, p, d, s.rng.randrange(max(st, d))  # output_padding < max(stride, dilation)


def _pool_window(dilate: bool) -> Callable[[SpecSampler], Window]:
    def draw(s: SpecSampler) -> Window:
        k = s.rng.randint(1, 3)  # pools allow padding up to half the kernel
        return k, s.rng.randint(1, 3), s.rng.randint(0, k // 2), s.rng.randint(1, 1 + dilate)

    return draw


def _fit(
    s: SpecSampler,
    outs: Shape,
    size: Callable[[int, Window], int],
    draw: Callable[[SpecSampler], Window],
) -> tuple[Shape, tuple[Shape, ...]] | None:
    """Input sizes and per-attribute window tuples that give the wanted spatial sizes."""
    ins, windows = [], []
    for out in outs:
        for _ in range(6):
            w = draw(s)
            fits = [n for n in range(1, s.max_dim + 1) if size(n, w) == out]
            if fits:
                break
        else:
            if out > s.max_dim:
                return None
            w, fits = (1, 1, 0, 1, 0)[: len(w)], [out]  # the identity window
        ins.append(s.rng.choice(fits))
        windows.append(w)
    return tuple(ins), tuple(zip(*windows, strict=True))


def _spatial_rank_ok(want: Shape, k: int) -> bool:
    return len(want) in (k + 1, k + 2)  # unbatched or batched


_CONV_WINDOWS = {False: (_conv_size, _conv_window), True: (_transposed_size, _transposed_window)}


def _conv(k: int, transposed: bool) -> Rule:
    """convNd / conv_transposeNd: groups split the channels; bias is optional."""

    @nonempty
    def rule(s: SpecSampler, want: Shape, dtype: torch.dtype):
        fit = _fit(s, want[-k:], *_CONV_WINDOWS[transposed]) if _spatial_rank_ok(want, k) else None
        if fit is None:
            return None
        spatial, (kernel, stride, padding, dilation, *extra) = fit
        c_out = want[-k - 1]
        groups = s.rng.choice(divisors(c_out))
        c_in = groups * s.rng.randint(1, max(1, s.max_dim // groups))
        weight = (c_in, c_out // groups) if transposed else (c_out, c_in // groups)
        inputs = [Want(want[: -k - 1] + (c_in,) + spatial, dtype), Want(weight + kernel, dtype)]
        if s.chance(0.6):
            inputs.append(Want((c_out,), dtype))
        attrs: Attrs = (("stride", stride), ("padding", padding), ("dilation", dilation))
        if extra:
            attrs += (("output_padding", extra[0]),)
        return tuple(inputs), attrs + (("groups", groups),)

    return rule


def _pool(k: int, dilate: bool, extra: Callable[[SpecSampler], Attrs]) -> Rule:
    @nonempty
    def rule(s: SpecSampler, want: Shape, dtype: torch.dtype):
        ceil = s.chance(0.3)  # max_pool1d: eager's result is dense, FakeTensor's need not be
        fit = _fit(s, want[-k:], _pool_size(ceil), _pool_window(dilate)) if want else None
        if fit is None or not _spatial_rank_ok(want, k):
            return None
        spatial, (kernel, stride, padding, dilation) = fit
        attrs: Attrs = (("kernel_size", kernel), ("stride", stride), ("padding", padding))
        attrs += (("dilation", dilation),) if dilate else ()
        source = Want(want[:-k] + spatial, dtype, contiguous=k == 1 and dilate)
        return (source,), attrs + (("ceil_mode", ceil),) + extra(s)

    return rule


def _avg_attrs(divisor: bool) -> Callable[[SpecSampler], Attrs]:
    def draw(s: SpecSampler) -> Attrs:
        divide = (("divisor_override", s.rng.randint(1, 4)),) if divisor and s.chance(0.2) else ()
        return (("count_include_pad", s.chance(0.5)),) + divide

    return draw


def _adaptive(k: int) -> Rule:
    """Adaptive pools take any input size; max pools return (values, indices): values only."""

    @nonempty
    def rule(s: SpecSampler, want: Shape, dtype: torch.dtype):
        if not _spatial_rank_ok(want, k):
            return None
        source = want[:-k] + tuple(s.dim_size() for _ in range(k))
        return (Want(source, dtype),), (("output_size", want[-k:]),)

    return rule


# --- normalization, embedding, attention, dropout ----------------------------------------------
def _eps(s: SpecSampler) -> Attrs:
    return (("eps", s.rng.choice((1e-5, 1e-3, 0.1))),) if s.chance(0.4) else ()


def _affine(s: SpecSampler, shape: Shape, dtype: torch.dtype) -> tuple[Want, ...]:
    return (Want(shape, dtype),) * s.rng.randint(0, 2)  # weight, then bias


@nonempty
def _group_norm(s: SpecSampler, want: Shape, dtype: torch.dtype):
    if len(want) < 2:
        return None
    groups = s.rng.choice(divisors(want[1]))
    inputs = (Want(want, dtype), *_affine(s, (want[1],), dtype))
    return inputs, (("num_groups", groups),) + _eps(s)


@nonempty
def _batch_norm(s: SpecSampler, want: Shape, dtype: torch.dtype):
    """Eval form: normalized by running statistics (the variance a fresh positive input)."""
    if len(want) < 2:
        return None
    c = (want[1],)
    stats = (Want(c, dtype), Want(c, dtype, POSITIVE))
    attrs = (("training", False), ("momentum", 0.1), ("eps", s.rng.choice((1e-5, 1e-3, 0.1))))
    inputs = (Want(want, dtype, contiguous=True), *stats, *_affine(s, c, dtype))
    return inputs, attrs + (("cudnn_enabled", False),)


@nonempty
def _instance_norm(s: SpecSampler, want: Shape, dtype: torch.dtype):
    if len(want) < 3:
        return None
    attrs: Attrs = (("use_input_stats", True),)
    attrs += (("momentum", 0.1), ("eps", s.rng.choice((1e-5, 1e-3))), ("cudnn_enabled", False))
    return (Want(want, dtype), *_affine(s, (want[1],), dtype)), attrs


def _rms_norm(s: SpecSampler, want: Shape, dtype: torch.dtype):
    if not want:
        return None
    normalized = want[s.rng.randrange(len(want)) :]
    inputs = (Want(want, dtype),) + ((Want(normalized, dtype),) if s.chance(0.6) else ())
    return inputs, (("normalized_shape", normalized),) + _eps(s)


def _embedding(s: SpecSampler, want: Shape, dtype: torch.dtype):
    if not want:
        return None
    rows = s.dim_size()
    index_dtype = s.rng.choice((torch.int64, torch.int32))
    return (Want((rows, want[-1]), dtype), Want(want[:-1], index_dtype, index_domain(rows))), ()


def _attention(s: SpecSampler, want: Shape, dtype: torch.dtype):
    """q (..., L, E), k (..., S, E), v (..., S, Ev); causal, or an additive float mask."""
    if len(want) not in (3, 4):
        return None
    *batch, length, ev = want
    source, e = s.dim_size(), s.dim_size()
    lead = tuple(batch)
    inputs = [Want(lead + shape, dtype) for shape in ((length, e), (source, e), (source, ev))]
    causal = s.chance(0.3)
    if not causal and s.chance(0.3):
        inputs.append(Want(s.broadcast_to(lead + (length, source)), dtype))
    scale = s.rng.choice((None, 0.5, 2.0)) if s.chance(0.4) else None
    return tuple(inputs), (("is_causal", causal), ("scale", scale))


def _dropout(s: SpecSampler, want: Shape, dtype: torch.dtype):
    """Dropout in eval form: the identity."""
    # Dense: eager's native_dropout result is dense for any layout, FakeTensor's is not.
    attrs = (("p", s.rng.choice((0.1, 0.5, 0.9))), ("train", False))
    return (Want(want, dtype, contiguous=True),), attrs


# --- activations ---------------------------------------------------------------------------
def _glu(s: SpecSampler, want: Shape, dtype: torch.dtype):
    halves = [d for d, size in enumerate(want) if 2 * size <= s.max_dim]
    if not halves:
        return None
    d = s.rng.choice(halves)
    source = want[:d] + (2 * want[d],) + want[d + 1 :]
    return (Want(source, dtype),), (("dim", signed_dim(s, d, len(want))),)


def _prelu(s: SpecSampler, want: Shape, dtype: torch.dtype):
    channels = want[1] if len(want) >= 2 and s.chance(0.7) else 1
    return (Want(want, dtype), Want((channels,), dtype)), ()


def activation(
    name: str,
    target: Callable,
    attrs: Callable[[SpecSampler], Attrs] = no_attrs,
    allowed: frozenset[torch.dtype] = FLOATS,
    domain: Callable[[Attrs], Domain] = lambda attrs: ANY,
    weight: float = 0.4,
    contiguous: bool = False,
) -> OpDef:
    """An elementwise activation of one tensor; `domain` keeps discontinuities away from data.
    `contiguous`: eager's result is dense for any layout but FakeTensor's is not."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        dtype = _dtype(s, want, allowed)
        if dtype is None:
            return None
        drawn = attrs(s)
        return Proposal((Want(want.shape, dtype, domain(drawn), contiguous),), drawn)

    traits = frozenset({Trait.ELEMENTWISE})
    return OpDef(
        name, target, "layers", propose, traits, Promotion.DEFAULT, weight=weight, dtypes=allowed
    )


_shrink_attrs = attr_choice("lambd", 0.5, 1.5, 2.5)


def _threshold_attrs(s: SpecSampler) -> Attrs:
    jump = s.rng.choice((-1.5, -0.5, 0.5, 1.5))
    return (("threshold", jump), ("value", jump if s.chance(0.5) else s.rng.choice((0.0, -2.0))))


def _jumps(attrs: Attrs) -> Domain:
    """Integer data (a `distinct` input) never meets a half-integer jump of the function."""
    values = dict(attrs)
    return ANY if values.get("value", 0.0) == values.get("threshold") else DISTINCT


def _threshold_ints(s: SpecSampler) -> Attrs:
    return (("threshold", s.rng.randint(-2, 2)), ("value", s.rng.randint(-3, 3)))


def _rrelu_attrs(s: SpecSampler) -> Attrs:
    lower = s.rng.choice((0.1, 0.125, 0.3))
    return (("lower", lower), ("upper", lower + s.rng.choice((0.0, 0.2))), ("training", False))


SIGNED_INTS = INT_DTYPES - {torch.uint8}

OPS: tuple[OpDef, ...] = (
    layer("conv1d", aten.conv1d.default, _conv(1, False)),
    layer("conv2d", aten.conv2d.default, _conv(2, False), weight=0.8),
    layer("conv_transpose1d", aten.conv_transpose1d.default, _conv(1, True), weight=0.3),
    layer("conv_transpose2d", aten.conv_transpose2d.input, _conv(2, True), weight=0.3),
    layer("max_pool1d", aten.max_pool1d.default, _pool(1, True, no_attrs)),
    layer("max_pool2d", aten.max_pool2d.default, _pool(2, True, no_attrs), FLOATS | INT_DTYPES),
    layer("avg_pool1d", aten.avg_pool1d.default, _pool(1, False, _avg_attrs(False))),
    layer("avg_pool2d", aten.avg_pool2d.default, _pool(2, False, _avg_attrs(True))),
    layer("adaptive_avg_pool1d", aten.adaptive_avg_pool1d.default, _adaptive(1)),
    layer("adaptive_avg_pool2d", aten.adaptive_avg_pool2d.default, _adaptive(2)),
    values("adaptive_max_pool1d", aten.adaptive_max_pool1d.default, _adaptive(1)),
    values("adaptive_max_pool2d", aten.adaptive_max_pool2d.default, _adaptive(2)),
    layer(
        "group_norm", aten.group_norm.default, _group_norm, args=named("input", "weight", "bias")
    ),
    layer(
        "batch_norm",
        aten.batch_norm.default,
        _batch_norm,
        args=named("input", "running_mean", "running_var", "weight", "bias"),
    ),
    layer(
        "instance_norm",
        aten.instance_norm.default,
        _instance_norm,
        args=named("input", "weight", "bias", "running_mean", "running_var"),
        weight=0.3,
    ),
    layer("rms_norm", aten.rms_norm.default, _rms_norm, args=named("input", "weight")),
    layer("embedding", aten.embedding.default, _embedding, REAL_DTYPES),
    layer("scaled_dot_product_attention", aten.scaled_dot_product_attention.default, _attention),
    layer("dropout", aten.dropout.default, _dropout, weight=0.3),
    layer("feature_dropout", aten.feature_dropout.default, _dropout, weight=0.2),
    layer("alpha_dropout", aten.alpha_dropout.default, _dropout, weight=0.2),
    values("native_dropout", aten.native_dropout.default, _dropout, weight=0.2),
    layer("glu", aten.glu.default, _glu),
    layer("prelu", aten.prelu.default, _prelu),
    activation("log_sigmoid", aten.log_sigmoid.default, contiguous=True),
    activation("selu", aten.selu.default),
    activation("celu", aten.celu.default, attr_choice("alpha", 1.0, 0.5, 2.0)),
    activation("softshrink", aten.softshrink.default, _shrink_attrs),
    activation("hardshrink", aten.hardshrink.default, _shrink_attrs, domain=lambda a: DISTINCT),
    activation("rrelu", aten.rrelu.default, _rrelu_attrs, contiguous=True),
    activation("threshold", aten.threshold.default, _threshold_attrs, domain=_jumps),
    activation("threshold_int", aten.threshold.default, _threshold_ints, SIGNED_INTS, weight=0.2),
    *losses.OPS,
)

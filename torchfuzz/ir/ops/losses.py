"""Loss functions (every reduction) and distance functions, float dtypes only.

Registered through `layers.OPS`. At the aten level `reduction` is an int: 0 'none' (the loss of
each element, shaped like the target), 1 'mean' and 2 'sum' (0-d results)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from torchfuzz.ir.ops.base import (
    FLOAT_DTYPES,
    LowerArgs,
    OpDef,
    Proposal,
    SpecSampler,
    Want,
    positional,
)
from torchfuzz.ir.ops.view import insert_dim, signed_dim
from torchfuzz.ir.types import ANY, POSITIVE, SMALL, Domain, index_domain

aten = torch.ops.aten
Shape = tuple[int, ...]
Attrs = tuple[tuple[str, Any], ...]
FLOAT32_64 = frozenset({torch.float32, torch.float64})  # no CPU half kernels
AttrSampler = Callable[[SpecSampler], Attrs]
# Shape of the elementwise loss (or of a distance result) and the dtype -> operands and attrs.
Rule = Callable[[SpecSampler, Shape, torch.dtype], "tuple[tuple[Want, ...], Attrs] | None"]


def named(*names: str) -> LowerArgs:
    """Operands passed by argument name, in this order (absent trailing ones are None):
    for ops whose optional tensors follow attributes or other optional tensors."""

    def args(inputs: Sequence[Any], attrs: dict[str, Any]) -> tuple[tuple, dict[str, Any]]:
        operands = dict.fromkeys(names) | dict(zip(names, inputs))
        return (), operands | attrs

    return args


def attr_choice(name: str, *choices: Any) -> AttrSampler:
    """One attribute drawn from these values."""
    return lambda s: ((name, s.rng.choice(choices)),)


def no_attrs(s: SpecSampler) -> Attrs:
    return ()


def _float_dtype(
    s: SpecSampler, want: Want, allowed: frozenset[torch.dtype] = FLOAT_DTYPES
) -> torch.dtype | None:
    if want.is_scalar:
        return None
    return want.dtype if want.dtype in allowed else s.dtype(allowed)


def loss(
    name: str,
    target: Callable,
    rule: Rule,
    extra: AttrSampler = no_attrs,
    ranks: tuple[int, int] = (0, 4),
    weight: float = 0.4,
    args: LowerArgs = positional,
    allowed: frozenset[torch.dtype] = FLOAT_DTYPES,
) -> OpDef:
    """A loss: 'none' when a non-0-d result is wanted, else (mostly) 'mean' or 'sum' over an
    elementwise loss of a random shape whose rank is within `ranks`."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        dtype = _float_dtype(s, want, allowed)
        if dtype is None or len(want.shape) > ranks[1]:
            return None
        if len(want.shape) >= ranks[0] and (want.shape or s.chance(0.2)):
            shape, reduction = want.shape, 0
        elif not want.shape:
            shape, reduction = s.shape(s.rng.randint(*ranks)), s.rng.choice((1, 2))
        else:
            return None
        inputs, attrs = rule(s, shape, dtype)
        return Proposal(inputs, (("reduction", reduction),) + attrs + extra(s))

    return OpDef(name, target, "losses", propose, args=args, weight=weight, dtypes=allowed)


def distance(
    name: str,
    target: Callable,
    rule: Rule,
    allowed: frozenset[torch.dtype] = FLOAT_DTYPES,
    weight: float = 0.3,
) -> OpDef:
    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        dtype = _float_dtype(s, want, allowed)
        found = None if dtype is None else rule(s, want.shape, dtype)
        return None if found is None else Proposal(*found)

    return OpDef(name, target, "losses", propose, weight=weight, dtypes=allowed)


def _same_shape(*domains: Domain) -> Rule:
    """Operands (input, target, ...) shaped like the elementwise loss."""
    return lambda s, shape, dtype: (tuple(Want(shape, dtype, d) for d in domains), ())


def _bce_with_logits(s: SpecSampler, shape: Shape, dtype: torch.dtype):
    # Optional weight, then pos_weight: both broadcast against the loss.
    weights = tuple(Want(s.broadcast_to(shape), dtype) for _ in range(s.rng.randint(0, 2)))
    return (Want(shape, dtype), Want(shape, dtype), *weights), ()


def _kl_div(s: SpecSampler, shape: Shape, dtype: torch.dtype):
    log_target = s.chance(0.5)  # a log target goes through exp, a plain one through log
    target = Want(shape, dtype, SMALL if log_target else POSITIVE)
    return (Want(shape, dtype), target), (("log_target", log_target),)


def _poisson_nll(s: SpecSampler, shape: Shape, dtype: torch.dtype):
    log_input = s.chance(0.5)  # a log input goes through exp, a plain one through log
    inputs = (Want(shape, dtype, SMALL if log_input else POSITIVE), Want(shape, dtype))
    # full=True adds a Stirling term that jumps where the target crosses 1.
    return inputs, (("log_input", log_input), ("full", False), ("eps", 1e-8))


def _classes(probabilities: bool) -> Rule:
    """Input (N, C, d...) or (C,) for a target (N, d...) or () of class indices (or, for
    cross entropy, of class probabilities shaped like the input); optional positive weights
    per class (a 'mean' divides by their sum over the targets)."""

    def rule(s: SpecSampler, shape: Shape, dtype: torch.dtype):
        classes = s.dim_size()
        source = shape[:1] + (classes,) + shape[1:]
        if probabilities and s.chance(0.3):
            target = Want(source, dtype)
        else:
            target = Want(shape, torch.int64, index_domain(classes), contiguous=True)
        weights = (Want((classes,), dtype, POSITIVE),) if s.chance(0.3) else ()
        return (Want(source, dtype), target, *weights), ()

    return rule


def _multi_margin_attrs(s: SpecSampler) -> Attrs:
    return (("p", s.rng.choice((1, 2))), ("margin", s.rng.choice((1.0, 0.5))))


# --- distances: the operands have one more dim, which the op reduces away ----------------------
def _cosine_similarity(s: SpecSampler, want: Shape, dtype: torch.dtype):
    if len(want) >= 4:
        return None
    d = s.rng.randint(0, len(want))
    shape = insert_dim(want, d, s.dim_size())
    pair = [Want(shape, dtype), Want(s.broadcast_to(shape), dtype)]
    s.rng.shuffle(pair)
    eps = (("eps", s.rng.choice((1e-8, 1e-3))),) if s.chance(0.3) else ()
    return tuple(pair), (("dim", signed_dim(s, d, len(shape))),) + eps


def _pairwise_distance(s: SpecSampler, want: Shape, dtype: torch.dtype):
    if len(want) >= 4:
        return None
    shape = want + (s.dim_size(),)
    return (Want(shape, dtype), Want(shape, dtype)), (("p", s.rng.choice((1.0, 2.0))),)


def _cdist(s: SpecSampler, want: Shape, dtype: torch.dtype):
    """x1 (..., P, M) and x2 (..., R, M) give (..., P, R)."""
    if len(want) not in (2, 3):
        return None
    *batch, p, r = want
    m = s.dim_size()
    inputs = (Want((*batch, p, m), dtype), Want((*batch, r, m), dtype))
    return inputs, (("p", s.rng.choice((1.0, 2.0))),)


OPS: tuple[OpDef, ...] = (
    loss("mse_loss", aten.mse_loss.default, _same_shape(ANY, ANY), weight=0.6),
    loss("l1_loss", aten.l1_loss.default, _same_shape(ANY, ANY)),
    loss(
        "smooth_l1_loss",
        aten.smooth_l1_loss.default,
        _same_shape(ANY, ANY),
        attr_choice("beta", 1.0, 0.5, 2.0),
    ),
    loss(
        "huber_loss",
        aten.huber_loss.default,
        _same_shape(ANY, ANY),
        attr_choice("delta", 1.0, 0.5, 2.0),
    ),
    # log1p(exp(-input * target)) overflows where |input * target| > 88: a target in [-1, 1].
    loss("soft_margin_loss", aten.soft_margin_loss.default, _same_shape(ANY, SMALL), weight=0.3),
    loss(
        "margin_ranking_loss",
        aten.margin_ranking_loss.default,
        _same_shape(ANY, ANY, ANY),
        attr_choice("margin", 0.0, 0.5),
        weight=0.3,
    ),
    loss(
        "binary_cross_entropy_with_logits",
        aten.binary_cross_entropy_with_logits.default,
        _bce_with_logits,
    ),
    loss("kl_div", aten.kl_div.default, _kl_div, weight=0.3),
    loss("poisson_nll_loss", aten.poisson_nll_loss.default, _poisson_nll, weight=0.3),
    loss("nll_loss", aten.nll_loss_nd.default, _classes(False), ranks=(0, 3)),
    loss(
        "cross_entropy",
        aten.cross_entropy_loss.default,
        _classes(True),
        attr_choice("label_smoothing", 0.0, 0.1),
        ranks=(0, 3),
    ),
    loss(
        "multi_margin_loss",
        aten.multi_margin_loss.default,
        _classes(False),
        _multi_margin_attrs,
        ranks=(1, 1),  # FakeTensor gives a (C,) input's 'none' loss shape (1,), eager ()
        weight=0.5,
        args=named("self", "target", "weight"),  # weight follows the p and margin attributes
        allowed=FLOAT32_64,
    ),
    distance("cosine_similarity", aten.cosine_similarity.default, _cosine_similarity),
    distance("pairwise_distance", aten.pairwise_distance.default, _pairwise_distance),
    distance("cdist", aten.cdist.default, _cdist, FLOAT32_64, 0.6),
)

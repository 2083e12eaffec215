"""Complex-only ops: parts (real, imag, angle), conjugation (physical, and the lazy conj bit),
views between complex and (re, im) pairs, and complex values built from real ones.

Every op here takes or makes complex64, whose parts are float32. Ops that read complex
operands propose only when the program's dtypes include complex64, so real-only programs never
meet a complex value. `conj` sets PyTorch's lazy conjugate bit, which every consumer must
resolve: a classic source of compiler bugs. `view_as_real` rejects an unresolved conj bit, so its
operand is made dense (the generator's clone resolves it), as `view_as_complex` needs anyway.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from torchfuzz.ir.ops.base import (
    COMPLEX_DTYPES,
    FLOAT_DTYPES,
    OpDef,
    Promotion,
    Proposal,
    SpecSampler,
    Trait,
    Want,
)
from torchfuzz.ir.types import ANY, POSITIVE, SMALL, Domain

aten = torch.ops.aten
P = Promotion
FAMILY = "complex"
# The dtype of a complex dtype's parts.
PART_DTYPE = {torch.complex64: torch.float32}
PART_DTYPES = frozenset(PART_DTYPE.values())
ELEMENTWISE = frozenset({Trait.ELEMENTWISE})
VIEW = frozenset({Trait.VIEW})
PART_VIEW = ELEMENTWISE | VIEW  # real/imag alias their operand's storage


def _complex_operand(s: SpecSampler, want: Want) -> torch.dtype | None:
    """A complex operand's dtype, only in programs that have complex values at all."""
    return None if want.is_scalar else s.dtype(COMPLEX_DTYPES)


def to_part(domain: Domain = ANY, contiguous: bool = False, paired: bool = False):
    """Complex operand -> real result (float parts); `paired`: the result has a trailing dim
    of 2 (re, im) that the operand lacks."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        dtype = _complex_operand(s, want)
        if dtype is None or want.dtype not in FLOAT_DTYPES:
            return None
        shape = want.shape
        if paired:
            if not shape or shape[-1] != 2:
                return None
            shape = shape[:-1]
        return Proposal((Want(shape, dtype, domain, contiguous),))

    return propose


def _propose_same(s: SpecSampler, want: Want) -> Proposal | None:
    """Complex operand -> complex result of the same shape."""
    dtype = _complex_operand(s, want)
    if dtype is None or want.dtype != dtype:
        return None
    return Proposal((Want(want.shape, dtype),))


def from_parts(domains: tuple[Domain, Domain]) -> Callable[[SpecSampler, Want], Proposal | None]:
    """Two broadcasting real tensors (float parts) -> the wanted complex tensor."""

    def propose(s: SpecSampler, want: Want) -> Proposal | None:
        part = None if want.is_scalar else PART_DTYPE.get(want.dtype)
        if part is None:
            return None
        shapes = [want.shape, s.broadcast_to(want.shape)]
        if s.chance(0.5):
            shapes.reverse()
        return Proposal(tuple(Want(shape, part, d) for shape, d in zip(shapes, domains)))

    return propose


def _propose_view_as_complex(s: SpecSampler, want: Want) -> Proposal | None:
    part = None if want.is_scalar else PART_DTYPE.get(want.dtype)
    if part is None:
        return None
    # The operand's last dim is (re, im), stride 1, other strides even: a dense tensor.
    return Proposal((Want(want.shape + (2,), part, contiguous=True),))


def complex_op(
    name: str,
    target: Callable,
    propose: Callable[[SpecSampler, Want], Proposal | None],
    dtypes: frozenset[torch.dtype],
    traits: frozenset[Trait] = frozenset(),
    promotion: Promotion | None = None,
    weight: float = 0.5,
) -> OpDef:
    return OpDef(name, target, FAMILY, propose, traits, promotion, weight=weight, dtypes=dtypes)


# Also used by type promotion to turn a complex value into a real one (see scalar.conversion).
REAL = complex_op(
    "real", aten.real.default, to_part(), COMPLEX_DTYPES, PART_VIEW, P.COMPLEX_TO_FLOAT
)

OPS: tuple[OpDef, ...] = (
    REAL,
    complex_op("imag", aten.imag.default, to_part(), COMPLEX_DTYPES, PART_VIEW, P.COMPLEX_TO_FLOAT),
    # atan2(im, re) jumps by 2*pi across the negative real axis: fresh inputs only (a `small`
    # domain), whose signed-zero imaginary parts are the same on both sides.
    complex_op(
        "angle",
        aten.angle.default,
        to_part(SMALL),
        COMPLEX_DTYPES,
        ELEMENTWISE,
        P.COMPLEX_TO_FLOAT,
    ),
    complex_op(
        "view_as_real",
        aten.view_as_real.default,
        to_part(contiguous=True, paired=True),
        COMPLEX_DTYPES,
        VIEW,
        # It makes only float results whose last dim is 2: rare wants, so tried more often.
        weight=4.0,
    ),
    complex_op(
        "conj_physical",
        aten.conj_physical.default,
        _propose_same,
        COMPLEX_DTYPES,
        ELEMENTWISE,
        P.DEFAULT,
    ),
    complex_op("conj", aten.conj.default, _propose_same, COMPLEX_DTYPES, VIEW, weight=0.8),
    complex_op("resolve_conj", aten.resolve_conj.default, _propose_same, COMPLEX_DTYPES),
    complex_op(
        "complex",
        aten.complex.default,
        from_parts((ANY, ANY)),
        PART_DTYPES,
        ELEMENTWISE,
        P.DEFAULT,
        weight=0.8,
    ),
    # polar(abs, angle): a non-negative modulus (fresh `positive` data).
    complex_op(
        "polar",
        aten.polar.default,
        from_parts((POSITIVE, ANY)),
        PART_DTYPES,
        ELEMENTWISE,
        P.DEFAULT,
    ),
    complex_op(
        "view_as_complex",
        aten.view_as_complex.default,
        _propose_view_as_complex,
        PART_DTYPES,
        VIEW,
    ),
)

"""Element-wise comparison of eager and compiled outputs against an fp64 reference.

Modelled on ``torch._dynamo.utils.same``: a compiled result is wrong only when its
error against a float64 run of the same program clearly exceeds eager's error against
that run.  Unlike ``same`` (one RMSE per tensor) every element is judged, so a swapped
pair, a sign flip or one bad element is not averaged away.

The rule, per output ``i`` (``e`` eager, ``c`` compiled, ``r`` reference):

1. Both sides return the same number of outputs, else ``COUNT``.
2. Same kind: tensor, or a Python ``bool``/``int``/``float``/``complex`` (``bool`` is
   not an ``int`` here), else ``KIND``.  Tensors must then have equal shape
   (``SHAPE``) and dtype (``DTYPE``).
3. Integer and bool tensors and Python ``bool``/``int`` scalars are equal exactly,
   else ``VALUE``.  The reference is not used for them.
4. Floating and complex values (complex compared as (re, im) pairs) are judged in
   float64, element by element.  A position *should be non-finite* when ``r``
   rounded to the output dtype is non-finite (``r`` is nan/inf, or overflows a
   low-precision dtype).  ``NAN`` is reported when, at some position:

   a. it should be non-finite, eager is non-finite and compiled is finite; or
   b. ``r`` is itself nan/inf, eager equals it exactly and compiled does not; or
   c. it should be finite, eager is finite and compiled is non-finite.

   Everything else involving a non-finite value is accepted: eager is then either
   in agreement with compiled on non-finiteness (the kind of nan/inf may differ
   where the true value overflows: nan in eager, -inf in Inductor has been seen),
   or eager is itself wrong there (e.g. an intermediate overflowed in float16 that
   Inductor kept in float32), and a compiled result is never blamed for being
   better than eager.
5. On positions where the reference is representable and both sides are finite,
   with ``noise = RMS(|e - r|)`` over those positions and the dtype's tolerance row
   (the row of a less precise dtype the value was computed in, when the caller names one),
   ``|c - r| <= multiplier * max(|e - r|, noise) + atol + rtol * |r|``, else
   ``VALUE``.

Without a reference, rule 4 becomes "non-finite values are identical (nan == nan,
same signed inf)" and rule 5 becomes
``|c - e| <= multiplier * (atol + rtol * max(|e|, RMS(|e|)))``.

Python float scalars use the ``scalar_dtype`` tolerance row (their source precision
is unknown) and float64 range.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import torch

from torchfuzz.backends.outcome import Mismatch, MismatchKind

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_TOLERANCES",
    "ComparisonPolicy",
    "Tolerance",
    "compare_outputs",
]


@dataclass(frozen=True, slots=True)
class Tolerance:
    """Absolute and relative error floors for one dtype."""

    atol: float
    rtol: float

    def __post_init__(self) -> None:
        if not (self.atol >= 0.0 and self.rtol >= 0.0):
            raise ValueError(f"tolerances must be >= 0, got {self}")


# Why these floors (measured on torch 2.13 CPU, multiplier 3, rule 5 above):
# - Reassociation noise is covered by the per-tensor noise term, not by rtol: fp32
#   column sums of a 1000x64 randn in another order, blocked/transposed matmuls, and
#   Inductor softmax, layer_norm, log_softmax, mm+gelu, sum, var, cumsum and
#   (x - mean) / std all pass with rtol 2e-6 (worst: Inductor sum over 1000 rows,
#   1.7e-6; Inductor var has 13x eager's RMSE, i.e. 1e-6 absolute on values ~1,
#   and is covered by atol).  A per-element rule without the noise term needs rtol
#   up to 1.6e-3 near the zeros of cancelling reductions.
# - float32 rtol 1e-4 keeps a 50x margin above that noise and still catches a 1e-3
#   relative error on a value of magnitude 1 with a 9x margin.  atol 1e-5 is
#   torch.testing's float32 atol and `same`'s tol / 10.
# - float16 / bfloat16: about two ulps; Inductor keeps float32 intermediates, so its
#   error is at most eager's (measured RMSE ratio 0.1 .. 1.0).
# - float64 programs have eager == reference (noise 0): torch.testing's 1e-7 / 1e-7.
DEFAULT_TOLERANCES: Mapping[torch.dtype, Tolerance] = MappingProxyType(
    {
        torch.float64: Tolerance(atol=1e-7, rtol=1e-7),
        torch.float32: Tolerance(atol=1e-5, rtol=1e-4),
        torch.float16: Tolerance(atol=1e-5, rtol=2e-3),
        torch.bfloat16: Tolerance(atol=1e-5, rtol=1.6e-2),
        torch.complex128: Tolerance(atol=1e-7, rtol=1e-7),
        torch.complex64: Tolerance(atol=1e-5, rtol=1e-4),
    }
)


def _default_tolerances() -> Mapping[torch.dtype, Tolerance]:
    return DEFAULT_TOLERANCES


@dataclass(frozen=True, slots=True)
class ComparisonPolicy:
    """How close a compiled output must be to count as equal (see module docstring)."""

    multiplier: float = 3.0
    tolerances: Mapping[torch.dtype, Tolerance] = field(default_factory=_default_tolerances)
    scalar_dtype: torch.dtype = torch.float32

    def __post_init__(self) -> None:
        if not self.multiplier >= 1.0:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier}")
        if self.scalar_dtype not in self.tolerances:
            raise ValueError(f"scalar_dtype {self.scalar_dtype} has no tolerance row")

    def tolerance(self, dtype: torch.dtype) -> Tolerance:
        """Tolerance row for a floating or complex ``dtype``."""
        try:
            return self.tolerances[dtype]
        except KeyError:
            known = ", ".join(str(d) for d in self.tolerances)
            raise ValueError(f"no tolerance for dtype {dtype}; known: {known}") from None


DEFAULT_POLICY = ComparisonPolicy()

# Kind of a Python value, looked up by exact type so that bool is not an int.
_SCALAR_KINDS: Mapping[type, str] = MappingProxyType(
    {bool: "bool", int: "int", float: "float", complex: "complex"}
)
# Float tensor dtype used to judge a Python scalar of each inexact kind.
_SCALAR_RANGE: Mapping[str, torch.dtype] = MappingProxyType(
    {"float": torch.float64, "complex": torch.complex128}
)


def _kind_of(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return "tensor"
    return _SCALAR_KINDS.get(type(value), type(value).__name__)


def compare_outputs(
    eager: Sequence[object],
    compiled: Sequence[object],
    reference: Sequence[object] | None,
    policy: ComparisonPolicy = DEFAULT_POLICY,
    gradients_of: Sequence[str] = (),
    written_inputs: Sequence[str] = (),
    computed_in: Sequence[torch.dtype | None] = (),
) -> tuple[Mismatch, ...]:
    """Compare compiled outputs to eager ones; return one mismatch per bad output.

    ``reference`` is the program run in float64 (same outputs, float tensors
    promoted to float64), or None to compare against eager alone.  The values are
    the outputs, then (a backward variant) the input gradients, then the inputs the
    program writes in place, read after the call.  ``gradients_of`` and
    ``written_inputs`` name those inputs, in order; their mismatches carry the name
    in ``gradient_of`` or ``written_input``.  ``computed_in`` gives, per value, a less
    precise dtype its value was computed in (e.g. bfloat16 cast to float64 at the end),
    whose tolerance row then judges it; None or missing: the value's own dtype.
    """
    if reference is not None and len(reference) != len(eager):
        raise ValueError(f"reference has {len(reference)} outputs, eager {len(eager)}")
    found: list[Mismatch] = []
    if len(eager) != len(compiled):
        detail = f"eager returned {len(eager)} outputs, compiled {len(compiled)}"
        found.append(Mismatch(min(len(eager), len(compiled)), MismatchKind.COUNT, detail))
    first_written = len(eager) - len(written_inputs)
    first_gradient = first_written - len(gradients_of)
    for index, (e, c) in enumerate(zip(eager, compiled, strict=False)):
        r = None if reference is None else reference[index]
        precision = computed_in[index] if index < len(computed_in) else None
        mismatch = _compare_one(index, e, c, r, policy, precision)
        if mismatch is not None and index >= first_written:
            name = written_inputs[index - first_written]
            mismatch = dataclasses.replace(mismatch, written_input=name)
        elif mismatch is not None and index >= first_gradient:
            name = gradients_of[index - first_gradient]
            mismatch = dataclasses.replace(mismatch, gradient_of=name)
        if mismatch is not None:
            found.append(mismatch)
    return tuple(found)


def _compare_one(
    index: int,
    e: object,
    c: object,
    r: object,
    policy: ComparisonPolicy,
    precision: torch.dtype | None = None,
) -> Mismatch | None:
    kind_e, kind_c = _kind_of(e), _kind_of(c)
    if kind_e != kind_c:
        return Mismatch(index, MismatchKind.KIND, f"eager {kind_e}, compiled {kind_c}")
    if isinstance(e, torch.Tensor) and isinstance(c, torch.Tensor):
        return _compare_tensor(index, e.detach(), c.detach(), r, policy, precision)
    range_dtype = _SCALAR_RANGE.get(kind_e)
    if range_dtype is None:
        if e == c:
            return None
        return Mismatch(index, MismatchKind.VALUE, f"eager {e!r}, compiled {c!r}")
    e_t = torch.tensor(e, dtype=range_dtype)
    c_t = torch.tensor(c, dtype=range_dtype)
    r_t = torch.tensor(r, dtype=range_dtype) if isinstance(r, (int, float, complex)) else None
    tol = policy.tolerance(precision or policy.scalar_dtype)
    return _compare_float(index, e_t, c_t, r_t, range_dtype, tol, policy.multiplier)


def _compare_tensor(
    index: int,
    e: torch.Tensor,
    c: torch.Tensor,
    r: object,
    policy: ComparisonPolicy,
    precision: torch.dtype | None = None,
) -> Mismatch | None:
    if e.shape != c.shape:
        detail = f"eager {tuple(e.shape)}, compiled {tuple(c.shape)}"
        return Mismatch(index, MismatchKind.SHAPE, detail)
    if e.dtype != c.dtype:
        return Mismatch(index, MismatchKind.DTYPE, f"eager {e.dtype}, compiled {c.dtype}")
    e, c = e.cpu(), c.cpu()
    if not (e.dtype.is_floating_point or e.dtype.is_complex):
        return _compare_exact(index, e, c)
    ref = None
    if (
        isinstance(r, torch.Tensor)
        and r.shape == e.shape
        and (r.is_floating_point() or r.is_complex())
        and r.is_complex() == e.is_complex()
    ):
        ref = r.detach().cpu()
    elif r is not None:
        log.warning(
            "output %d: unusable reference %s, comparing to eager only",
            index,
            _describe(r),
        )
    tol = policy.tolerance(precision or e.dtype)
    return _compare_float(index, e, c, ref, e.dtype, tol, policy.multiplier)


def _compare_exact(index: int, e: torch.Tensor, c: torch.Tensor) -> Mismatch | None:
    differs = e != c
    if not bool(differs.any()):
        return None
    max_abs = None
    if e.dtype != torch.bool:
        max_abs = float((c.double() - e.double()).abs().max())
    where = _first_index(differs)
    detail = (
        f"{int(differs.sum())} of {e.numel()} elements differ, first at {where}: "
        f"eager {e[where].item()!r}, compiled {c[where].item()!r}"
    )
    return Mismatch(index, MismatchKind.VALUE, detail, max_abs_err=max_abs)


def _as_real64(t: torch.Tensor) -> torch.Tensor:
    # Complex values are judged component-wise as (re, im) float64 pairs.
    if t.is_complex():
        return torch.view_as_real(t.to(torch.complex128).resolve_conj())  # conj(): a lazy bit
    return t.to(torch.float64)


def _same_nonfinite(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a.isnan() & b.isnan()) | (a == b)


def _rms(values: torch.Tensor) -> float:
    return float(values.square().mean().sqrt()) if values.numel() else 0.0


def _compare_float(
    index: int,
    eager: torch.Tensor,
    compiled: torch.Tensor,
    reference: torch.Tensor | None,
    dtype: torch.dtype,
    tol: Tolerance,
    multiplier: float,
) -> Mismatch | None:
    e, c = _as_real64(eager), _as_real64(compiled)
    e_fin, c_fin = e.isfinite(), c.isfinite()
    if reference is None:
        bad_nonfinite = (e_fin != c_fin) | (~e_fin & ~c_fin & ~_same_nonfinite(e, c))
        comparable = e_fin & c_fin
        target = e
        err = (c - e).abs()
        scale = torch.full_like(e, _rms(e.abs()[comparable])).maximum(e.abs())
        bound = multiplier * (tol.atol + tol.rtol * scale)
    else:
        r = _as_real64(reference)
        r_fin = r.isfinite()
        real_dtype = dtype.to_real()
        should_be_nonfinite = ~r.to(real_dtype).isfinite()
        bad_nonfinite = (
            (should_be_nonfinite & ~e_fin & c_fin)
            | (~r_fin & _same_nonfinite(e, r) & ~_same_nonfinite(c, r))
            | (~should_be_nonfinite & e_fin & ~c_fin)
        )
        comparable = ~should_be_nonfinite & e_fin & c_fin
        target = r
        err = (c - r).abs()
        err_e = (e - r).abs()
        noise = _rms(err_e[comparable])
        bound = multiplier * err_e.clamp(min=noise) + tol.atol + tol.rtol * r.abs()
    bad_value = comparable & (err > bound)
    if not bool(bad_nonfinite.any() or bad_value.any()):
        return None
    max_abs = max_rel = None
    if bool(comparable.any()):
        errs = err[comparable]
        max_abs = _finite_or_none(float(errs.max()))
        rel = errs / target[comparable].abs().clamp(min=tol.atol)
        max_rel = _finite_or_none(float(rel.max()))
    kind = MismatchKind.NAN if bool(bad_nonfinite.any()) else MismatchKind.VALUE
    bad = bad_nonfinite if kind is MismatchKind.NAN else bad_value
    where = _first_index(bad)
    detail = (
        f"{int(bad.sum())} of {bad.numel()} {dtype} elements differ, first at {where}: "
        f"eager {float(e[where]):.6g}, compiled {float(c[where]):.6g}"
    )
    if reference is not None:
        detail += f", reference {float(target[where]):.6g}"
    if kind is MismatchKind.NAN and bool(bad_value.any()):
        detail += f"; also {int(bad_value.sum())} finite elements out of tolerance"
    return Mismatch(index, kind, detail, max_abs_err=max_abs, max_rel_err=max_rel)


def _finite_or_none(value: float) -> float | None:
    # Errors between values near float64's max can overflow; Mismatch wants finite.
    return value if math.isfinite(value) else None


def _first_index(mask: torch.Tensor) -> tuple[int, ...]:
    flat = int(mask.reshape(-1).nonzero()[0, 0])
    return tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), mask.shape))


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor {tuple(value.shape)} {value.dtype}"
    return type(value).__name__

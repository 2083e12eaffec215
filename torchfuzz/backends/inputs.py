"""Input data, derived from the case seed alone.

The builders (`HELPERS`) depend only on torch and the standard library: the python backend
copies their source into standalone scripts, so both backends build identical inputs.
"""

from __future__ import annotations

import functools
import inspect
import math
import random
import types
from collections.abc import Callable

import torch

from torchfuzz.ir.graph import Graph, Input
from torchfuzz.ir.types import Domain, DomainKind, TensorSpec, ValueRanges


def zeros_strided(shape, stride, dtype, offset=0):
    """Zeros with exactly these strides, starting `offset` elements into their storage."""
    numel = torch.Size(shape).numel()
    span = 1 + sum((n - 1) * st for n, st in zip(shape, stride)) if numel else 0
    return torch.zeros(offset + span, dtype=dtype).as_strided(shape, stride, offset)


def make_tensor(shape, stride, dtype, low, high, distinct, seed, offset=0):
    """A tensor with exactly these strides, values uniform in [low, high] (ints inclusive).

    With `distinct`, values are a seeded permutation of integers (no ties anywhere). A dim
    of stride 0 (an expanded layout) repeats the values of its first index, as `expand` does.
    With `offset`, the tensor starts that many elements into a zero-filled storage.
    """
    if any(st == 0 and n > 1 for n, st in zip(shape, stride)):
        base = [1 if st == 0 else n for n, st in zip(shape, stride)]
        dense = [st or 1 for st in stride]  # the other strides are base's dense strides
        out = make_tensor(base, dense, dtype, low, high, distinct, seed, offset).expand(shape)
        if out.stride() != tuple(stride):
            raise ValueError(f"strides {stride} are not an expanded dense layout of {shape}")
        return out
    if dtype == torch.uint8:  # no negative values: keep the domain's non-negative part
        low, high = max(low, 0), max(high, 0)
    gen = torch.Generator().manual_seed(seed)
    numel = math.prod(shape)
    if distinct:
        data = torch.randperm(numel, generator=gen).to(torch.float64) - numel // 2
    elif dtype == torch.bool:
        data = torch.randint(0, 2, (numel,), generator=gen).bool()
    elif dtype.is_complex:
        # Modulus from the domain's magnitudes, any angle; a domain of positive values gives
        # the right half-plane instead (away from log/sqrt's branch cut on the negative reals).
        radius = torch.rand(numel, generator=gen, dtype=torch.float64)
        angle = torch.rand(numel, generator=gen, dtype=torch.float64) * 2 - 1
        if low >= 0:
            radius, angle = radius * (high - low) + low, angle * (math.pi / 3)
        else:
            radius, angle = radius * max(-low, high), angle * math.pi
        data = torch.polar(radius, angle)
    elif dtype.is_floating_point:
        data = torch.rand(numel, generator=gen, dtype=torch.float64) * (high - low) + low
    else:
        data = torch.randint(int(low), int(high) + 1, (numel,), generator=gen)
    out = zeros_strided(shape, stride, dtype, offset)
    out.copy_(data.reshape(shape).to(dtype))
    return out


def make_permutation(shape, stride, dtype, bound, seed, offset=0):
    """A tensor with exactly these strides (and storage offset) holding distinct integers in
    [0, bound), seeded."""
    gen = torch.Generator().manual_seed(seed)
    numel = torch.Size(shape).numel()
    if numel > bound:
        raise ValueError(f"{numel} distinct values below {bound} do not exist")
    data = torch.randperm(bound, generator=gen)[:numel]
    out = zeros_strided(shape, stride, dtype, offset)
    out.copy_(data.reshape(shape).to(dtype))
    return out


def make_nonzero(shape, stride, dtype, count, low, high, seed, offset=0):
    """A tensor with exactly these strides (and storage offset) holding exactly `count` nonzero
    elements at seeded positions, zeros elsewhere: magnitudes in [low, high] with a seeded sign
    (no sign for unsigned dtypes), True for bool. Not for expanded layouts, which repeat."""
    gen = torch.Generator().manual_seed(seed)
    numel = torch.Size(shape).numel()
    if count > numel or any(st == 0 and n > 1 for n, st in zip(shape, stride)):
        raise ValueError(f"no {count} nonzero elements in {list(shape)} with strides {stride}")
    positions = torch.randperm(numel, generator=gen)[:count]
    if dtype.is_floating_point:
        magnitude = torch.rand(count, generator=gen, dtype=torch.float64) * (high - low) + low
    else:
        magnitude = torch.randint(int(low), int(high) + 1, (count,), generator=gen).double()
    sign = torch.randint(0, 2, (count,), generator=gen).double() * 2 - 1
    if dtype == torch.uint8 or dtype == torch.bool:
        sign = torch.ones(count, dtype=torch.float64)
    data = torch.zeros(numel, dtype=torch.float64)
    data[positions] = magnitude * sign
    out = zeros_strided(shape, stride, dtype, offset)
    out.copy_(data.reshape(shape).to(dtype))
    return out


def make_scalar(kind, low, high, seed):
    """A Python int, float (3 decimals, so it prints exactly) or bool from the seed."""
    rng = random.Random(seed)
    if kind is bool:
        return rng.random() < 0.5
    if kind is int:
        return rng.randint(int(low), int(high))
    return round(rng.uniform(low, high), 3)


def make_literal(shape, stride, dtype, values, offset=0):
    """A tensor with exactly these strides (and storage offset) holding `values` (row-major)."""
    out = zeros_strided(shape, stride, dtype, offset)
    exact = torch.complex128 if dtype.is_complex else torch.float64  # Python numbers exactly
    wide = exact if dtype.is_floating_point or dtype.is_complex else None
    out.copy_(torch.tensor(values, dtype=wide).reshape(shape).to(dtype))
    return out


def input_seed(case_seed: int, key: int) -> int:
    """The seed of one graph input's data stream."""
    return (case_seed * 1_000_003 + key * 7_919) % (2**63)


# (builder, args) for a tensor input of a domain, from its value ranges and data seed; the
# storage offset is appended by `input_call`.
TensorCall = Callable[[TensorSpec, Domain, ValueRanges, int], tuple[Callable, tuple]]


def _uniform(distinct: bool) -> TensorCall:
    """make_tensor: values uniform in the domain's range (a permutation with `distinct`)."""

    def call(spec: TensorSpec, domain: Domain, ranges: ValueRanges, seed: int):
        flo, fhi, ilo, ihi = ranges
        integral = not (spec.dtype.is_floating_point or spec.dtype.is_complex)
        low, high = (ilo, ihi) if integral else (flo, fhi)
        return make_tensor, (spec.shape, spec.stride, spec.dtype, low, high, distinct, seed)

    return call


def _permutation(spec: TensorSpec, domain: Domain, ranges: ValueRanges, seed: int):
    return make_permutation, (spec.shape, spec.stride, spec.dtype, domain.bound, seed)


def _nonzero(spec: TensorSpec, domain: Domain, ranges: ValueRanges, seed: int):
    flo, fhi, ilo, ihi = ranges
    low, high = (flo, fhi) if spec.dtype.is_floating_point else (ilo, ihi)
    return make_nonzero, (spec.shape, spec.stride, spec.dtype, domain.bound, low, high, seed)


# How a tensor input of each domain kind is built.
TENSOR_CALLS: types.MappingProxyType[DomainKind, TensorCall] = types.MappingProxyType(
    {
        DomainKind.ANY: _uniform(distinct=False),
        DomainKind.POSITIVE: _uniform(distinct=False),
        DomainKind.SMALL: _uniform(distinct=False),
        DomainKind.UNIT: _uniform(distinct=False),
        DomainKind.DISTINCT: _uniform(distinct=True),
        DomainKind.INDEX: _uniform(distinct=False),
        DomainKind.PERMUTATION: _permutation,
        DomainKind.NONZERO: _nonzero,
        DomainKind.EXACT: _uniform(distinct=False),
    }
)


def input_call(inp: Input, case_seed: int) -> tuple:
    """(function, args) that build this input; also used to print the call in scripts.
    A literal Python scalar input gives (None, (value,))."""
    spec = inp.spec
    # The offset is passed only when nonzero, so scripts of offset-free inputs read as before.
    offset = (spec.offset,) if isinstance(spec, TensorSpec) and spec.offset else ()
    if inp.data is not None:
        if isinstance(spec, TensorSpec):
            return make_literal, (spec.shape, spec.stride, spec.dtype, list(inp.data)) + offset
        return None, inp.data
    ranges = inp.domain.value_ranges()
    seed = input_seed(case_seed, inp.key)
    if isinstance(spec, TensorSpec):
        fn, args = TENSOR_CALLS[inp.domain.kind](spec, inp.domain, ranges, seed)
        return fn, args + offset
    flo, fhi, ilo, ihi = ranges
    kind = spec.python_type
    low, high = (flo, fhi) if kind is float else (ilo, ihi)
    return make_scalar, (kind, low, high, seed)


def make_inputs(graph: Graph, case_seed: int) -> list:
    """The concrete inputs of a graph for a case seed."""
    values = []
    for inp in graph.inputs:
        fn, args = input_call(inp, case_seed)
        values.append(args[0] if fn is None else fn(*args))
    return values


# The input builders a script may call, by name (the tensor builders call zeros_strided).
HELPERS = {
    fn.__name__: fn
    for fn in (
        zeros_strided,
        make_tensor,
        make_permutation,
        make_nonzero,
        make_scalar,
        make_literal,
    )
}
TENSOR_BUILDERS = frozenset({"make_tensor", "make_permutation", "make_nonzero", "make_literal"})


@functools.cache
def helper_source(names: tuple[str, ...] | None = None) -> str:
    """Source of the input builders `names` (in that order; None: all of `HELPERS`), for
    standalone scripts. Read once per process: the source is constant."""
    fns = HELPERS.values() if names is None else (HELPERS[name] for name in names)
    return "\n\n".join(inspect.getsource(fn) for fn in fns)

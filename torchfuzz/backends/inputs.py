"""Input data, derived from the case seed alone.

The builders (`HELPERS`) depend only on torch and the standard library: the python backend
copies their source into standalone scripts, so both backends build identical inputs.
"""

from __future__ import annotations

import inspect
import math
import random

import torch

from torchfuzz.ir.graph import Graph, Input
from torchfuzz.ir.types import BOUNDED_KINDS, DOMAIN_KINDS, TensorSpec


def make_tensor(shape, stride, dtype, low, high, distinct, seed):
    """A tensor with exactly these strides, values uniform in [low, high] (ints inclusive).

    With `distinct`, values are a seeded permutation of integers (no ties anywhere). A dim
    of stride 0 (an expanded layout) repeats the values of its first index, as `expand` does.
    """
    if any(st == 0 and n > 1 for n, st in zip(shape, stride)):
        base = [1 if st == 0 else n for n, st in zip(shape, stride)]
        dense = [st or 1 for st in stride]  # the other strides are base's dense strides
        out = make_tensor(base, dense, dtype, low, high, distinct, seed).expand(shape)
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
    elif dtype.is_floating_point or dtype.is_complex:
        data = torch.rand(numel, generator=gen, dtype=torch.float64) * (high - low) + low
    else:
        data = torch.randint(int(low), int(high) + 1, (numel,), generator=gen)
    out = torch.empty_strided(shape, stride, dtype=dtype)
    out.copy_(data.reshape(shape).to(dtype))
    return out


def make_permutation(shape, stride, dtype, bound, seed):
    """A tensor with exactly these strides holding distinct integers in [0, bound), seeded."""
    gen = torch.Generator().manual_seed(seed)
    numel = torch.Size(shape).numel()
    if numel > bound:
        raise ValueError(f"{numel} distinct values below {bound} do not exist")
    data = torch.randperm(bound, generator=gen)[:numel]
    out = torch.empty_strided(shape, stride, dtype=dtype)
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


def make_literal(shape, stride, dtype, values):
    """A tensor with exactly these strides holding `values` (row-major)."""
    out = torch.empty_strided(shape, stride, dtype=dtype)
    out.copy_(
        torch.tensor(values, dtype=torch.float64 if dtype.is_floating_point else None)
        .reshape(shape)
        .to(dtype)
    )
    return out


def input_seed(case_seed: int, key: int) -> int:
    """The seed of one graph input's data stream."""
    return (case_seed * 1_000_003 + key * 7_919) % (2**63)


def input_call(inp: Input, case_seed: int) -> tuple:
    """(function, args) that build this input; also used to print the call in scripts.
    A literal Python scalar input gives (None, (value,))."""
    spec = inp.spec
    if inp.data is not None:
        if isinstance(spec, TensorSpec):
            return make_literal, (spec.shape, spec.stride, spec.dtype, list(inp.data))
        return None, inp.data
    flo, fhi, ilo, ihi = DOMAIN_KINDS[inp.domain.kind]
    seed = input_seed(case_seed, inp.key)
    if inp.domain.kind in BOUNDED_KINDS:
        flo, fhi, ilo, ihi = 0.0, 0.0, 0, inp.domain.bound - 1
    if isinstance(spec, TensorSpec) and inp.domain.kind == "permutation":
        return make_permutation, (spec.shape, spec.stride, spec.dtype, inp.domain.bound, seed)
    if isinstance(spec, TensorSpec):
        integral = not (spec.dtype.is_floating_point or spec.dtype.is_complex)
        low, high = (ilo, ihi) if integral else (flo, fhi)
        return make_tensor, (
            spec.shape,
            spec.stride,
            spec.dtype,
            low,
            high,
            inp.domain.kind == "distinct",
            seed,
        )
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


# The input builders a script may call, by name.
HELPERS = {fn.__name__: fn for fn in (make_tensor, make_permutation, make_scalar, make_literal)}


def helper_source() -> str:
    """Source of the input builders, for standalone scripts."""
    return "\n\n".join(inspect.getsource(fn) for fn in HELPERS.values())

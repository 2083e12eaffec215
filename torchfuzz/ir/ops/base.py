"""The op record: one frozen declaration per op, pointing at the real PyTorch callable.

An op says how to derive valid input specs and attributes for a wanted output (`propose`),
how its result dtype is decided (`promotion`, PyTorch's own elementwise rule), and its traits.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch._prims_common import ELEMENTWISE_TYPE_PROMOTION_KIND

from torchfuzz.ir.types import ANY, Domain, ScalarSpec, Spec, TensorSpec

Promotion = ELEMENTWISE_TYPE_PROMOTION_KIND

FLOAT_DTYPES = frozenset({torch.float64, torch.float32, torch.float16, torch.bfloat16})
INT_DTYPES = frozenset({torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8})
BOOL_DTYPES = frozenset({torch.bool})
REAL_DTYPES = FLOAT_DTYPES | INT_DTYPES | BOOL_DTYPES
SIGNED_NUMERIC = FLOAT_DTYPES | (INT_DTYPES - {torch.uint8})
COMPLEX_DTYPES = frozenset({torch.complex64})


class Trait(enum.Enum):
    """What the generator and the oracle need to know about an op."""

    ELEMENTWISE = "elementwise"
    REDUCTION = "reduction"
    VIEW = "view"
    DATA_DEPENDENT = "data-dependent"
    NONDETERMINISTIC = "nondeterministic"
    SCALAR = "scalar"  # operates on Python scalars
    CONSTANT = "constant"  # lowered as a literal, not a call
    CAST = "cast"


@dataclass(frozen=True, slots=True)
class Want:
    """What the generator must produce for one operand: a shape (None for a Python scalar),
    a dtype, the data domain, and whether the operand must be a dense contiguous tensor."""

    shape: tuple[int, ...] | None
    dtype: torch.dtype
    domain: Domain = ANY
    contiguous: bool = False

    @property
    def is_scalar(self) -> bool:
        return self.shape is None

    def spec(self) -> Spec:
        if self.shape is None:
            return ScalarSpec(self.dtype)
        return TensorSpec.contiguous(self.shape, self.dtype)

    @staticmethod
    def like(spec: Spec, domain: Domain = ANY) -> Want:
        shape = spec.shape if isinstance(spec, TensorSpec) else None
        return Want(shape, spec.dtype, domain)


@dataclass(frozen=True, slots=True)
class Proposal:
    """Operands and attributes that make an op produce a wanted output."""

    inputs: tuple[Want, ...]
    attrs: tuple[tuple[str, Any], ...] = ()


@dataclass
class SpecSampler:
    """Random choices for op proposals, drawn from one injected `random.Random`."""

    rng: random.Random
    dtypes: tuple[torch.dtype, ...]
    max_rank: int = 4
    max_dim: int = 8
    shapes: list[tuple[int, ...]] = field(default_factory=list)  # shapes seen so far, for reuse

    def dim_size(self) -> int:
        return self.rng.randint(1, self.max_dim)

    def shape(self, rank: int | None = None, min_rank: int = 0) -> tuple[int, ...]:
        """A shape; often one already in the program, so values can be reused."""
        if rank is None and self.shapes and self.rng.random() < 0.5:
            known = [s for s in self.shapes if len(s) >= min_rank]
            if known:
                return self.rng.choice(known)
        if rank is None:
            rank = self.rng.randint(min_rank, max(min_rank, self.max_rank))
        return tuple(self.dim_size() for _ in range(rank))

    def dtype(self, allowed: frozenset[torch.dtype] | None = None) -> torch.dtype | None:
        """A dtype from the program's dtype set (restricted to `allowed`), or None."""
        pool = [d for d in self.dtypes if allowed is None or d in allowed]
        return self.rng.choice(pool) if pool else None

    def broadcast_to(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """A shape that broadcasts to `shape`: maybe fewer leading dims, maybe some dims 1."""
        r = self.rng
        drop = r.randint(0, len(shape)) if r.random() < 0.25 else 0
        return tuple(1 if r.random() < 0.2 else s for s in shape[drop:])

    def dim(self, rank: int) -> int:
        """A dim index for a tensor of this rank, sometimes negative."""
        d = self.rng.randrange(rank)
        return d - rank if self.rng.random() < 0.3 else d

    def chance(self, p: float) -> bool:
        return self.rng.random() < p


ProposeFn = Callable[[SpecSampler, Want], "Proposal | None"]
LowerArgs = Callable[[Sequence[Any], dict[str, Any]], tuple[tuple[Any, ...], dict[str, Any]]]
InferFn = Callable[[Sequence[Spec], dict[str, Any]], Spec]


def nonempty(rule: Callable[..., Any]) -> Callable[..., Any]:
    """A `propose` (or shape rule) that declines wanted shapes with a size-0 dim: for ops that
    reject empty operands or whose rule needs a positive size (an index into the dim)."""

    @functools.wraps(rule)
    def guarded(s: SpecSampler, want: Any, *rest: Any) -> Any:
        shape = want.shape if isinstance(want, Want) else want
        return None if shape is not None and 0 in shape else rule(s, want, *rest)

    return guarded


def declining_empty(op: OpDef) -> OpDef:
    """`op` with a `propose` that declines wanted shapes with a size-0 dim."""
    return dataclasses.replace(op, propose=nonempty(op.propose))


def positional(
    inputs: Sequence[Any], attrs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Default call: operands positionally, attributes as keywords."""
    return tuple(inputs), attrs


def operand_list(
    inputs: Sequence[Any], attrs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Ops such as cat/stack take their operands as one list argument."""
    return (list(inputs),), attrs


@dataclass(frozen=True, slots=True)
class OpDef:
    """One op of the catalogue.

    target:    the real callable (`torch.ops.aten.<op>.<overload>` or an `operator` function).
    propose:   given a wanted output, the operands and attributes to make it (None: can't).
    promotion: for elementwise ops, PyTorch's type-promotion kind that decides the result dtype;
               `promote_operands` limits which operands take part (e.g. not where's condition).
    args:      how operands and attributes become the call's args and kwargs.
    select:    name of an int attribute that picks one element of a list result (split, chunk).
    infer:     result spec for ops that FakeTensor cannot run (`.item()`, Python scalar ops).
    dtypes:    the dtypes of its data operands that PyTorch supports and `propose` uses (for
               Python-scalar operands: float64, int64, bool); a test runs the op with each.
    mutates:   index of the operand an in-place op writes (its result is that operand, written);
               None for ops that write nothing. A written operand has no other reader.
    """

    name: str
    target: Callable[..., Any]
    family: str
    propose: ProposeFn
    traits: frozenset[Trait] = frozenset()
    promotion: Promotion | None = None
    promote_operands: tuple[int, ...] | None = None
    args: LowerArgs = positional
    select: str | None = None
    infer: InferFn | None = None
    weight: float = 1.0
    dtypes: frozenset[torch.dtype] = frozenset()
    mutates: int | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("an op needs a name")
        if not callable(self.target) and Trait.CONSTANT not in self.traits:
            raise ValueError(f"op {self.name!r}: target {self.target!r} is not callable")
        if (self.promotion is not None) != (Trait.ELEMENTWISE in self.traits):
            raise ValueError(f"op {self.name!r}: elementwise ops, and only they, declare promotion")

    def has(self, trait: Trait) -> bool:
        return trait in self.traits

    def __repr__(self) -> str:
        return f"OpDef({self.name})"

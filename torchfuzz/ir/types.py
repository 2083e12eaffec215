"""Value types of the IR: tensor and scalar specs, dtype names and input-data domains."""

from __future__ import annotations

import math
import types
from collections.abc import Sequence
from dataclasses import dataclass

import torch

# The dtypes the IR can carry, by their stable text name (used in the text form and JSON).
DTYPES: types.MappingProxyType[str, torch.dtype] = types.MappingProxyType(
    {
        "float64": torch.float64,
        "float32": torch.float32,
        "float16": torch.float16,
        "bfloat16": torch.bfloat16,
        "int64": torch.int64,
        "int32": torch.int32,
        "int16": torch.int16,
        "int8": torch.int8,
        "uint8": torch.uint8,
        "bool": torch.bool,
        "complex64": torch.complex64,
        # Only the fp64 reference of a complex64 program carries it (see passes/widen.py).
        "complex128": torch.complex128,
    }
)
DTYPE_NAMES: types.MappingProxyType[torch.dtype, str] = types.MappingProxyType(
    {dtype: name for name, dtype in DTYPES.items()}
)
# Short names for the text form.
_SHORT = types.MappingProxyType(
    {
        torch.float64: "f64",
        torch.float32: "f32",
        torch.float16: "f16",
        torch.bfloat16: "bf16",
        torch.int64: "i64",
        torch.int32: "i32",
        torch.int16: "i16",
        torch.int8: "i8",
        torch.uint8: "u8",
        torch.bool: "b8",
        torch.complex64: "c64",
        torch.complex128: "c128",
    }
)
# A Python scalar's dtype is the widest torch dtype of its kind.
SCALAR_DTYPES = frozenset({torch.int64, torch.float64, torch.bool})
SCALAR_PYTHON_TYPES: types.MappingProxyType[torch.dtype, type] = types.MappingProxyType(
    {torch.int64: int, torch.float64: float, torch.bool: bool}
)


def dtype_name(dtype: torch.dtype) -> str:
    """The stable text name of an IR dtype."""
    try:
        return DTYPE_NAMES[dtype]
    except KeyError:
        raise ValueError(f"dtype {dtype} is not an IR dtype; known: {sorted(DTYPES)}") from None


def parse_dtype(name: str) -> torch.dtype:
    """The dtype for a stable text name."""
    try:
        return DTYPES[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; known: {sorted(DTYPES)}") from None


def is_float(dtype: torch.dtype) -> bool:
    return dtype.is_floating_point


def is_integral(dtype: torch.dtype) -> bool:
    """True for integer dtypes, not bool."""
    return not dtype.is_floating_point and not dtype.is_complex and dtype != torch.bool


def contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Row-major strides of a dense tensor of this shape (PyTorch's convention for size-1 dims)."""
    strides = []
    acc = 1
    for size in reversed(shape):
        strides.append(acc)
        acc *= max(size, 1)
    return tuple(reversed(strides))


def _check_int_tuple(what: str, value: tuple[int, ...]) -> None:
    if not isinstance(value, tuple) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise TypeError(f"{what} must be a tuple of ints, got {value!r}")


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """A tensor value: shape, strides (elements, may be non-contiguous) and dtype.

    `offset` is the storage offset (elements) of a graph input, which is built inside a larger
    storage; intermediates and inferred specs keep 0. FakeTensor inference may ignore it: no
    op's result shape, strides or dtype depend on where its operand starts in storage (only
    `as_strided` addresses storage directly: an input it reads gets no offset).
    """

    shape: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: torch.dtype
    offset: int = 0

    def __post_init__(self) -> None:
        _check_int_tuple("shape", self.shape)
        _check_int_tuple("stride", self.stride)
        if len(self.shape) != len(self.stride):
            raise ValueError(f"shape {self.shape} and stride {self.stride} differ in rank")
        if any(s < 0 for s in self.shape) or any(s < 0 for s in self.stride):
            raise ValueError(f"negative size or stride in {self.shape}/{self.stride}")
        if not isinstance(self.offset, int) or isinstance(self.offset, bool) or self.offset < 0:
            raise ValueError(f"storage offset must be a non-negative int, got {self.offset!r}")
        dtype_name(self.dtype)

    @staticmethod
    def contiguous(shape: tuple[int, ...], dtype: torch.dtype) -> TensorSpec:
        return TensorSpec(tuple(shape), contiguous_strides(tuple(shape)), dtype)

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def is_contiguous(self) -> bool:
        """Dense row-major, ignoring strides of size-1 dims (as torch does)."""
        expected = contiguous_strides(self.shape)
        return all(size <= 1 or s == e for size, s, e in zip(self.shape, self.stride, expected))

    def with_dtype(self, dtype: torch.dtype) -> TensorSpec:
        return TensorSpec(self.shape, self.stride, dtype, self.offset)

    def with_offset(self, offset: int) -> TensorSpec:
        return TensorSpec(self.shape, self.stride, self.dtype, offset)

    def storage_size(self) -> int:
        """Elements of storage a tensor with these strides spans (from its offset on)."""
        if self.numel == 0:
            return 0
        return 1 + sum((size - 1) * s for size, s in zip(self.shape, self.stride))

    def __str__(self) -> str:
        dims = ",".join(map(str, self.shape))
        text = f"{_SHORT[self.dtype]}[{dims}]"
        if not self.is_contiguous:
            text += "{" + ",".join(map(str, self.stride)) + "}"
        if self.offset:
            text += f"+{self.offset}"
        return text


@dataclass(frozen=True, slots=True)
class ScalarSpec:
    """A Python scalar value: int (int64), float (float64) or bool."""

    dtype: torch.dtype

    def __post_init__(self) -> None:
        if self.dtype not in SCALAR_DTYPES:
            raise ValueError(f"a scalar is int64, float64 or bool, not {self.dtype}")

    @property
    def python_type(self) -> type:
        return SCALAR_PYTHON_TYPES[self.dtype]

    def with_dtype(self, dtype: torch.dtype) -> ScalarSpec:
        return ScalarSpec(dtype)

    def __str__(self) -> str:
        return self.python_type.__name__


Spec = TensorSpec | ScalarSpec


@dataclass(frozen=True, slots=True)
class Domain:
    """The range input data is drawn from, chosen so every op stays well conditioned.

    `kind` names the distribution; `bound` is the exclusive upper bound of index domains
    (`index`: any integers below it; `permutation`: distinct ones, for writes that must not
    collide, so a tensor of this domain has at most `bound` elements), and the count of
    counted domains (`nonzero`: exactly `bound` nonzero elements; `exact`: every element is
    `bound`), which make the result shapes of data-dependent ops known before the data is.
    """

    kind: str
    bound: int = 0

    def __post_init__(self) -> None:
        if self.kind not in DOMAIN_KINDS:
            raise ValueError(f"unknown domain {self.kind!r}; known: {sorted(DOMAIN_KINDS)}")
        if (self.kind in BOUNDED_KINDS | COUNTED_KINDS) != (self.bound > 0):
            kinds = sorted(BOUNDED_KINDS | COUNTED_KINDS)
            raise ValueError(f"only {kinds} domains have a positive bound: {self}")

    def __str__(self) -> str:
        if self.kind in COUNTED_KINDS:
            return f"{self.kind}={self.bound}"
        return f"{self.kind}<{self.bound}" if self.kind in BOUNDED_KINDS else self.kind

    def admits(self, values: Sequence[bool | int | float | complex]) -> bool:
        """Whether literal `values` (all of an input's elements) keep this domain's promise
        about the data as a whole; value ranges of the other kinds are not promises."""
        if self.kind == "nonzero":
            return sum(v != 0 for v in values) == self.bound
        if self.kind == "exact":
            return all(v == self.bound for v in values)
        if self.kind in BOUNDED_KINDS and not all(0 <= v < self.bound for v in values):
            return False
        if self.kind in ("distinct", "permutation"):
            return len(set(values)) == len(values)
        return True


# Value ranges per domain kind as (float low, float high, int low, int high), ints inclusive.
DOMAIN_KINDS: types.MappingProxyType[str, tuple[float, float, int, int]] = types.MappingProxyType(
    {
        "any": (-2.0, 2.0, -4, 4),
        "positive": (0.5, 2.0, 1, 4),
        "small": (-1.0, 1.0, -2, 2),
        "unit": (-0.9, 0.9, -1, 1),
        "distinct": (-2.0, 2.0, -4, 4),
        "index": (0.0, 0.0, 0, 0),
        "permutation": (0.0, 0.0, 0, 0),
        "nonzero": (0.5, 2.0, 1, 4),  # magnitudes of the nonzero elements
        "exact": (0.0, 0.0, 0, 0),
    }
)
# Integer domains below a bound: their range comes from the bound, not from DOMAIN_KINDS.
BOUNDED_KINDS = frozenset({"index", "permutation"})
# Domains whose bound is a count the data holds exactly (see `Domain`).
COUNTED_KINDS = frozenset({"nonzero", "exact"})
ANY = Domain("any")
POSITIVE = Domain("positive")
SMALL = Domain("small")
UNIT = Domain("unit")
DISTINCT = Domain("distinct")


def index_domain(bound: int) -> Domain:
    """Integers in [0, bound): valid indices into a dim of that size."""
    return Domain("index", bound)


def permutation_domain(bound: int) -> Domain:
    """Distinct integers in [0, bound): indices that never repeat (scatter without reduce)."""
    return Domain("permutation", bound)


def nonzero_domain(count: int) -> Domain:
    """Exactly `count` nonzero elements at seeded positions, zeros elsewhere (a mask whose
    nonzero/masked_select result size is known)."""
    return Domain("nonzero", count)


def exact_domain(value: int) -> Domain:
    """Every element (or the Python scalar) equals `value`: a size read back with `.item()`."""
    return Domain("exact", value)

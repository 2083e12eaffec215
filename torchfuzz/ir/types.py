"""Value types of the IR: tensor and scalar specs, dtype names and input-data domains."""

from __future__ import annotations

import enum
import math
import types
from collections.abc import Callable, Sequence
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
    # `type(v) is int` first: specs are made thousands of times per program.
    if type(value) is not tuple or not all(type(v) is int for v in value):
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
        if (self.shape and min(self.shape) < 0) or (self.stride and min(self.stride) < 0):
            raise ValueError(f"negative size or stride in {self.shape}/{self.stride}")
        if not isinstance(self.offset, int) or isinstance(self.offset, bool) or self.offset < 0:
            raise ValueError(f"storage offset must be a non-negative int, got {self.offset!r}")
        if self.dtype not in DTYPE_NAMES:
            dtype_name(self.dtype)  # raises, naming the known dtypes

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


class DomainKind(str, enum.Enum):
    """The distribution input data is drawn from (its value is the text form and JSON)."""

    ANY = "any"
    POSITIVE = "positive"
    SMALL = "small"
    UNIT = "unit"
    DISTINCT = "distinct"  # no two elements equal (no ties for sort, max, ...)
    INDEX = "index"  # integers below the bound
    PERMUTATION = "permutation"  # distinct integers below the bound
    NONZERO = "nonzero"  # exactly `bound` nonzero elements
    EXACT = "exact"  # every element equals the bound

    def __str__(self) -> str:
        return self.value


class BoundRole(enum.Enum):
    """What a domain's bound is; its value is the bound's sign in the text form."""

    NONE = ""  # no bound (it is 0)
    BELOW = "<"  # an exclusive upper bound of integer values
    COUNT = "="  # a count the data holds exactly


# Value ranges as (float low, float high, int low, int high), ints inclusive, for a bound.
ValueRanges = tuple[float, float, int, int]
Values = Sequence[bool | int | float | complex]


def _fixed(flo: float, fhi: float, ilo: int, ihi: int) -> Callable[[int], ValueRanges]:
    return lambda bound: (flo, fhi, ilo, ihi)


def _no_promise(bound: int, values: Values) -> bool:
    return True


def _distinct(bound: int, values: Values) -> bool:
    return len(set(values)) == len(values)


def _below(bound: int, values: Values) -> bool:
    return all(0 <= v < bound for v in values)  # type: ignore[operator]


@dataclass(frozen=True, slots=True)
class DomainRule:
    """What a domain kind means: `ranges` gives the value ranges data is drawn from (for
    the domain's bound); `promise(bound, values)` is what literal values of all an input's
    elements must keep (value ranges are no promise); `repeats`: an expanded (stride-0)
    layout may repeat values; `capacity`: a tensor holds at most `bound` elements."""

    ranges: Callable[[int], ValueRanges]
    bound: BoundRole = BoundRole.NONE
    promise: Callable[[int, Values], bool] = _no_promise
    repeats: bool = True
    capacity: bool = False


DOMAIN_RULES: types.MappingProxyType[DomainKind, DomainRule] = types.MappingProxyType(
    {
        DomainKind.ANY: DomainRule(_fixed(-2.0, 2.0, -4, 4)),
        DomainKind.POSITIVE: DomainRule(_fixed(0.5, 2.0, 1, 4)),
        DomainKind.SMALL: DomainRule(_fixed(-1.0, 1.0, -2, 2)),
        DomainKind.UNIT: DomainRule(_fixed(-0.9, 0.9, -1, 1)),
        DomainKind.DISTINCT: DomainRule(_fixed(-2.0, 2.0, -4, 4), promise=_distinct, repeats=False),
        DomainKind.INDEX: DomainRule(
            lambda bound: (0.0, 0.0, 0, bound - 1), BoundRole.BELOW, _below
        ),
        DomainKind.PERMUTATION: DomainRule(
            lambda bound: (0.0, 0.0, 0, bound - 1),
            BoundRole.BELOW,
            lambda bound, values: _below(bound, values) and _distinct(bound, values),
            repeats=False,
            capacity=True,
        ),
        # The ranges are the magnitudes of the nonzero elements.
        DomainKind.NONZERO: DomainRule(
            _fixed(0.5, 2.0, 1, 4),
            BoundRole.COUNT,
            lambda bound, values: sum(v != 0 for v in values) == bound,
            repeats=False,
        ),
        DomainKind.EXACT: DomainRule(
            lambda bound: (bound, bound, bound, bound),
            BoundRole.COUNT,
            lambda bound, values: all(v == bound for v in values),
        ),
    }
)


@dataclass(frozen=True, slots=True)
class Domain:
    """The range input data is drawn from, chosen so every op stays well conditioned.

    `kind` names the distribution (see `DOMAIN_RULES`); `bound` is the exclusive upper bound
    of index domains (`index`: any integers below it; `permutation`: distinct ones, for
    writes that must not collide, so a tensor of this domain has at most `bound` elements),
    and the count of counted domains (`nonzero`: exactly `bound` nonzero elements; `exact`:
    every element is `bound`), which make the result shapes of data-dependent ops known
    before the data is.
    """

    kind: DomainKind
    bound: int = 0

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", DomainKind(self.kind))
        except ValueError:
            known = sorted(kind.value for kind in DomainKind)
            raise ValueError(f"unknown domain {self.kind!r}; known: {known}") from None
        if (self.rule.bound is not BoundRole.NONE) != (self.bound > 0):
            kinds = sorted(k.value for k, rule in DOMAIN_RULES.items() if rule.bound.value)
            raise ValueError(f"only {kinds} domains have a positive bound: {self}")

    @property
    def rule(self) -> DomainRule:
        return DOMAIN_RULES[self.kind]

    def __str__(self) -> str:
        role = self.rule.bound
        return (
            self.kind.value
            if role is BoundRole.NONE
            else f"{self.kind.value}{role.value}{self.bound}"
        )

    def value_ranges(self) -> ValueRanges:
        """(float low, float high, int low, int high) data is drawn from, ints inclusive."""
        return self.rule.ranges(self.bound)

    def admits(self, values: Values) -> bool:
        """Whether literal `values` (all of an input's elements) keep this domain's promise
        about the data as a whole; value ranges of the other kinds are not promises."""
        return self.rule.promise(self.bound, values)

    def holds(self, numel: int) -> bool:
        """Whether a tensor of `numel` elements can hold data of this domain."""
        return not self.rule.capacity or numel <= self.bound


ANY = Domain(DomainKind.ANY)
POSITIVE = Domain(DomainKind.POSITIVE)
SMALL = Domain(DomainKind.SMALL)
UNIT = Domain(DomainKind.UNIT)
DISTINCT = Domain(DomainKind.DISTINCT)


def index_domain(bound: int) -> Domain:
    """Integers in [0, bound): valid indices into a dim of that size."""
    return Domain(DomainKind.INDEX, bound)


def permutation_domain(bound: int) -> Domain:
    """Distinct integers in [0, bound): indices that never repeat (scatter without reduce)."""
    return Domain(DomainKind.PERMUTATION, bound)


def nonzero_domain(count: int) -> Domain:
    """Exactly `count` nonzero elements at seeded positions, zeros elsewhere (a mask whose
    nonzero/masked_select result size is known)."""
    return Domain(DomainKind.NONZERO, count)


def exact_domain(value: int) -> Domain:
    """Every element (or the Python scalar) equals `value`: a size read back with `.item()`."""
    return Domain(DomainKind.EXACT, value)

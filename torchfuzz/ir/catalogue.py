"""The assembled, read-only op catalogue."""

from __future__ import annotations

import types
from collections.abc import Iterable, Iterator

from torchfuzz.ir.ops import (
    complex,
    creation,
    data_dependent,
    indexing,
    inplace,
    layers,
    matmul,
    nn,
    pointwise,
    pointwise_math,
    pointwise_special,
    reduction,
    scalar,
    scan,
    scatter,
    shape,
    view,
)
from torchfuzz.ir.ops.base import OpDef


class UnknownOpError(KeyError):
    """An op name that is not in the catalogue."""

    def __str__(self) -> str:
        return str(self.args[0])


class Catalogue:
    """An immutable, name-indexed collection of op records."""

    def __init__(self, ops: Iterable[OpDef]) -> None:
        by_name: dict[str, OpDef] = {}
        for op in ops:
            if op.name in by_name:
                raise ValueError(f"op {op.name!r} is declared twice")
            by_name[op.name] = op
        self._by_name = types.MappingProxyType(by_name)

    def get(self, name: str) -> OpDef:
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownOpError(
                f"unknown op {name!r} ({len(self)} ops in the catalogue)"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[OpDef]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def families(self) -> dict[str, tuple[OpDef, ...]]:
        out: dict[str, list[OpDef]] = {}
        for op in self:
            out.setdefault(op.family, []).append(op)
        return {k: tuple(v) for k, v in out.items()}

    def restrict(self, names: Iterable[str]) -> Catalogue:
        """The ops named (by op name or family name), in this catalogue's order."""
        wanted = set(names)
        unknown = wanted - set(self._by_name) - {op.family for op in self}
        if unknown:
            raise UnknownOpError(
                f"unknown op or family {', '.join(map(repr, sorted(unknown)))} "
                f"(families: {', '.join(sorted(self.families()))})"
            )
        return Catalogue(op for op in self if op.name in wanted or op.family in wanted)

    def subset(self, names: Iterable[str]) -> Catalogue:
        """A catalogue of only these ops (unknown names raise)."""
        return Catalogue(self.get(n) for n in names)


_FAMILIES = (
    pointwise,
    pointwise_math,
    pointwise_special,
    scalar,
    creation,
    reduction,
    scan,
    view,
    shape,
    matmul,
    nn,
    layers,
    complex,
)
CATALOGUE = Catalogue(
    op for module in (*_FAMILIES, indexing, scatter, inplace, data_dependent) for op in module.OPS
)

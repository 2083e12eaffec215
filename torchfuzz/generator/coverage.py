"""What the op catalogue holds and how often generated programs use each op.

`op_coverage` counts ops over generated programs (`torchfuzz ops`); `render_op_table` and
`render_limits` turn the catalogue into the README's generated blocks, which `update_readme`
puts between their `<!-- NAME:begin -->` / `<!-- NAME:end -->` markers
(`torchfuzz ops --write-readme` regenerates them).
"""

from __future__ import annotations

import dataclasses
import textwrap
import types
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.catalogue import CATALOGUE, Catalogue
from torchfuzz.ir.ops.base import OpDef, Trait
from torchfuzz.ir.types import _SHORT, DTYPES, dtype_name


@dataclass(frozen=True, slots=True)
class OpCoverage:
    """One catalogue op, and how many of the sampled programs contain it (`programs`) and
    how many nodes apply it in all of them (`occurrences`)."""

    name: str
    family: str
    target: str
    dtypes: tuple[torch.dtype, ...]
    traits: tuple[str, ...]
    weight: float
    programs: int
    occurrences: int

    COLUMNS = ("op", "family", "target", "dtypes", "traits", "weight", "programs", "uses")
    NUMERIC = 3  # the last columns are numbers

    def cells(self) -> tuple[str, ...]:
        """The row of `torchfuzz ops`' table, under :attr:`COLUMNS`."""
        dtypes = ",".join(map(short_dtype_name, self.dtypes))
        traits = ",".join(self.traits) or "-"
        counts = (f"{self.weight:g}", str(self.programs), str(self.occurrences))
        return (self.name, self.family, self.target, dtypes, traits, *counts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (dtypes by name)."""
        data = dataclasses.asdict(self)
        data["dtypes"] = [dtype_name(d) for d in self.dtypes]
        return data


@dataclass(frozen=True, slots=True)
class CoverageReport:
    """How `programs` generated programs (seeds 0..programs-1) use the catalogue's ops."""

    programs: int
    ops: tuple[OpCoverage, ...]

    @property
    def never_generated(self) -> tuple[str, ...]:
        return tuple(row.name for row in self.ops if row.programs == 0)

    def to_dict(self) -> dict[str, Any]:
        """What `torchfuzz ops --json` prints."""
        return {
            "programs": self.programs,
            "ops": [row.to_dict() for row in self.ops],
            "never_generated": list(self.never_generated),
        }


def coverage_report(programs: int, options: GeneratorOptions | None = None) -> CoverageReport:
    """:func:`op_coverage` over seeds 0..programs-1."""
    return CoverageReport(programs, op_coverage(range(programs), options))


def target_name(op: OpDef) -> str:
    """The op's callable as text: the aten overload (`aten.add.Tensor`), a Python callable by
    its qualified name (`operator.add`, `float`), or `literal` for constants."""
    if isinstance(op.target, torch._ops.OpOverload):
        return str(op.target)
    if op.target is None:
        return "literal"
    module = getattr(op.target, "__module__", None) or ""
    name = getattr(op.target, "__qualname__", repr(op.target))
    if module == "builtins":
        return name
    return f"{module.removeprefix('_')}.{name}"  # `_operator` is the module `operator` re-exports


def ordered_dtypes(dtypes: Iterable[torch.dtype]) -> tuple[torch.dtype, ...]:
    """The dtypes in the IR's order: floats widest first, then integers, bool, complex."""
    wanted = frozenset(dtypes)
    return tuple(d for d in DTYPES.values() if d in wanted)


def short_dtype_name(dtype: torch.dtype) -> str:
    """The IR text form's short name: `f32`, `i64`, `b8`."""
    return _SHORT[dtype]


def op_coverage(
    seeds: Iterable[int],
    options: GeneratorOptions | None = None,
    catalogue: Catalogue = CATALOGUE,
) -> tuple[OpCoverage, ...]:
    """Every op of `catalogue` (only those `options.ops` names, if it names some), in catalogue
    order, with its counts over the programs generated for `seeds` (after the passes: casts
    and roundings that type promotion inserts count too)."""
    options = options or GeneratorOptions()
    catalogue = options.catalogue(catalogue)
    programs: Counter[str] = Counter()
    occurrences: Counter[str] = Counter()
    for seed in seeds:
        names = [node.op.name for node in generate(seed, options, catalogue).nodes]
        occurrences.update(names)
        programs.update(set(names))
    return tuple(
        OpCoverage(
            name=op.name,
            family=op.family,
            target=target_name(op),
            dtypes=ordered_dtypes(op.dtypes),
            traits=tuple(sorted(t.value for t in op.traits)),
            weight=op.weight,
            programs=programs[op.name],
            occurrences=occurrences[op.name],
        )
        for op in catalogue
    )


def families(catalogue: Catalogue = CATALOGUE) -> dict[str, tuple[OpDef, ...]]:
    """The catalogue's ops by family, families in order of their first op."""
    grouped: dict[str, list[OpDef]] = {}
    for op in catalogue:
        grouped.setdefault(op.family, []).append(op)
    return {family: tuple(ops) for family, ops in grouped.items()}


def render_op_table(catalogue: Catalogue = CATALOGUE) -> str:
    """A markdown table: one row per family with its op count and op names, then the total."""
    rows = ["| family | ops | names |", "|---|---:|---|"]
    for family, ops in families(catalogue).items():
        rows.append(f"| {family} | {len(ops)} | {', '.join(f'`{op.name}`' for op in ops)} |")
    rows.append(f"| **total** | **{len(catalogue)}** | |")
    return "\n".join(rows)


@dataclass(frozen=True, slots=True)
class CatalogueGaps:
    """What no op of a catalogue covers."""

    dtypes: tuple[torch.dtype, ...]  # IR dtypes no op declares
    traits: tuple[Trait, ...]  # traits no op has
    mutating: tuple[str, ...]  # ops whose aten schema writes to an argument


def catalogue_gaps(catalogue: Catalogue = CATALOGUE) -> CatalogueGaps:
    """The IR dtypes, traits and kinds of op (in-place) that no op of `catalogue` covers."""
    declared = frozenset(d for op in catalogue for d in op.dtypes)
    used = frozenset(t for op in catalogue for t in op.traits)
    mutating = tuple(
        op.name
        for op in catalogue
        if isinstance(op.target, torch._ops.OpOverload) and op.target._schema.is_mutable
    )
    return CatalogueGaps(
        dtypes=tuple(d for d in DTYPES.values() if d not in declared),
        traits=tuple(t for t in Trait if t not in used),
        mutating=mutating,
    )


def render_limits(catalogue: Catalogue = CATALOGUE) -> str:
    """A markdown bullet saying what the catalogue does not cover."""
    gaps = catalogue_gaps(catalogue)
    parts = []
    if gaps.dtypes:
        parts.append(f"no op takes {', '.join(dtype_name(d) for d in gaps.dtypes)}")
    if gaps.traits:
        parts.append(f"no op has the trait {', '.join(t.value for t in gaps.traits)}")
    if gaps.mutating:
        parts.append(f"in-place ops: {', '.join(gaps.mutating)}")
    else:
        parts.append("no op mutates an operand (no in-place or `out=` overloads)")
    text = f"Not in the catalogue ({len(catalogue)} ops, computed from it): {'; '.join(parts)}."
    return textwrap.fill(
        text, 95, initial_indent="- ", subsequent_indent="  ", break_on_hyphens=False
    )


# The README's generated blocks, by marker name.
README_BLOCKS: types.MappingProxyType[str, Callable[[Catalogue], str]] = types.MappingProxyType(
    {"ops": render_op_table, "limits": render_limits}
)


class ReadmeMarkersError(ValueError):
    """The README lacks a generated block's markers."""


def update_readme(text: str, catalogue: Catalogue = CATALOGUE) -> str:
    """`text` with every generated block re-rendered between its markers."""
    for name, render in README_BLOCKS.items():
        begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
        head, found, rest = text.partition(begin)
        _, found_end, tail = rest.partition(end)
        if not found or not found_end:
            raise ReadmeMarkersError(f"README has no {begin} ... {end} block")
        text = f"{head}{begin}\n{render(catalogue)}\n{end}{tail}"
    return text


def regenerate_readme(path: Path) -> bool:
    """Rewrite the generated blocks of the README at `path` (atomically); whether it changed.
    Raises FileNotFoundError if there is no such file."""
    text = path.read_text()
    updated = update_readme(text)
    if updated == text:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(updated)
    tmp.replace(path)
    return True

"""Generation options: one frozen record, stored in every case."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import Field, asdict, dataclass, field, fields
from typing import Any

import torch

from torchfuzz.ir.catalogue import CATALOGUE, Catalogue
from torchfuzz.ir.spellings import SurfaceMode
from torchfuzz.ir.types import dtype_name, parse_dtype

DEFAULT_DTYPES: tuple[torch.dtype, ...] = (
    torch.float32,
    torch.float64,
    torch.float16,
    torch.bfloat16,
    torch.int64,
    torch.int32,
    torch.int16,
    torch.int8,
    torch.uint8,
    torch.bool,
    torch.complex64,
)


# The largest program asked for, and the deepest op chain that num_nodes alone gives.
MAX_NODES = 2000
MAX_AUTO_DEPTH = 100


@dataclass(frozen=True, slots=True)
class OptionFlag:
    """How an option is given on the command line: `--name VALUE`, `parse` turning the text
    into the field's value (raising ValueError on bad text)."""

    name: str
    parse: Callable[[str], Any]
    help: str
    show_default: bool = True  # append "(default X)" to the help


def parse_dtypes(text: str) -> tuple[torch.dtype, ...]:
    """`float32,int64` -> the dtypes; unknown names raise ValueError."""
    return tuple(parse_dtype(name.strip()) for name in text.split(","))


def parse_names(text: str) -> tuple[str, ...]:
    """`add, mm,` -> ("add", "mm"): comma-separated, blanks dropped."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


def parse_surface(text: str) -> str:
    """`aten`, `torch` or `mixed` (torchfuzz.ir.spellings.SurfaceMode); other text raises."""
    modes = [m.value for m in SurfaceMode]
    if text not in modes:
        raise ValueError(f"expected one of {', '.join(modes)}, got {text!r}")
    return text


def parse_bool(text: str) -> bool:
    """`yes`/`no` (also true/false, on/off, 1/0) -> the bool; other text raises ValueError."""
    words = {"yes": True, "true": True, "on": True, "1": True}
    words |= {"no": False, "false": False, "off": False, "0": False}
    try:
        return words[text.strip().lower()]
    except KeyError:
        raise ValueError(f"expected yes or no, got {text!r}") from None


def _flag(default: Any, name: str, parse: Callable[[str], Any], help: str, **kw: Any) -> Any:
    return field(default=default, metadata={"flag": OptionFlag(name, parse, help, **kw)})


@dataclass(frozen=True, slots=True)
class GeneratorOptions:
    """What kind of programs `generate` makes.

    num_nodes:        op nodes the generator aims for (casts added by type promotion come on top).
    max_depth:        longest chain of ops from an output back to an input; None: `depth`
                      follows num_nodes.
    max_rank/max_dim: tensor rank and per-dim size bounds.
    dtypes:           dtypes values may take.
    p_reuse:          chance of reusing an existing compatible value instead of a new one.
    p_noncontiguous:  chance that a tensor graph input is a non-contiguous layout.
    p_offset:         chance that a tensor graph input starts at a storage offset.
    p_empty:          chance that an output's wanted shape has a size-0 dim (empty tensors).
    max_outputs:      outputs per program, drawn in [1, max_outputs].
    p_scalar_output:  chance that an output is a Python scalar.
    surface:          how calls are spelled (torchfuzz.ir.spellings): aten (torch.ops.aten
                      only), torch (user-level forms wherever an op has one: torch functions,
                      methods, operators, indexing, torch.nn.functional) or mixed (both,
                      drawn per node).
    structure:        write Python structure around the calls of some nodes (graph breaks,
                      prints, untraced calls, branches and loops, containers, closures:
                      torchfuzz.backends.structure); only with a spelled (non-aten) surface.
    observe:          make every value whose information reaches no output an output too
                      (`passes.observe`), so that a wrong value anywhere is judged.
    ops:              only these ops: catalogue op names or family names (None: all).
                      Programs are those the catalogue restricted to them generates, so
                      tests and users can pin a program set while the catalogue grows.
    """

    num_nodes: int = _flag(10, "--nodes", int, "op nodes to aim for")
    max_depth: int | None = _flag(
        None,
        "--max-depth",
        int,
        "longest op chain (default: follows --nodes, 6 up to 30 nodes, at most 100)",
        show_default=False,
    )
    max_rank: int = _flag(5, "--max-rank", int, "tensor rank bound")
    max_dim: int = _flag(8, "--max-dim", int, "size bound per dim")
    dtypes: tuple[torch.dtype, ...] = _flag(
        DEFAULT_DTYPES,
        "--dtypes",
        parse_dtypes,
        "comma-separated dtypes, e.g. float32,int64",
        show_default=False,
    )
    p_reuse: float = _flag(0.5, "--p-reuse", float, "chance of reusing a value")
    p_noncontiguous: float = _flag(0.15, "--p-noncontiguous", float, "chance of a strided input")
    p_offset: float = _flag(0.1, "--p-offset", float, "chance of an input at an offset")
    p_empty: float = _flag(0.03, "--p-empty", float, "chance of a size-0 output dim")
    max_outputs: int = 2
    observe: bool = _flag(
        True, "--observe", parse_bool, "make values that no output keeps outputs too (yes/no)"
    )
    p_scalar_output: float = 0.1
    surface: str = _flag(
        "mixed", "--surface", parse_surface, "how calls are spelled: aten, torch or mixed"
    )
    structure: bool = _flag(
        True,
        "--structure",
        parse_bool,
        "Python structure around some calls: graph breaks, branches, closures (yes/no;"
        " not with --surface aten)",
    )
    ops: tuple[str, ...] | None = _flag(
        None,
        "--ops",
        parse_names,
        "only these ops or op families, comma-separated (see `torchfuzz ops`)",
        show_default=False,
    )

    def __post_init__(self) -> None:
        for name in ("num_nodes", "max_depth", "max_dim", "max_outputs"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"option {name} must be at least 1")
        if self.num_nodes > MAX_NODES:
            raise ValueError(f"option num_nodes must be at most {MAX_NODES}")
        if not 0 <= self.max_rank <= 6:
            raise ValueError("option max_rank must be within 0..6")
        for name in ("p_reuse", "p_noncontiguous", "p_offset", "p_empty", "p_scalar_output"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"option {name} must be a probability")
        if not self.dtypes:
            raise ValueError("option dtypes must not be empty")
        for dtype in self.dtypes:
            dtype_name(dtype)
        if self.ops is not None:
            if not self.ops:
                raise ValueError("option ops must name at least one op or family")
            CATALOGUE.restrict(self.ops)  # unknown names fail here, not mid-campaign

    @property
    def depth(self) -> int:
        """The longest op chain: `max_depth`, or one fifth of num_nodes within 6..100 (deep
        enough that large programs are not all side branches; bounded, as the generator
        recurses once per level)."""
        if self.max_depth is not None:
            return self.max_depth
        return min(MAX_AUTO_DEPTH, max(6, self.num_nodes // 5))

    def catalogue(self, full: Catalogue = CATALOGUE) -> Catalogue:
        """The ops programs are made of: `full`, or its ops named by `ops` (by op or family
        name), in catalogue order; unknown names raise UnknownOpError."""
        if self.ops is None:
            return full
        return full.restrict(self.ops)

    @staticmethod
    def flags() -> Iterator[tuple[Field, OptionFlag]]:
        """The options settable from the command line, each with its flag, in field order."""
        for f in fields(GeneratorOptions):
            if "flag" in f.metadata:
                yield f, f.metadata["flag"]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["dtypes"] = [dtype_name(d) for d in self.dtypes]
        if self.ops is None:
            del data["ops"]  # cases of unrestricted programs read as before
        else:
            data["ops"] = list(self.ops)
        return data

    @staticmethod
    def from_dict(data: dict[str, Any]) -> GeneratorOptions:
        known = {f.name for f in fields(GeneratorOptions)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown generator options: {sorted(unknown)}")
        data = dict(data)
        data.setdefault("structure", False)  # options stored before structure made none
        if "dtypes" in data:
            data["dtypes"] = tuple(parse_dtype(d) for d in data["dtypes"])
        if data.get("ops") is not None:
            data["ops"] = tuple(data["ops"])
        return GeneratorOptions(**data)

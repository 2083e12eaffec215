"""A declared space of compiler configurations, sampled per case and variant.

A campaign run with a :class:`ConfigSpace` (``torchfuzz fuzz --sample-configs [SPACE]``)
checks each case under configurations drawn from the space instead of the variants as
declared: for every variant whose compiler reads Inductor's config (``inductor``, ``aoti``,
or a ``pkg.module:attr`` backend, which ``--backend`` puts in Inductor's place),
:meth:`ConfigSpace.sample` keeps each dimension as it is with probability ``keep`` and
otherwise sets it to one of the dimension's other values.  The draws come from a
``random.Random`` seeded by the case seed and the variant's name, so a seed always gets
the same configurations.  Dimensions the variant patches itself keep the variant's value.

The sampled variant carries its patches like any variant (the store, ``repro.py``, triage
and minimization all run it) and is named after the variant and what it changes, e.g.
``inductor[cpp_wrapper;size_asserts=false]`` (a bare key is set to true).  Signatures do
not name variants, so the same bug under two configurations is one finding that lists
both.  With nothing changed the variant is the campaign's own.

A space file is TOML: a ``[space]`` table of ``"section.option" = [values]`` (section
``inductor`` or ``dynamo``; dotted keys may also nest, ``[space.inductor]``), and
optionally ``keep``, the chance that a dimension is left as it is (default 0.5)::

    keep = 0.5
    [space]
    "inductor.cpp_wrapper" = [false, true]
    "inductor.cpp.simdlen" = [256, 512]
    "dynamo.specialize_float" = [false, true]

Every key must exist in the installed torch's ``torch._inductor.config`` or
``torch._dynamo.config`` and every value have the default's type
(:func:`~torchfuzz.backends.variant_spec.config_value`); otherwise
:class:`ConfigSpaceError`.  The defaults are read once, when the space is built, and kept
in it (:meth:`ConfigSpace.to_dict`), so a store's space samples the same configurations on
a later torch whose defaults changed.
"""

from __future__ import annotations

import dataclasses
import json
import random
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the same parser, as a package
    import tomli as tomllib

from torchfuzz.backends.variant_spec import VariantSpecError, config_default, config_value
from torchfuzz.backends.variants import Variant

__all__ = [
    "ConfigSpace",
    "ConfigSpaceError",
    "DEFAULT_DIMENSIONS",
    "Dimension",
    "default_space",
    "load_space",
    "sample_variants",
    "sampled",
]

_SECTIONS = ("inductor", "dynamo")
# Backends that compile with Inductor and read its config (a custom backend may wrap it).
_INDUCTOR_BACKENDS = frozenset({"inductor", "aoti"})


class ConfigSpaceError(ValueError):
    """A configuration space (or space file) that does not describe one."""


@dataclass(frozen=True, slots=True)
class Dimension:
    """One config key, ``section.option``, the values a sample may give it and the
    installed torch's ``default`` (what a variant that does not patch it runs with)."""

    section: str
    option: str
    values: tuple[Any, ...]
    default: Any

    def __post_init__(self) -> None:
        if self.section not in _SECTIONS:
            raise ConfigSpaceError(f"{self.key}: config keys are inductor.* or dynamo.*")
        object.__setattr__(self, "values", tuple(dict.fromkeys(self.values)))
        if not self.values:
            raise ConfigSpaceError(f"{self.key}: give at least one value")

    @property
    def key(self) -> str:
        return f"{self.section}.{self.option}"

    @classmethod
    def declare(cls, key: str, values: Sequence[Any], where: str = "space") -> Dimension:
        """The dimension of ``key`` (``inductor.cpp_wrapper``) over ``values``, checked
        against the installed torch: the key exists and each value has its type."""
        section, _, option = key.partition(".")
        if not isinstance(values, list | tuple):
            raise ConfigSpaceError(f"{where}: {key} takes a list of values, got {values!r}")
        try:
            default = config_default(section, option, where)
            checked = tuple(config_value(section, option, v, where) for v in values)
        except VariantSpecError as exc:
            raise ConfigSpaceError(str(exc)) from None
        return cls(section, option, checked, default)

    def label(self, value: Any) -> str:
        """How a sampled variant's name shows this dimension set to ``value``."""
        name = self.option if self.section == "inductor" else self.key
        return name if value is True else f"{name}={json.dumps(value)}"


@dataclass(frozen=True, slots=True)
class ConfigSpace:
    """Dimensions sampled independently: each is left as it is with probability ``keep``,
    else set to one of its other values, uniformly."""

    dimensions: tuple[Dimension, ...]
    keep: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "dimensions", tuple(self.dimensions))
        keys = [d.key for d in self.dimensions]
        if len(set(keys)) != len(keys):
            raise ConfigSpaceError(f"a key appears twice in the space: {keys}")
        if not (isinstance(self.keep, int | float) and 0 <= self.keep < 1):
            raise ConfigSpaceError(f"keep is a probability below 1, got {self.keep!r}")

    def sample(self, variant: Variant, seed: int) -> Variant:
        """The configuration of ``variant`` that case ``seed`` runs (``variant`` itself
        for a backend that does not read Inductor's config, or when nothing changed)."""
        if not sampled(variant):
            return variant
        rng = random.Random(f"{seed} {variant.name}")
        own = {"inductor": dict(variant.inductor_config), "dynamo": dict(variant.dynamo_config)}
        changes: dict[str, dict[str, Any]] = {section: {} for section in _SECTIONS}
        labels = []
        for dim in self.dimensions:
            if dim.option in own[dim.section]:
                continue  # the variant's own patch wins
            if rng.random() < self.keep:
                continue
            others = [v for v in dim.values if v != dim.default]
            if others:
                value = rng.choice(others)
                changes[dim.section][dim.option] = value
                labels.append(dim.label(value))
        if not labels:
            return variant
        return dataclasses.replace(
            variant,
            name=f"{variant.name}[{';'.join(labels)}]",
            inductor_config=(*variant.inductor_config, *changes["inductor"].items()),
            dynamo_config=(*variant.dynamo_config, *changes["dynamo"].items()),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (defaults included); inverse of :meth:`from_dict`."""
        return {
            "keep": self.keep,
            "dimensions": [
                {"key": d.key, "values": list(d.values), "default": d.default}
                for d in self.dimensions
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConfigSpace:
        """The space :meth:`to_dict` wrote, as it was (not checked against this torch)."""
        dimensions = []
        for d in data["dimensions"]:
            section, _, option = d["key"].partition(".")
            dimensions.append(Dimension(section, option, tuple(d["values"]), d["default"]))
        return cls(tuple(dimensions), data.get("keep", 0.5))


def sampled(variant: Variant) -> bool:
    """Whether a space samples configurations of ``variant``: its backend is Inductor,
    AOTInductor or a ``pkg.module:attr`` callable (which may wrap Inductor)."""
    return variant.backend in _INDUCTOR_BACKENDS or ":" in variant.backend


def sample_variants(
    variants: Sequence[Variant], space: ConfigSpace | None, seed: int
) -> tuple[Variant, ...]:
    """The variants case ``seed`` runs: ``variants`` as they are without a space, else
    each one's sampled configuration."""
    if space is None:
        return tuple(variants)
    return tuple(space.sample(variant, seed) for variant in variants)


def load_space(path: Path) -> ConfigSpace:
    """The space of a TOML file (see the module docstring); ConfigSpaceError otherwise."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise ConfigSpaceError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigSpaceError(f"{path}: not TOML: {exc}") from None
    unknown = set(data) - {"space", "keep"}
    if unknown:
        raise ConfigSpaceError(f"{path}: unknown keys {sorted(unknown)} (expected space, keep)")
    table = data.get("space")
    if not isinstance(table, dict) or not table:
        raise ConfigSpaceError(f"{path}: no [space] table of config keys")
    where = str(path)
    dimensions = tuple(Dimension.declare(key, values, where) for key, values in _flat(table))
    try:
        return ConfigSpace(dimensions, data.get("keep", 0.5))
    except ConfigSpaceError as exc:
        raise ConfigSpaceError(f"{path}: {exc}") from None


def _flat(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of a TOML table whose keys may nest (``[space.inductor]``)."""
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


# The built-in space: switches that select other compile paths (the C++ wrapper, frozen
# constants, autotuned GEMM templates) or drop checks and rewrites eager-like code keeps.
# `max_autotune` is what mode="max-autotune-no-cudagraphs" sets on CPU (its other switch,
# coordinate_descent_tuning, only tunes Triton kernels); a CPU compile with GEMM autotuning
# took about 5 s, so it stays in.
DEFAULT_DIMENSIONS: tuple[tuple[str, list[Any]], ...] = (
    ("inductor.cpp_wrapper", [False, True]),
    ("inductor.freezing", [False, True]),
    ("inductor.max_autotune", [False, True]),
    ("inductor.split_reductions", [True, False]),
    ("inductor.fallback_random", [False, True]),
    ("inductor.size_asserts", [True, False]),
    ("inductor.layout_optimization", [True, False]),
)


def default_space() -> ConfigSpace:
    """The built-in space, checked against the installed torch."""
    where = "built-in space"
    return ConfigSpace(tuple(Dimension.declare(k, v, where) for k, v in DEFAULT_DIMENSIONS))

"""Variants written as specs: a preset or a backend, then `field=value` overrides.

    inductor                                    the preset of that name
    inductor,fullgraph=true,dynamic=none        the preset, compiled fullgraph, automatic dynamic
    aot_eager,inductor.cpp_wrapper=true         a config patch: inductor.KEY / dynamo.KEY
    inductor,mode=max-autotune-no-cudagraphs    torch.compile's mode
    pkg.module:my_backend,backward=true         a custom backend, gradients compared too
    inductor,fullgraph=true,name=fg             a name of one's own (else the spec is the name)

Fields: `backend`, `dynamic` (true/false/none), `fullgraph`, `mode`, `backward`,
`mark_dynamic`, `recompile`, `name`; config keys must exist in `torch._dynamo.config` or
`torch._inductor.config`, with a value of the default's type. A TOML file holds a list of
variants, one table each (`[[variant]]` with the fields, and `[variant.dynamo]`/
`[variant.inductor]` tables of patches). `variant_spec(v)` writes a variant back as a spec
that `parse_variant` reads as the same variant.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the same parser, as a package
    import tomli as tomllib

from torchfuzz.backends.variants import BUILTIN_VARIANTS, UnknownBackendError, Variant

_FLAGS = ("fullgraph", "backward", "mark_dynamic", "recompile")
_CONFIGS = {"dynamo": "torch._dynamo.config", "inductor": "torch._inductor.config"}
_MISSING = object()


class VariantSpecError(ValueError):
    """A variant spec (or TOML file) that does not describe a variant."""


def parse_variant(text: str) -> Variant:
    """The variant a spec describes; raises VariantSpecError naming what is wrong."""
    head, *fields = [part.strip() for part in text.split(",")]
    if not head or "=" in head:
        raise VariantSpecError(f"variant spec {text!r}: start with a preset or a backend")
    pairs = []
    for field in fields:
        key, sep, value = field.partition("=")
        if not sep or not key.strip():
            raise VariantSpecError(f"variant spec {text!r}: {field!r} is not field=value")
        pairs.append((key.strip(), _value(value.strip())))
    return _build(head, pairs, text)


def load_variants(path: Path) -> tuple[Variant, ...]:
    """The variants of a TOML file (`[[variant]]` tables, each with `preset` or `backend`)."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise VariantSpecError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise VariantSpecError(f"{path}: not TOML: {exc}") from None
    tables = data.get("variant")
    if not isinstance(tables, list) or not tables:
        raise VariantSpecError(f"{path}: no [[variant]] tables")
    variants = []
    for index, table in enumerate(tables, 1):
        table = dict(table)
        head = table.pop("preset", None) or table.get("backend")
        if not isinstance(head, str):
            raise VariantSpecError(f"{path}: variant {index} names no preset or backend")
        pairs: list[tuple[str, Any]] = []
        for key, value in table.items():
            if key in _CONFIGS and isinstance(value, dict):
                pairs += [(f"{key}.{k}", v) for k, v in value.items()]
            else:
                pairs.append((key, value))
        variants.append(_build(head, pairs, f"{path} variant {index}"))
    return tuple(variants)


def variant_spec(variant: Variant) -> str:
    """A spec `parse_variant` reads as `variant`: its preset (or backend) and what differs."""
    if BUILTIN_VARIANTS.get(variant.name) == variant:
        return variant.name
    spec = _canonical(variant)
    return spec if variant.name == spec else f"{spec},name={variant.name}"


def _canonical(variant: Variant) -> str:
    """The shortest spec of `variant`'s fields (its name aside): from the preset that needs
    the fewest overrides, or from the plain backend."""
    best: tuple[str, list[str]] | None = None
    candidates = [*BUILTIN_VARIANTS.items(), (variant.backend, _plain(variant.backend))]
    for head, base in candidates:
        fields = _differences(base, variant)
        if fields is not None and (best is None or len(fields) < len(best[1])):
            best = (head, fields)
    if best is None:
        raise VariantSpecError(f"variant {variant.name!r} has no spec")
    return ",".join([best[0], *best[1]])


# --- building ---------------------------------------------------------------------------


def _build(head: str, pairs: list[tuple[str, Any]], where: str) -> Variant:
    base = BUILTIN_VARIANTS.get(head) or _plain(head)
    changes: dict[str, Any] = {}
    configs = {"dynamo": dict(base.dynamo_config), "inductor": dict(base.inductor_config)}
    name = None
    for key, value in pairs:
        section, dot, option = key.partition(".")
        if dot:
            configs[section][option] = config_value(section, option, value, where)
        elif key == "name":
            name = str(value)
        elif key == "backend":
            changes["backend"] = _backend(str(value), where)
        elif key == "dynamic":
            if value is not None and not isinstance(value, bool):
                raise VariantSpecError(f"{where}: dynamic is true, false or none, got {value!r}")
            changes["dynamic"] = value
        elif key == "mode":
            changes["mode"] = None if value is None else str(value)
        elif key in _FLAGS:
            if not isinstance(value, bool):
                raise VariantSpecError(f"{where}: {key} is true or false, got {value!r}")
            changes[key] = value
        else:
            known = "backend, dynamic, fullgraph, mode, backward, mark_dynamic, recompile, name"
            raise VariantSpecError(f"{where}: unknown field {key!r} (fields: {known})")
    try:
        variant = dataclasses.replace(
            base,
            **changes,
            dynamo_config=tuple(configs["dynamo"].items()),
            inductor_config=tuple(configs["inductor"].items()),
        )
    except ValueError as exc:  # fields that do not go together (aoti with backward)
        raise VariantSpecError(f"{where}: {exc}") from None
    if variant == base and name is None:
        return base
    return dataclasses.replace(variant, name=name or _canonical(variant))


def _plain(backend: str) -> Variant:
    """A variant of `backend` with every field at its default."""
    return Variant(_backend(backend, backend), backend=_backend(backend, backend))


def _backend(spec: str, where: str) -> str:
    from torchfuzz.backends.variants import resolve_backend

    try:
        resolve_backend(spec)
    except UnknownBackendError as exc:
        known = ", ".join(sorted(BUILTIN_VARIANTS))
        raise VariantSpecError(f"{where}: {exc} (presets: {known})") from None
    return spec


def _differences(base: Variant, variant: Variant) -> list[str] | None:
    """The spec fields that turn `base` into `variant` (name aside), or None where a config
    patch of `base` would have to be removed."""
    fields = []
    if base.backend != variant.backend:
        fields.append(f"backend={variant.backend}")
    for key in ("dynamic", "mode", *_FLAGS):
        if getattr(base, key) != getattr(variant, key):
            fields.append(f"{key}={_text(getattr(variant, key))}")
    for section in _CONFIGS:
        have, want = (
            dict(getattr(base, f"{section}_config")),
            dict(getattr(variant, f"{section}_config")),
        )
        if not set(have) <= set(want):
            return None
        fields += [
            f"{section}.{k}={_text(v)}" for k, v in want.items() if have.get(k, _MISSING) != v
        ]
    return fields


def _value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def config_default(section: str, option: str, where: str) -> Any:
    """The installed torch's default of config key `section.option` (section `dynamo` or
    `inductor`); raises VariantSpecError for a key that does not exist."""
    if section not in _CONFIGS:
        key = f"{section}.{option}"
        raise VariantSpecError(f"{where}: {key!r}: config keys are dynamo.* or inductor.*")
    config = importlib.import_module(_CONFIGS[section])
    default = getattr(config, option, _MISSING)
    if default is _MISSING or option.startswith("_"):
        raise VariantSpecError(f"{where}: {_CONFIGS[section]} has no option {option!r}")
    return default


def config_value(section: str, option: str, value: Any, where: str) -> Any:
    """`value` as a patch of config key `section.option`: of the default's type (an int
    where a float is expected becomes a float); raises VariantSpecError otherwise."""
    default = config_default(section, option, where)
    if default is None or value is None:
        return value
    expected = type(default)
    if expected is float and type(value) is int:
        return float(value)
    if type(value) is not expected:
        raise VariantSpecError(
            f"{where}: {section}.{option} takes a {expected.__name__}, got {value!r}"
        )
    return value

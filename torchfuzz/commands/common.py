"""What several commands share: argument types, the generator and variant flags, exit codes,
reading a case or a campaign, and writing an output."""

from __future__ import annotations

import argparse
import enum
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torchfuzz.backends.runner import resolve_variants
from torchfuzz.backends.variants import BUILTIN_VARIANTS, Variant, resolve_backend
from torchfuzz.findings.layout import CampaignDir
from torchfuzz.findings.store import FindingsStore
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.serialize import Case


class Exit(enum.IntEnum):
    """The process exit codes."""

    OK = 0
    FINDING = 1
    USAGE = 2  # bad input: one line on stderr
    INTERNAL = 3  # eager itself failed: a fuzzer bug


class UsageError(Exception):
    """Bad input from the user: reported in one line, exit code 2."""


def seed_range(text: str) -> range:
    """`A:B` -> range(A, B); `A` -> range(A, A + 1)."""
    start, sep, stop = text.partition(":")
    try:
        return range(int(start), int(stop)) if sep else range(int(start), int(start) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected A:B, got {text!r}") from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def add_log_level(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )


def _argument_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """`parse` with its ValueError turned into argparse's one-line message."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"invalid value {text!r}: {exc}") from None

    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


def add_generator_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per :class:`GeneratorOptions` field that declares one (`--nodes`, `--ops` ...).

    Unset flags stay None, so :func:`generator_options` takes the dataclass default."""
    group = parser.add_argument_group("program size")
    for field, flag in GeneratorOptions.flags():
        help_text = f"{flag.help} (default {field.default})" if flag.show_default else flag.help
        group.add_argument(
            flag.name, type=_argument_type(flag.parse), dest=field.name, help=help_text
        )


def generator_options(args: argparse.Namespace) -> GeneratorOptions:
    """The options the flags of :func:`add_generator_flags` give (defaults for the rest)."""
    given = {
        field.name: getattr(args, field.name)
        for field, _ in GeneratorOptions.flags()
        if getattr(args, field.name, None) is not None
    }
    try:
        return GeneratorOptions(**given)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def add_check_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend", help="registered backend name or pkg.module:attr; replaces Inductor"
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        metavar="V",
        help="compile variants (default: the three Inductor ones); known: "
        + ", ".join(BUILTIN_VARIANTS),
    )


def variants(args: argparse.Namespace) -> tuple[Variant, ...]:
    if args.backend:
        resolve_backend(args.backend)  # an unknown backend fails here, before any work
    return tuple(resolve_variants(args.variants, args.backend))


def load_case(path: Path) -> Case:
    try:
        return Case.from_json(path.read_text())
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def require_campaign(directory: Path) -> Path:
    """`directory`, if a campaign has written its store there; else a UsageError."""
    if not CampaignDir(directory).holds_campaign():
        raise UsageError(f"{directory} holds no campaign (no {CampaignDir.DB})")
    return directory


def open_campaign(directory: Path) -> FindingsStore:
    """The store of the campaign in `directory`; a UsageError if there is none."""
    return FindingsStore.open(require_campaign(directory))


def write_output(path: Path | None, text: str) -> None:
    """`text` to `path` (replaced atomically), or to stdout when there is no path."""
    if path is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)

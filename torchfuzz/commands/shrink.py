"""The `minimize` command: reduce a failing program to a small repro."""

from __future__ import annotations

import argparse
from pathlib import Path

from torchfuzz.backends.runner import resolve_variants
from torchfuzz.backends.variants import resolve_backend
from torchfuzz.campaign.artifacts import minimize_to_directory
from torchfuzz.commands import render
from torchfuzz.commands.common import (
    Exit,
    UsageError,
    add_generator_flags,
    add_log_level,
    generator_options,
    load_case,
)
from torchfuzz.generator.case import generate_case
from torchfuzz.shrink.minimize import NothingToMinimize


def register(sub: argparse._SubParsersAction) -> None:
    mini = sub.add_parser("minimize", help="reduce a failing program to a small repro")
    source = mini.add_mutually_exclusive_group(required=True)
    source.add_argument("--seed", type=int)
    source.add_argument("case", nargs="?", type=Path, help="a case JSON file")
    mini.add_argument(
        "--variant", default="inductor", help="the failing variant (default inductor)"
    )
    mini.add_argument(
        "--backend", help="registered backend name or pkg.module:attr; replaces Inductor"
    )
    mini.add_argument(
        "-o", "--output", type=Path, default=Path("minimized"), help="output directory"
    )
    mini.add_argument(
        "--timeout", type=float, default=300.0, help="seconds per candidate (default 300)"
    )
    mini.add_argument("--max-candidates", type=int, default=5000)
    mini.add_argument(
        "--in-process",
        action="store_true",
        help="run candidates in this process (faster; a crashing candidate ends the run)",
    )
    add_generator_flags(mini)
    add_log_level(mini)
    mini.set_defaults(run=cmd_minimize)


def cmd_minimize(args: argparse.Namespace) -> Exit:
    (variant,) = resolve_variants([args.variant], args.backend)
    if args.backend:
        resolve_backend(args.backend)
    if args.case is not None:
        case = load_case(args.case)
    else:
        case = generate_case(args.seed, generator_options(args))
    try:
        done = minimize_to_directory(
            case, variant, args.output, args.timeout, args.max_candidates, args.in_process
        )
    except NothingToMinimize as exc:
        raise UsageError(str(exc)) from None
    render.show(render.minimized(done))
    return Exit.OK

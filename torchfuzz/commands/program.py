"""Commands on one program or on the catalogue: generate, run, ops."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

from torchfuzz.backends.emit import EmitFormat, emit
from torchfuzz.backends.outcome import OutcomeKind
from torchfuzz.backends.runner import check
from torchfuzz.commands import render
from torchfuzz.commands.common import (
    Exit,
    UsageError,
    add_check_flags,
    add_generator_flags,
    add_log_level,
    generator_options,
    load_case,
    positive_int,
    variants,
    write_output,
)
from torchfuzz.generator.case import generate_case
from torchfuzz.generator.coverage import coverage_report, regenerate_readme

_README = Path(__file__).resolve().parents[2] / "README.md"
_EXIT_BY_OUTCOME = {
    OutcomeKind.OK: Exit.OK,
    OutcomeKind.SKIPPED: Exit.OK,
    OutcomeKind.MISMATCH: Exit.FINDING,
    OutcomeKind.CRASH: Exit.FINDING,
    OutcomeKind.INVALID: Exit.INTERNAL,
}


def register(sub: argparse._SubParsersAction) -> None:
    gen = sub.add_parser("generate", help="generate one program and emit it")
    gen.add_argument("--seed", type=int, required=True)
    gen.add_argument("--emit", choices=[f.value for f in EmitFormat], default="python")
    gen.add_argument("-o", "--output", type=Path, help="write here (a .png renders the DOT graph)")
    add_generator_flags(gen)
    add_check_flags(gen)
    add_log_level(gen)
    gen.set_defaults(run=cmd_generate)

    run = sub.add_parser("run", help="check one program (a seed or a case file)")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--seed", type=int)
    source.add_argument("case", nargs="?", type=Path, help="a case JSON file")
    add_generator_flags(run)
    add_check_flags(run)
    add_log_level(run)
    run.set_defaults(run=cmd_run)

    ops = sub.add_parser("ops", help="list the op catalogue and how often programs use each op")
    ops.add_argument(
        "--sample", type=positive_int, default=200, help="programs to count in (seeds 0..N-1)"
    )
    ops.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ops.add_argument(
        "--write-readme",
        type=Path,
        nargs="?",
        const=_README,
        metavar="README",
        help="regenerate the op table and limitations blocks of README.md, then stop",
    )
    add_generator_flags(ops)
    add_log_level(ops)
    ops.set_defaults(run=cmd_ops)


def cmd_generate(args: argparse.Namespace) -> Exit:
    form = EmitFormat(args.emit)
    to_png = form is EmitFormat.DOT and args.output is not None and args.output.suffix == ".png"
    if to_png and shutil.which("dot") is None:
        raise UsageError("PNG output needs Graphviz's `dot` (apt-get install -y graphviz)")
    chosen = variants(args) if form is EmitFormat.PYTHON else ()
    text = emit(generate_case(args.seed, generator_options(args)), form, chosen)
    if to_png:
        dot = shutil.which("dot")
        subprocess.run([dot, "-Tpng", "-o", str(args.output)], input=text.encode(), check=True)
    else:
        write_output(args.output, text)
    return Exit.OK


def cmd_run(args: argparse.Namespace) -> Exit:
    chosen = variants(args)
    if args.case is not None:
        case = load_case(args.case)
    else:
        case = generate_case(args.seed, generator_options(args))
    verdict = check(case.graph, case.seed, chosen)
    render.show(render.outcome(case.seed, verdict))
    return _EXIT_BY_OUTCOME[verdict.kind]


def cmd_ops(args: argparse.Namespace) -> Exit:
    if args.write_readme is not None:
        path = args.write_readme
        try:
            changed = regenerate_readme(path)
        except FileNotFoundError:
            raise UsageError(
                f"{path} not found (run from a source checkout or give its path)"
            ) from None
        render.show(
            f"{path}: op table and limitations regenerated" if changed else f"{path}: up to date"
        )
        return Exit.OK
    report = coverage_report(args.sample, generator_options(args))
    if args.json:
        write_output(None, json.dumps(report.to_dict(), indent=2))
    else:
        render.show(render.coverage(report))
    return Exit.OK

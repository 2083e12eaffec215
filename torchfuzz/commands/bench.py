"""The `bench` command: generation throughput (:mod:`torchfuzz.bench`)."""

from __future__ import annotations

import argparse

from torchfuzz.bench import (
    DEFAULT_PROGRAMS,
    HEADER,
    TARGETS,
    format_row,
    parse_sizes,
    run_benchmark,
)
from torchfuzz.commands import render
from torchfuzz.commands.common import Exit, add_log_level, positive_int


def sizes(text: str) -> tuple[int, ...]:
    """`--sizes` as targets; bad text is argparse's one-line error."""
    try:
        return parse_sizes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:
    targets = ",".join(map(str, TARGETS))
    bench = sub.add_parser(
        "bench", help=f"generation throughput at about {targets} ops per program"
    )
    bench.add_argument(
        "--programs",
        type=positive_int,
        default=DEFAULT_PROGRAMS,
        help="programs per small size; the large sizes get proportionally fewer"
        " (default %(default)s)",
    )
    bench.add_argument(
        "--sizes",
        type=sizes,
        default=TARGETS,
        help=f"comma-separated target ops per program, among {targets} (default all)",
    )
    bench.add_argument(
        "--fake",
        action="store_true",
        help="verify every node on FakeTensors in the passes, as campaigns do",
    )
    add_log_level(bench)
    bench.set_defaults(run=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> Exit:
    render.show(HEADER)
    for row in run_benchmark(args.programs, args.sizes, args.fake):
        render.show(format_row(row))  # each size as soon as it is measured
    return Exit.OK

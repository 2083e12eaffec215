"""The `bench` command: generation throughput (:mod:`torchfuzz.bench`)."""

from __future__ import annotations

import argparse

from torchfuzz.bench import HEADER, SIZES, format_row, run_benchmark
from torchfuzz.commands import render
from torchfuzz.commands.common import Exit, add_log_level, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    sizes = ", ".join(map(str, SIZES[:-1])) + f" and {SIZES[-1]}"
    bench = sub.add_parser("bench", help=f"generation throughput at {sizes} nodes")
    bench.add_argument("--programs", type=positive_int, default=200, help="programs per size")
    add_log_level(bench)
    bench.set_defaults(run=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> Exit:
    render.show(HEADER)
    for row in run_benchmark(args.programs):
        render.show(format_row(row))  # each size as soon as it is measured
    return Exit.OK

"""The `observe` command: how much of a program's values the oracle would see go wrong.

For every node of the programs of a seed range, the value is perturbed in an eager run and
the campaign's judge says whether it reports the program (:mod:`torchfuzz.backends.observe`);
the command prints the share of nodes detected, overall and per op family, next to that of
the same programs generated without extra observing outputs (``--observe no``) when
``--compare`` is given.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from rich.table import Table

from torchfuzz.backends.observe import ProgramObservation, Score, observe, overall, scores
from torchfuzz.commands import render
from torchfuzz.commands.common import (
    Exit,
    add_generator_flags,
    add_log_level,
    generator_options,
    positive_int,
    seed_range,
)
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions

log = logging.getLogger(__name__)


def _observe_seeds(seeds: Sequence[int], options: GeneratorOptions) -> list[ProgramObservation]:
    with warnings.catch_warnings():  # ops' beta / degrees-of-freedom warnings, per seed
        warnings.simplefilter("ignore")
        return [observe(generate(seed, options), seed) for seed in seeds]


def observe_seeds(
    seeds: Iterable[int], options: GeneratorOptions, workers: int = 1
) -> list[ProgramObservation]:
    """:func:`~torchfuzz.backends.observe.observe` of the program of each seed, in seed
    order, on ``workers`` processes."""
    seeds = list(seeds)
    if workers <= 1:
        return _observe_seeds(seeds, options)
    chunks = [seeds[i : i + 20] for i in range(0, len(seeds), 20)]
    # Spawned, not forked: a fork of a process whose OpenMP pool has run hangs in its barrier.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = pool.map(_observe_seeds, chunks, [options] * len(chunks))
        return [program for part in parts for program in part]


def _cell(score: Score | None) -> tuple[str, str]:
    if score is None:
        return ("-", "-")
    return (f"{score.detected}/{score.nodes}", f"{score.score:.3f}")


def score_table(
    programs: Sequence[ProgramObservation], before: Sequence[ProgramObservation] | None = None
) -> Table:
    """Per op family (worst first), then all: nodes detected / counted and the score; with
    ``before``, the same for those programs in two more columns."""
    mine = {s.name: s for s in scores(programs)}
    theirs = {s.name: s for s in scores(before)} if before is not None else {}
    rows = []
    for name in [*mine, *(n for n in sorted(theirs) if n not in mine)]:
        cells = (name, *_cell(mine.get(name)))
        if before is not None:
            cells += _cell(theirs.get(name))
        rows.append(cells)
    total = ("all", *_cell(overall(programs)))
    if before is not None:
        total += _cell(overall(before))
    rows.append(total)
    columns = ["family", "detected", "score"]
    if before is not None:
        columns += ["detected (--observe no)", "score (--observe no)"]
    return render.table(columns, rows, right=range(1, len(columns)))


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser(
        "observe", help="share of program values whose wrong value the oracle reports"
    )
    cmd.add_argument("--seeds", type=seed_range, default=range(0, 500), help="A:B (0:500)")
    cmd.add_argument(
        "--compare", action="store_true", help="also score the programs made with --observe no"
    )
    cmd.add_argument("--workers", type=positive_int, default=1, help="processes (default 1)")
    add_generator_flags(cmd)
    add_log_level(cmd)
    cmd.set_defaults(run=cmd_observe)


def cmd_observe(args: argparse.Namespace) -> Exit:
    options = generator_options(args)
    programs = observe_seeds(args.seeds, options, args.workers)
    before = None
    if args.compare:
        before = observe_seeds(args.seeds, replace(options, observe=False), args.workers)
    skipped = sum(bool(p.skip) for p in programs)
    render.show(
        f"observability of seeds {args.seeds.start}:{args.seeds.stop}"
        f" ({skipped} programs skipped: eager not reproducible or not judged OK unperturbed)",
        score_table(programs, before),
    )
    return Exit.OK

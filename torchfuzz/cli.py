"""Command line: `python -m torchfuzz.cli COMMAND ...` (also `torchfuzz`): generate, run, fuzz,
report, replay, merge, minimize, bench, ops.

The only module that parses arguments, prints, configures logging or exits.
Exit codes: 0 ok, 1 finding, 2 bad input, 3 internal error (eager itself failed).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import runpy
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from torchfuzz import __version__
from torchfuzz.backends.lowering import to_fx
from torchfuzz.backends.outcome import OutcomeKind
from torchfuzz.backends.python import to_python
from torchfuzz.backends.runner import check, resolve_variants
from torchfuzz.backends.variants import (
    BUILTIN_VARIANTS,
    UnknownBackendError,
    UnknownVariantError,
    Variant,
    resolve_backend,
)
from torchfuzz.backends.worker import IsolatedRunner
from torchfuzz.campaign.driver import (
    CampaignConfig,
    run_campaign,
    write_minimized,
)
from torchfuzz.campaign.executors import EXECUTORS, ExecutorError
from torchfuzz.campaign.progress import ProgressDisplay
from torchfuzz.findings.known_issues import (
    KnownIssuesError,
    default_known_issues_path,
    load_known_issues,
)
from torchfuzz.findings.layout import CampaignBusyError, CampaignDir, FindingDir
from torchfuzz.findings.merge import MergeError, merge_stores
from torchfuzz.findings.report import FindingStatus
from torchfuzz.findings.store import FindingsStore, StoreError
from torchfuzz.generator.coverage import (
    ReadmeMarkersError,
    op_coverage,
    short_dtype_name,
    update_readme,
)
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.catalogue import UnknownOpError
from torchfuzz.ir.dot import to_dot
from torchfuzz.ir.serialize import Case, CaseFormatError
from torchfuzz.ir.types import dtype_name, parse_dtype
from torchfuzz.shrink.minimize import NothingToMinimize, minimize_case, run_signature

EXIT_OK, EXIT_FINDING, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
_EXIT_BY_OUTCOME = {
    OutcomeKind.OK: EXIT_OK,
    OutcomeKind.SKIPPED: EXIT_OK,
    OutcomeKind.MISMATCH: EXIT_FINDING,
    OutcomeKind.CRASH: EXIT_FINDING,
    OutcomeKind.INVALID: EXIT_INTERNAL,
}
_BENCH_SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_generation.py"
_README = Path(__file__).resolve().parent.parent / "README.md"


class UsageError(Exception):
    """Bad input from the user: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise UsageError(f"{self.prog}: {message}")


def _seed_range(text: str) -> range:
    start, sep, stop = text.partition(":")
    try:
        return range(int(start), int(stop)) if sep else range(int(start), int(start) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected A:B, got {text!r}") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def _dtypes(text: str) -> tuple[torch.dtype, ...]:
    try:
        return tuple(parse_dtype(name.strip()) for name in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )


def _size_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("program size")
    g.add_argument("--nodes", type=int, dest="num_nodes", help="op nodes to aim for (default 10)")
    g.add_argument("--max-depth", type=int, help="longest op chain (default 6)")
    g.add_argument("--max-rank", type=int, help="tensor rank bound (default 5)")
    g.add_argument("--max-dim", type=int, help="size bound per dim (default 8)")
    g.add_argument("--dtypes", type=_dtypes, help="comma-separated dtypes, e.g. float32,int64")
    g.add_argument("--p-reuse", type=float, help="chance of reusing a value (default 0.5)")
    g.add_argument("--p-noncontiguous", type=float, help="chance of a strided input (default 0.15)")
    g.add_argument("--p-offset", type=float, help="chance of an input at an offset (default 0.1)")
    g.add_argument("--p-empty", type=float, help="chance of a size-0 output dim (default 0.03)")
    g.add_argument(
        "--ops",
        type=_names,
        help="only these ops or op families, comma-separated (see `torchfuzz ops`)",
    )


def _check_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend", help="registered backend name or pkg.module:attr; replaces Inductor"
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        metavar="V",
        help=f"compile variants (default: the three Inductor ones); known: {', '.join(BUILTIN_VARIANTS)}",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="torchfuzz", description="A fuzzer for torch.compile.")
    parser.add_argument("--version", action="version", version=f"torchfuzz {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    gen = sub.add_parser("generate", help="generate one program and emit it")
    gen.add_argument("--seed", type=int, required=True)
    gen.add_argument("--emit", choices=["python", "fx", "ir", "dot", "json"], default="python")
    gen.add_argument("-o", "--output", type=Path, help="write here (a .png renders the DOT graph)")
    _size_options(gen)
    _check_options(gen)
    _common(gen)

    run = sub.add_parser("run", help="check one program (a seed or a case file)")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--seed", type=int)
    source.add_argument("case", nargs="?", type=Path, help="a case JSON file")
    _size_options(run)
    _check_options(run)
    _common(run)

    fuzz = sub.add_parser("fuzz", help="run a campaign; findings go to a store in --out")
    budget = fuzz.add_mutually_exclusive_group()
    budget.add_argument("--seeds", type=_seed_range, help="A:B, the seeds to check (default 0:20)")
    budget.add_argument("--time", type=float, metavar="SECONDS", help="check fresh seeds this long")
    fuzz.add_argument(
        "--workers",
        type=_positive_int,
        help="worker processes (default: cores; with ray, the cluster's CPUs)",
    )
    fuzz.add_argument(
        "--executor",
        choices=sorted(EXECUTORS),
        default="local",
        help="where workers run: local processes or a Ray cluster (pip install 'torchfuzz[ray]')",
    )
    fuzz.add_argument(
        "--address", help="Ray cluster address for --executor ray (default: a local instance)"
    )
    fuzz.add_argument("--out", type=Path, default=Path("torchfuzz-out"), help="campaign directory")
    fuzz.add_argument("--timeout", type=float, default=300.0, help="seconds per case (default 300)")
    fuzz.add_argument(
        "--known-issues", type=Path, help="TOML/JSON of known signatures (default: shipped list)"
    )
    fuzz.add_argument(
        "--minimize",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="minimize new findings at the end (default on)",
    )
    _size_options(fuzz)
    _check_options(fuzz)
    _common(fuzz)

    report = sub.add_parser("report", help="summarize a campaign directory")
    report.add_argument("directory", type=Path)
    report.add_argument("--json", action="store_true", help="machine-readable output")
    _common(report)

    replay = sub.add_parser("replay", help="re-run every unique finding; mark the fixed ones")
    replay.add_argument("directory", type=Path)
    replay.add_argument("--timeout", type=float, default=300.0)
    _common(replay)

    merge = sub.add_parser("merge", help="merge shard campaign directories into one store")
    merge.add_argument("dest", type=Path, help="the merged store (created if missing)")
    merge.add_argument("sources", nargs="+", type=Path, metavar="SRC", help="shard directories")
    _common(merge)

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
    _size_options(mini)
    _common(mini)

    bench = sub.add_parser("bench", help="generation throughput at 5, 10, 20 and 50 nodes")
    bench.add_argument("--programs", type=int, default=200, help="programs per size")
    _common(bench)

    ops = sub.add_parser("ops", help="list the op catalogue and how often programs use each op")
    ops.add_argument(
        "--sample", type=_positive_int, default=200, help="programs to count in (seeds 0..N-1)"
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
    _size_options(ops)
    _common(ops)
    return parser


def _options(args: argparse.Namespace) -> GeneratorOptions:
    names = (
        "num_nodes",
        "max_depth",
        "max_rank",
        "max_dim",
        "dtypes",
        "p_reuse",
        "p_noncontiguous",
        "p_offset",
        "p_empty",
        "ops",
    )
    given = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    try:
        return GeneratorOptions(**given)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _variants(args: argparse.Namespace):
    if args.backend:
        resolve_backend(args.backend)
    return resolve_variants(args.variants, args.backend)


def _write(path: Path | None, text: str) -> None:
    if path is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def cmd_generate(args: argparse.Namespace) -> int:
    options = _options(args)
    graph = generate(args.seed, options)
    emit = args.emit
    if emit == "python":
        text = to_python(graph, args.seed, _variants(args))
    elif emit == "fx":
        text = to_fx(graph).code.strip("\n")
    elif emit == "ir":
        text = graph.text()
    elif emit == "json":
        text = Case(graph, args.seed, options.to_dict(), _versions()).to_json()
    else:
        text = to_dot(graph)
        if args.output is not None and args.output.suffix == ".png":
            return _render_png(text, args.output)
    _write(args.output, text)
    return EXIT_OK


def _render_png(dot_text: str, path: Path) -> int:
    dot = shutil.which("dot")
    if dot is None:
        raise UsageError("PNG output needs Graphviz's `dot` (apt-get install -y graphviz)")
    subprocess.run([dot, "-Tpng", "-o", str(path)], input=dot_text.encode(), check=True)
    return EXIT_OK


def _versions() -> dict[str, str]:
    return {"torchfuzz": __version__, "torch": torch.__version__}


def cmd_run(args: argparse.Namespace) -> int:
    variants = _variants(args)
    if args.case is not None:
        case = _load_case(args.case)
        graph, seed = case.graph, case.seed
    else:
        graph, seed = generate(args.seed, _options(args)), args.seed
    outcome = check(graph, seed, variants)
    print(f"seed {seed}: {outcome.kind.value}: {outcome.summary()}")
    for result in outcome.results:
        reason = f"  ({result.reason})" if result.reason else ""
        print(f"  {result.variant:28s} {result.kind.value:9s} {result.seconds:6.2f}s{reason}")
    return _EXIT_BY_OUTCOME[outcome.kind]


def _run_with_progress(config: CampaignConfig):
    display = ProgressDisplay(sys.stderr)
    try:
        return run_campaign(config, progress=display)
    finally:
        display.finish()  # also on Ctrl-C: the last counts before the summary


def cmd_fuzz(args: argparse.Namespace) -> int:
    known_path = args.known_issues or default_known_issues_path()
    try:
        known = load_known_issues(known_path)
    except OSError as exc:
        raise UsageError(f"cannot read {known_path}: {exc.strerror}") from None
    seeds = args.seeds if args.seeds is not None or args.time is not None else range(0, 20)
    config = CampaignConfig(
        out=args.out,
        variants=_variants(args),
        options=_options(args),
        seeds=seeds,
        time_limit=args.time,
        workers=args.workers,
        executor=args.executor,
        address=args.address,
        timeout=args.timeout,
        known_issues=known,
        minimize=args.minimize,
    )
    try:
        summary = _run_with_progress(config)
    except KeyboardInterrupt:
        print("\ninterrupted: summary of what was recorded", file=sys.stderr)
        summary = _open_store(args.out).summary()
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    print(summary.render())
    return EXIT_FINDING if any(f.status is FindingStatus.NEW for f in summary.findings) else EXIT_OK


def _open_store(directory: Path) -> FindingsStore:
    if not CampaignDir(directory).holds_campaign():
        raise UsageError(f"{directory} holds no campaign (no {CampaignDir.DB})")
    return FindingsStore.open(directory)


def cmd_report(args: argparse.Namespace) -> int:
    with _open_store(args.directory) as store:
        summary = store.summary()
    print(json.dumps(summary.to_dict(), indent=1) if args.json else summary.render())
    return EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    report = merge_stores(args.dest, args.sources)
    for merged in report.sources:
        print(
            f"{merged.source}: {merged.cases_added} cases added, {merged.duplicates} duplicates,"
            f" {merged.new_signatures} new signatures"
        )
    print(report.summary.render())
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    with _open_store(args.directory) as store, IsolatedRunner() as runner:
        variants = {v["name"]: Variant.from_dict(v) for v in store.get_meta("variants", [])}
        for row in store.summary().findings:
            case_path = FindingDir(Path(row.example_dir or "")).case
            variant = variants.get(row.variant)
            if variant is None or not case_path.exists():
                print(f"{row.signature_id}: cannot replay (no case, or unknown variant)")
                continue
            case = _load_case(case_path)
            now = run_signature(case.graph, case.seed, variant, runner, args.timeout)
            if now is not None and now.id == row.signature_id:
                verdict = "still fails"
            else:
                verdict = "fixed"
                store.set_status(row.signature_id, FindingStatus.FIXED)
            print(f"{row.signature_id}  {verdict:11s}  {row.text}")
    return EXIT_OK


def _load_case(path: Path) -> Case:
    try:
        return Case.from_json(path.read_text())
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def cmd_minimize(args: argparse.Namespace) -> int:
    (variant,) = resolve_variants([args.variant], args.backend)
    if args.backend:
        resolve_backend(args.backend)
    if args.case is not None:
        case = _load_case(args.case)
    else:
        options = _options(args)
        case = Case(generate(args.seed, options), args.seed, options.to_dict(), _versions())
    with contextlib.ExitStack() as stack:
        runner = None if args.in_process else stack.enter_context(IsolatedRunner())
        try:
            result = minimize_case(
                case.graph, case.seed, variant, runner, args.timeout, args.max_candidates
            )
        except NothingToMinimize as exc:
            raise UsageError(str(exc)) from None
    files = write_minimized(args.output, case, result, variant)
    stats = result.stats
    print(f"signature {result.signature.text()}")
    print(
        f"nodes {result.original_nodes} -> {len(result.graph)}, "
        f"{stats.candidates} candidates tried, {stats.seconds:.1f}s"
    )
    for path in files:
        print(f"  {path}")
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    if not _BENCH_SCRIPT.exists():
        raise UsageError(
            f"benchmark script not found at {_BENCH_SCRIPT} (run from a source checkout)"
        )
    sys.argv = [str(_BENCH_SCRIPT), "--programs", str(args.programs)]
    runpy.run_path(str(_BENCH_SCRIPT), run_name="__main__")
    return EXIT_OK


def _write_readme(path: Path) -> int:
    if not path.exists():
        raise UsageError(f"{path} not found (run from a source checkout or give its path)")
    text = path.read_text()
    updated = update_readme(text)
    if updated == text:
        print(f"{path}: up to date")
    else:
        _write(path, updated)
        print(f"{path}: op table and limitations regenerated")
    return EXIT_OK


def cmd_ops(args: argparse.Namespace) -> int:
    if args.write_readme is not None:
        return _write_readme(args.write_readme)
    rows = op_coverage(range(args.sample), _options(args))
    never = [row.name for row in rows if row.programs == 0]
    if args.json:
        ops = [
            {**dataclasses.asdict(row), "dtypes": [dtype_name(d) for d in row.dtypes]}
            for row in rows
        ]
        report = {"programs": args.sample, "ops": ops, "never_generated": never}
        print(json.dumps(report, indent=2))
        return EXIT_OK
    table = [("op", "family", "target", "dtypes", "traits", "weight", "programs", "uses")]
    for row in rows:
        dtypes = ",".join(map(short_dtype_name, row.dtypes))
        traits = ",".join(row.traits) or "-"
        counts = (f"{row.weight:g}", str(row.programs), str(row.occurrences))
        table.append((row.name, row.family, row.target, dtypes, traits, *counts))
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        left = [cell.ljust(w) for cell, w in zip(line[:5], widths[:5], strict=True)]
        right = [cell.rjust(w) for cell, w in zip(line[5:], widths[5:], strict=True)]
        print("  ".join(left + right))
    print(f"{len(rows)} ops, {len(never)} never generated in {args.sample} programs")
    return EXIT_OK


_COMMANDS = {
    "generate": cmd_generate,
    "run": cmd_run,
    "fuzz": cmd_fuzz,
    "report": cmd_report,
    "replay": cmd_replay,
    "merge": cmd_merge,
    "minimize": cmd_minimize,
    "bench": cmd_bench,
    "ops": cmd_ops,
}
_BAD_INPUT = (
    UsageError,
    CaseFormatError,
    UnknownOpError,
    UnknownVariantError,
    UnknownBackendError,
    KnownIssuesError,
    StoreError,
    CampaignBusyError,
    ExecutorError,
    MergeError,
    ReadmeMarkersError,
)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
        return _COMMANDS[args.command](args)
    except _BAD_INPUT as exc:
        print(f"torchfuzz: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("torchfuzz: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

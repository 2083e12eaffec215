"""Commands on campaigns: fuzz, report, replay, merge."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from torchfuzz.backends.config_space import (
    DEFAULT_DIMENSIONS,
    ConfigSpace,
    default_space,
    load_space,
)
from torchfuzz.campaign.driver import CampaignConfig, run_campaign
from torchfuzz.campaign.executors import EXECUTORS
from torchfuzz.campaign.replay import ReplayVerdict, replay_findings
from torchfuzz.campaign.triage import Budget
from torchfuzz.commands import render
from torchfuzz.commands.common import (
    Exit,
    UsageError,
    add_check_flags,
    add_generator_flags,
    add_log_level,
    generator_options,
    open_campaign,
    positive_float,
    positive_int,
    require_campaign,
    seed_range,
    variants,
    write_output,
)
from torchfuzz.commands.live import ProgressDisplay
from torchfuzz.findings.known_issues import default_known_issues_path, load_known_issues
from torchfuzz.findings.merge import merge_stores
from torchfuzz.findings.report import FindingStatus, StoreSummary

_DEFAULT_SEEDS = range(0, 20)
_BUDGET = Budget()
_BUILTIN_SPACE = "builtin"  # --sample-configs without a file


def register(sub: argparse._SubParsersAction) -> None:
    fuzz = sub.add_parser("fuzz", help="run a campaign; findings go to a store in --out")
    budget = fuzz.add_mutually_exclusive_group()
    budget.add_argument("--seeds", type=seed_range, help="A:B, the seeds to check (default 0:20)")
    budget.add_argument("--time", type=float, metavar="SECONDS", help="check fresh seeds this long")
    fuzz.add_argument(
        "--workers",
        type=positive_int,
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
        help="minimize new findings while checking goes on (default on)",
    )
    triage = fuzz.add_argument_group("triage and minimization, per finding")
    triage.add_argument(
        "--minimize-seconds",
        type=positive_float,
        default=_BUDGET.seconds,
        help=f"wall-time budget of one minimization (default {_BUDGET.seconds:g})",
    )
    triage.add_argument(
        "--minimize-candidates",
        type=positive_int,
        default=_BUDGET.candidates,
        help=f"candidate runs of one minimization (default {_BUDGET.candidates})",
    )
    triage.add_argument(
        "--run-timeout-floor",
        type=positive_float,
        default=_BUDGET.floor,
        help="shortest timeout of one minimization run, which must fit a compile in a fresh"
        f" worker; runs otherwise time out at {_BUDGET.factor:g}x the case's check under"
        " Dynamo's eager backend"
        f" (default {_BUDGET.floor:g})",
    )
    triage.add_argument(
        "--bisect",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="name the Inductor subsystem a minimized finding needs (CompilerBisector; default on)",
    )
    triage.add_argument(
        "--triage-workers",
        type=positive_int,
        help="worker processes for triage and minimization (default: half of --workers)",
    )
    add_generator_flags(fuzz)
    add_check_flags(fuzz)
    fuzz.add_argument(
        "--sample-configs",
        nargs="?",
        const=_BUILTIN_SPACE,
        metavar="SPACE",
        help="run each case's Inductor variants under config patches sampled from SPACE, a"
        " TOML file (without one: the built-in space of "
        + ", ".join(key for key, _ in DEFAULT_DIMENSIONS)
        + ")",
    )
    add_log_level(fuzz)
    fuzz.set_defaults(run=cmd_fuzz)

    report = sub.add_parser("report", help="summarize a campaign directory")
    report.add_argument("directory", type=Path)
    report.add_argument("--json", action="store_true", help="machine-readable output")
    add_log_level(report)
    report.set_defaults(run=cmd_report)

    replay = sub.add_parser("replay", help="re-run every unique finding; mark the fixed ones")
    replay.add_argument("directory", type=Path)
    replay.add_argument("--timeout", type=float, default=300.0)
    add_log_level(replay)
    replay.set_defaults(run=cmd_replay)

    merge = sub.add_parser("merge", help="merge shard campaign directories into one store")
    merge.add_argument("dest", type=Path, help="the merged store (created if missing)")
    merge.add_argument("sources", nargs="+", type=Path, metavar="SRC", help="shard directories")
    add_log_level(merge)
    merge.set_defaults(run=cmd_merge)


def _config(args: argparse.Namespace) -> CampaignConfig:
    known_path = args.known_issues or default_known_issues_path()
    try:
        known = load_known_issues(known_path)
    except OSError as exc:
        raise UsageError(f"cannot read {known_path}: {exc.strerror}") from None
    bounded = args.seeds is not None or args.time is not None
    return CampaignConfig(
        out=args.out,
        variants=variants(args),
        options=generator_options(args),
        seeds=args.seeds if bounded else _DEFAULT_SEEDS,
        time_limit=args.time,
        workers=args.workers,
        executor=args.executor,
        address=args.address,
        timeout=args.timeout,
        known_issues=known,
        minimize=args.minimize,
        budget=Budget(
            candidates=args.minimize_candidates,
            seconds=args.minimize_seconds,
            floor=args.run_timeout_floor,
        ),
        triage_workers=args.triage_workers,
        bisect=args.bisect,
        space=_space(args.sample_configs),
    )


def _space(given: str | None) -> ConfigSpace | None:
    if given is None:
        return None
    return default_space() if given == _BUILTIN_SPACE else load_space(Path(given))


def run_with_progress(config: CampaignConfig) -> StoreSummary:
    """The campaign, its progress drawn on stderr."""
    display = ProgressDisplay(sys.stderr)
    try:
        return run_campaign(config, progress=display)
    finally:
        display.finish()  # also on Ctrl-C: the last counts before the summary


def cmd_fuzz(args: argparse.Namespace) -> Exit:
    config = _config(args)
    try:
        summary = run_with_progress(config)
    except KeyboardInterrupt:
        render.show("interrupted: summary of what was recorded", stream=sys.stderr)
        with open_campaign(args.out) as store:
            summary = store.summary()
    render.show(render.store_summary(summary))
    # A killed or hung case that did not fail again, or an amplified difference within
    # tolerance, is shown, but is no new bug.
    new = any(f.status is FindingStatus.NEW and f.no_bug is None for f in summary.findings)
    return Exit.FINDING if new else Exit.OK


def cmd_report(args: argparse.Namespace) -> Exit:
    with open_campaign(args.directory) as store:
        summary = store.summary()
    if args.json:
        write_output(None, json.dumps(summary.to_dict(), indent=1))
    else:
        render.show(render.store_summary(summary))
    return Exit.OK


def cmd_replay(args: argparse.Namespace) -> Exit:
    still_failing = False
    for replayed in replay_findings(require_campaign(args.directory), args.timeout):
        render.show(render.replayed(replayed))
        still_failing |= replayed.verdict is ReplayVerdict.STILL_FAILS
    return Exit.FINDING if still_failing else Exit.OK


def cmd_merge(args: argparse.Namespace) -> Exit:
    render.show(render.merge_report(merge_stores(args.dest, args.sources)))
    return Exit.OK

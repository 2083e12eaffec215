"""Triage: findings reported vs bugs injected, and seconds per minimization.

A campaign against ``tests._multibugs.multi_bug_backend`` (five wrong-value bugs, an abort,
a segfault and a hang, each in one op) under the three default variants; each finding is
matched to the bug its root cause names.  Precision = findings that are the only finding of
their bug / all findings; recall = bugs with a finding / bugs injected.  Every minimized
repro is run as a script: it must exit 1 and its header name the bug's op.

    python -m benchmarks.bench_triage [--seeds 0:300] [--timeout 10] [--floor 3] [--out DIR]
                                      (from the repository root: tests._multibugs imports)

Run again with the same ``--out`` to print the table of a finished campaign (its seeds are
recorded, so only what was left pending is triaged).
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests._multibugs, from a checkout

from tests._multibugs import BUG_OPS, TRIAGE_OPS, score  # noqa: E402
from torchfuzz.backends.runner import resolve_variants  # noqa: E402
from torchfuzz.backends.worker import IsolatedRunner  # noqa: E402
from torchfuzz.campaign.driver import CampaignConfig, run_campaign  # noqa: E402
from torchfuzz.campaign.triage import Budget  # noqa: E402
from torchfuzz.commands.common import seed_range  # noqa: E402
from torchfuzz.findings.layout import CampaignDir  # noqa: E402
from torchfuzz.generator.options import GeneratorOptions  # noqa: E402
from torchfuzz.ir.serialize import Case  # noqa: E402
from torchfuzz.shrink.minimize import run_signature  # noqa: E402

BACKEND = "tests._multibugs:multi_bug_backend"


def run_repro(path: str, timeout: float) -> tuple[int | None, str]:
    """Exit status and last output line of a repro.py (None: it hung past ``timeout``)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # the repro imports the synthetic backend
    try:
        done = subprocess.run(
            [sys.executable, path, "--timeout", str(timeout / 4)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return None, "hung"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode, lines[-1] if lines else ""


def without_injected_bugs(out: Path, finding, variants) -> bool:
    """Whether a finding's example fails the same way under its first variant with plain
    ``aot_eager`` (the multi-bug backend without its bugs): a bug of PyTorch's own, not one
    of the injected ones."""
    case_path = CampaignDir(out).finding(finding.signature_id).case
    variant = next((v for v in variants if v.name == finding.variant), None)
    if variant is None or not case_path.exists():
        return False
    case = Case.from_json(case_path.read_text())
    with IsolatedRunner() as runner:
        now = run_signature(case.graph, case.seed, variant.with_backend("aot_eager"), runner, 60)
    return now == finding.cheap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=seed_range, default=range(0, 300))
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per case")
    parser.add_argument("--floor", type=float, default=3.0, help="shortest run timeout")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="campaign directory (default: a temp dir)")
    parser.add_argument(
        "--bug-ops",
        action="store_true",
        help="programs of the bugs' ops and neutral ones only (tests._multibugs.TRIAGE_OPS)",
    )
    parser.add_argument("--nodes", type=int, help="program size (default: the generator's)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.ERROR)
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-triage-"))
    config = CampaignConfig(
        out=out,
        variants=resolve_variants(None, BACKEND),
        seeds=args.seeds,
        options=GeneratorOptions(
            **({"ops": TRIAGE_OPS} if args.bug_ops else {}),
            **({"num_nodes": args.nodes} if args.nodes else {}),
        ),
        workers=args.workers,
        timeout=args.timeout,
        budget=Budget(floor=args.floor),
        known_issues=None,
    )
    start = time.perf_counter()
    summary = run_campaign(config)
    wall = time.perf_counter() - start
    result = score(summary.findings)
    op_bug = {op: bug for bug, op in BUG_OPS.items()}

    print(f"campaign: seeds {args.seeds.start}:{args.seeds.stop}, {args.workers} workers,")
    print(f"  {summary.total_cases} cases, {wall:.0f} s wall, {summary.counts}")
    print(f"  pending (not triaged): {summary.pending}")
    head = f"{'finding':12} {'bug':16} {'root cause':34} {'count':>5} {'seed':>4}"
    print(head + f" {'variants':>3} {'nodes':>8} {'min s':>6}  repro")
    seconds = []
    for f in summary.findings:
        bug = next((b for b, ids in result.found.items() if f.signature_id in ids), "-")
        size = f.size or "-"
        took = "-" if f.minimize_seconds is None else f"{f.minimize_seconds:.1f}"
        if f.minimize_seconds is not None:
            seconds.append(f.minimize_seconds)
        status, line = run_repro(f.repro_path, 4 * args.timeout) if f.repro_path else (None, "")
        named = f.repro_path is not None and BUG_OPS.get(bug, "?") in Path(f.repro_path).read_text()
        verdict = f"exit {status}{' names it' if named else ''}: {line[:60]}"
        what = f.text.removeprefix(f.signature_id + " ")[:34]
        print(
            f"{f.signature_id:12} {bug:16} {what:34} {f.count:5d} {f.first_seed:4d}"
            f" {len(f.variants):>8} {size:>8} {took:>6}  {verdict}"
        )
    missed = [bug for bug, ids in result.found.items() if not ids]
    unmatched = [f for f in summary.findings if f.signature_id in result.unmatched]
    own = [f.signature_id for f in unmatched if without_injected_bugs(out, f, config.variants)]
    print(
        f"bugs injected {len(result.bugs)}, findings {len(summary.findings)},"
        f" unmatched {len(result.unmatched)} (of which {len(own)} fail the same way under"
        f" plain aot_eager: PyTorch's own, not injected), missed {missed or 'none'}"
    )
    flaky = [f.signature_id for f in unmatched if f.no_bug is not None]
    if flaky:
        reasons = {f.signature_id: f.no_bug for f in unmatched if f.no_bug is not None}
        print(
            f"  named no bug by triage (not reproduced, or amplified within tolerance): {reasons}"
        )
    findings = len(summary.findings) - len(own) - len(flaky)
    exact = sum(len(ids) == 1 for ids in result.found.values())
    print(
        f"precision {result.precision:.0%} of all findings, {exact}/{findings}"
        f" = {exact / max(findings, 1):.0%} without PyTorch's own and the no-bug ones;"
        f" recall {result.recall:.0%}"
    )
    if seconds:
        print(
            f"minimization: {len(seconds)} findings, mean {sum(seconds) / len(seconds):.1f} s,"
            f" max {max(seconds):.1f} s"
        )
    print(f"ops of the bugs: {', '.join(f'{op}={bug}' for op, bug in op_bug.items())}")
    print(f"campaign directory: {out}")


if __name__ == "__main__":
    main()

"""A sequential, in-process campaign over a seed range, with findings written atomically.

Each case is written to `DIR/in-flight/` before it runs and removed after: a case that kills
the process (a segfault or abort in compiled code) is left there, and the next campaign with
the same directory moves it to `DIR/killed/` and reports it. Crash-isolated worker processes are future work.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from torchfuzz import __version__
from torchfuzz.backends.outcome import Outcome, OutcomeKind
from torchfuzz.backends.python import to_python
from torchfuzz.backends.repro import to_repro
from torchfuzz.backends.runner import check
from torchfuzz.backends.variants import Variant
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.dot import to_dot
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.serialize import Case
from torchfuzz.minimize import MinimizeResult

log = logging.getLogger(__name__)
FINDING_KINDS = frozenset({OutcomeKind.MISMATCH, OutcomeKind.CRASH})


@dataclass(frozen=True)
class Finding:
    seed: int
    outcome: Outcome
    directory: Path


@dataclass
class CampaignSummary:
    """Counts by outcome and the findings of one campaign."""

    counts: Counter = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    lost: list[Path] = field(default_factory=list)  # cases that killed an earlier run

    @property
    def programs(self) -> int:
        return sum(self.counts.values())

    def render(self) -> str:
        rate = self.programs / self.seconds if self.seconds else 0.0
        lines = [
            f"checked {self.programs} programs in {self.seconds:.1f}s ({rate:.2f}/s)",
            "outcomes: " + ", ".join(f"{k.value} {self.counts[k]}" for k in OutcomeKind),
            f"findings: {len(self.findings)}",
        ]
        lines += [
            f"  seed {f.seed}: {f.outcome.summary()}  -> {f.directory}" for f in self.findings
        ]
        if self.lost:
            lines.append(f"cases that killed an earlier run (process crash): {len(self.lost)}")
            lines += [f"  {path}" for path in self.lost]
        return "\n".join(lines)


IN_FLIGHT = "in-flight"
KILLED = "killed"


def _versions() -> dict[str, str]:
    return {"torchfuzz": __version__, "torch": torch.__version__}


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def collect_killed(out_dir: Path) -> list[Path]:
    """Move cases that a previous campaign started but never finished (they killed its
    process) from `in-flight/` to `killed/`, where they stay; return their new paths."""
    directory = out_dir / IN_FLIGHT
    if not directory.is_dir():
        return []
    killed = out_dir / KILLED
    killed.mkdir(exist_ok=True)
    moved = []
    for path in sorted(directory.glob("seed-*.json")):
        target = killed / path.name
        os.replace(path, target)
        moved.append(target)
    return moved


def write_finding(
    out_dir: Path,
    graph: Graph,
    seed: int,
    options: GeneratorOptions,
    variants: Sequence[Variant],
    outcome: Outcome,
) -> Path:
    """Write case.json, repro.py, graph.dot and outcome.json into out_dir/seed-N, atomically
    (all files are written to a temporary directory that is then renamed into place)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"seed-{seed}"
    files = {
        "case.json": Case(graph, seed, options.to_dict(), _versions()).to_json(),
        "repro.py": to_python(graph, seed, variants, header=outcome.summary()),
        "graph.dot": to_dot(graph),
        "outcome.json": json.dumps(outcome.to_dict(), indent=1) + "\n",
    }
    tmp = Path(tempfile.mkdtemp(prefix=f".seed-{seed}-", dir=out_dir))
    for name, text in files.items():
        (tmp / name).write_text(text)
    if final.exists():
        for old in final.iterdir():
            old.unlink()
        final.rmdir()
    os.replace(tmp, final)
    return final


def run_campaign(
    seeds: range,
    options: GeneratorOptions,
    variants: Sequence[Variant],
    out_dir: Path,
    progress: Callable[[str], None] | None = None,
) -> CampaignSummary:
    """Generate and check every seed in turn; findings go to `out_dir`."""
    summary = CampaignSummary(lost=collect_killed(out_dir))
    start = time.perf_counter()
    in_flight = out_dir / IN_FLIGHT
    in_flight.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        graph = generate(seed, options)
        # The case is on disk while it runs: if the compiler kills the process, it stays there.
        marker = in_flight / f"seed-{seed}.json"
        _write_atomically(marker, Case(graph, seed, options.to_dict(), _versions()).to_json())
        outcome = check(graph, seed, variants)
        marker.unlink()
        summary.counts[outcome.kind] += 1
        if outcome.kind in FINDING_KINDS:
            directory = write_finding(out_dir, graph, seed, options, variants, outcome)
            summary.findings.append(Finding(seed, outcome, directory))
        if outcome.kind == OutcomeKind.INVALID:
            log.error("seed %d: eager failed (a fuzzer bug): %s", seed, outcome.reason)
        if progress is not None:
            progress(f"seed {seed}: {outcome.summary()}")
    summary.seconds = time.perf_counter() - start
    return summary


def write_minimized(
    out_dir: Path, original: Case, result: MinimizeResult, variant: Variant
) -> list[Path]:
    """Write the minimized case, a standalone repro.py and the DOT graph into `out_dir`
    (each file atomically); return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    case = Case(result.graph, original.seed, original.options, _versions())
    files = {
        "case.json": case.to_json(),
        "repro.py": to_repro(result.graph, original.seed, variant, result.signature),
        "graph.dot": to_dot(result.graph),
        "signature.json": json.dumps(result.signature.to_dict(), indent=1) + "\n",
    }
    paths = []
    for name, text in files.items():
        _write_atomically(out_dir / name, text)
        paths.append(out_dir / name)
    return paths

"""What `torchfuzz` prints, drawn with rich in one place: campaign summaries, merge results,
verdicts, the op table. Library calls return values; these functions turn them into
renderables and :func:`show` prints them.

Off a terminal (a pipe, a log file) lines are never wrapped or coloured, so the text stays
greppable; on a terminal rich fits tables to the width.
"""

from __future__ import annotations

import io
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from torchfuzz.backends.outcome import Outcome
from torchfuzz.campaign.artifacts import Minimized
from torchfuzz.campaign.replay import Replayed, ReplayVerdict
from torchfuzz.findings.merge import MergeReport
from torchfuzz.findings.report import FindingStatus, StoreSummary
from torchfuzz.generator.coverage import CoverageReport, OpCoverage

_UNWRAPPED = 100_000  # the width off a terminal: a line is as long as its text
_FINDING_COLUMNS = ("finding", "count", "first seed", "variants", "size", "status")
_FINDING_TAIL = ("root cause", "culprit [bisect]", "repro / link")
_WHAT = 100  # characters of a finding's root cause in the table


def make_console(stream: TextIO) -> Console:
    """A console writing to `stream`: rich's own on a terminal, plain and unwrapped elsewhere."""
    if stream.isatty():
        return Console(file=stream, highlight=False)
    # both dimensions: with only a width rich answers 80 columns on TERM=dumb
    return Console(file=stream, highlight=False, width=_UNWRAPPED, height=25, color_system=None)


def show(*renderables: RenderableType, stream: TextIO | None = None) -> None:
    """Print each renderable on stdout (or `stream`); str is printed as is (no markup)."""
    console = make_console(stream or sys.stdout)
    for renderable in renderables:
        console.print(Text(renderable) if isinstance(renderable, str) else renderable)


def to_text(renderable: RenderableType) -> str:
    """What :func:`show` prints off a terminal, as a string (no final newline)."""
    console = make_console(io.StringIO())
    with console.capture() as captured:
        console.print(renderable)
    return captured.get().removesuffix("\n")


def table(
    columns: Sequence[str], rows: Iterable[Sequence[str]], right: Iterable[int] = ()
) -> Table:
    """A borderless table, two spaces between columns, `right` columns right-aligned."""
    right = set(right)
    grid = Table(box=None, pad_edge=False, padding=(0, 1), header_style="bold")
    for i, name in enumerate(columns):
        grid.add_column(name, justify="right" if i in right else "left")
    for row in rows:
        grid.add_row(*(Text(cell) for cell in row))
    return grid


def _no_bugs(summary: StoreSummary) -> str:
    """The findings that name no bug, counted by why (``; 1 not reproduced in triage, no bug``)."""
    reasons = Counter(f.no_bug for f in summary.findings if f.no_bug is not None)
    return "".join(f"; {count} {reason}, no bug" for reason, count in sorted(reasons.items()))


def store_summary(summary: StoreSummary) -> Group:
    """Outcome counts, throughput, and one table line per finding (what `report` shows)."""
    seconds = summary.total_seconds
    rate = summary.total_cases / seconds if seconds > 0 else 0.0
    statuses = ", ".join(
        f"{sum(f.status is s for f in summary.findings)} {s.value}" for s in FindingStatus
    )
    lines: list[RenderableType] = [
        Text(
            f"cases: {summary.total_cases} in {seconds:.1f} s of checking"
            f" ({rate:.2f} cases/s per worker)"
        ),
        Text("outcomes: " + ", ".join(f"{k} {n}" for k, n in summary.counts.items())),
        Text(f"findings: {len(summary.findings)} unique ({statuses}{_no_bugs(summary)})"),
    ]
    if summary.pending:
        lines.append(Text(f"pending: {summary.pending} failing cases not triaged yet (resume)"))
    if summary.findings:
        rows = (
            (*cells[:6], cells[6][:_WHAT], *cells[7:])
            for cells in (f.cells() for f in summary.findings)
        )
        columns = (*_FINDING_COLUMNS, *_FINDING_TAIL)
        lines.append(Padding(table(columns, rows, right=(1, 2)), (0, 0, 0, 2), expand=False))
    for target, texts in summary.merged.items():
        lines.extend(Text(f"  {target} also showed as {text}") for text in texts)
    return Group(*lines)


def merge_report(report: MergeReport) -> Group:
    """What each source added, then the merged store's summary."""
    added = [
        Text(
            f"{m.source}: {m.cases_added} cases added, {m.duplicates} duplicates,"
            f" {m.new_signatures} new signatures"
        )
        for m in report.sources
    ]
    return Group(*added, store_summary(report.summary))


def outcome(seed: int, result: Outcome) -> Group:
    """The verdict on one program and the line of each variant (what `run` shows)."""
    lines = [Text(f"seed {seed}: {result.kind.value}: {result.summary()}")]
    for r in result.results:
        reason = f"  ({r.reason})" if r.reason else ""
        lines.append(Text(f"  {r.variant:28s} {r.kind.value:9s} {r.seconds:6.2f}s{reason}"))
    return Group(*lines)


def replayed(item: Replayed) -> Text:
    """One finding's replay verdict."""
    finding = item.finding
    if item.verdict is ReplayVerdict.UNREPLAYABLE:
        return Text(f"{finding.signature_id}: cannot replay (no case, or unknown variant)")
    return Text(f"{finding.signature_id}  {item.verdict.value:11s}  {finding.text}")


def minimized(done: Minimized) -> Group:
    """The signature kept, the size before and after, and the files written."""
    result, stats = done.result, done.result.stats
    return Group(
        Text(f"signature {result.signature.text()}"),
        Text(
            f"nodes {result.original_nodes} -> {len(result.graph)}, "
            f"{stats.candidates} candidates tried, {stats.seconds:.1f}s"
        ),
        *(Text(f"  {path}") for path in done.files),
    )


def coverage(report: CoverageReport) -> Group:
    """The op table of `torchfuzz ops`, then how many ops no program used."""
    numeric = range(len(OpCoverage.COLUMNS) - OpCoverage.NUMERIC, len(OpCoverage.COLUMNS))
    rows = (row.cells() for row in report.ops)
    never = len(report.never_generated)
    return Group(
        table(OpCoverage.COLUMNS, rows, right=numeric),
        Text(f"{len(report.ops)} ops, {never} never generated in {report.programs} programs"),
    )

"""Report values: a finding row survives the database round trip and renders its cells."""

import pytest

from torchfuzz.backends.signature import Signature
from torchfuzz.commands.render import store_summary, to_text
from torchfuzz.findings.report import FINDING_COLUMNS, FindingRow, FindingStatus, StoreSummary

BOOM = Signature("crash", ("RuntimeError", "boom <num>", "torch/x.py:f"))


def _row(**changes):
    values = dict(
        signature_id=BOOM.id,
        kind="crash",
        variants=("inductor", "inductor_dynamic"),
        text=BOOM.text(),
        count=3,
        first_seed=5,
        status="new",
        known_link=None,
        example_dir="out/findings/x",
        minimized_nodes=2,
        original_nodes=30,
        repro_path="out/findings/x/minimized/repro.py",
        minimize_seconds=None,
        culprit=None,
        bisect=None,
        signature=BOOM,
        cheap=BOOM,
    )
    return FindingRow(**{**values, **changes})


def test_to_row_and_from_row_round_trip():
    row = _row()
    values = row.to_row()
    assert len(values) == len(FINDING_COLUMNS.split(","))
    assert FindingRow.from_row(values) == row


def test_cells_prefer_the_minimized_repro_then_the_link():
    what = "crash: RuntimeError | boom <num> | torch/x.py:f"
    minimized = ("30 -> 2", "new", what, "-", "out/findings/x/minimized/repro.py")
    assert _row().cells()[4:] == minimized
    unminimized = _row(minimized_nodes=None, repro_path=None, known_link="https://k")
    assert unminimized.size is None
    assert unminimized.cells()[4:] == ("-", "new", what, "-", "https://k")


def test_cells_show_variants_culprit_and_bisection():
    row = _row(culprit="mul(float32[2] contiguous, float32[1] contiguous)", bisect="inductor")
    cells = row.cells()
    assert cells[3] == "inductor, inductor_dynamic"
    assert cells[7] == "mul(float32[2] contiguous, float32[1] contiguous) [inductor]"


def test_summary_renders_a_table_line_per_finding():
    summary = StoreSummary({"ok": 1, "crash": 3}, 4, 2.0, (_row(),))
    text = to_text(store_summary(summary))
    assert "cases: 4 in 2.0 s of checking (2.00 cases/s per worker)" in text
    assert "findings: 1 unique (1 new, 0 known, 0 fixed)" in text
    assert text.splitlines()[-1].strip().startswith(BOOM.id)
    assert summary.to_dict()["findings"][0]["signature"] == BOOM.to_dict()
    # off a terminal the table is as wide as its text (it once padded to 100,000 columns)
    widest = max(len(line) for line in text.splitlines())
    assert widest <= len(text.splitlines()[-1].rstrip()) + 2, widest


def test_status_is_an_enum_stored_as_its_text():
    row = FindingRow.from_row(_row().to_row())
    assert row.status is FindingStatus.NEW and row.to_row()[6] == "new"
    assert row.to_dict()["status"] == "new" and type(row.to_dict()["status"]) is str
    with pytest.raises(ValueError):
        _row(status="bogus")

"""The catalogue report: op coverage over generated programs, `torchfuzz ops`, README blocks."""

import json

import pytest
import torch

from torchfuzz.cli import main
from torchfuzz.generator.coverage import (
    README_BLOCKS,
    ReadmeMarkersError,
    catalogue_gaps,
    op_coverage,
    render_limits,
    render_op_table,
    target_name,
    update_readme,
)
from torchfuzz.generator.generate import generate
from torchfuzz.ir.catalogue import CATALOGUE
from torchfuzz.ir.ops.base import Trait


@pytest.mark.slow
def test_op_coverage_lists_every_op_with_its_counts():
    rows = op_coverage(range(20))
    assert tuple(row.name for row in rows) == CATALOGUE.names()
    nodes = sum(len(generate(seed)) for seed in range(20))
    assert sum(row.occurrences for row in rows) == nodes
    for row, op in zip(rows, CATALOGUE, strict=True):
        assert row.programs <= min(20, row.occurrences)
        assert (row.programs == 0) == (row.occurrences == 0)
        assert row.family == op.family and row.weight == op.weight
        assert set(row.dtypes) == op.dtypes
    assert target_name(CATALOGUE.get("add")) == "aten.add.Tensor"


@pytest.mark.slow
def test_most_ops_appear_in_200_programs():
    """A weaker form of `benchmarks/op_coverage.py` (every op in seeds 0-1999, about a minute):
    at least 90% of the catalogue's ops appear in seeds 0-199."""
    rows = op_coverage(range(200))
    never = [row.name for row in rows if row.programs == 0]
    assert len(never) <= 0.1 * len(rows), f"never generated: {never}"


def test_op_table_has_a_row_per_family_and_the_total():
    table = render_op_table(CATALOGUE.subset(["add", "mul", "sum"]))
    assert "| pointwise | 2 | `add`, `mul` |" in table
    assert "| reduction | 1 | `sum` |" in table
    assert "| **total** | **3** | |" in table


def test_limits_name_what_no_op_covers():
    small = CATALOGUE.subset(["maximum"])  # real dtypes only
    gaps = catalogue_gaps(small)
    assert torch.complex64 in gaps.dtypes and torch.float32 not in gaps.dtypes
    assert Trait.REDUCTION in gaps.traits and Trait.ELEMENTWISE not in gaps.traits
    assert gaps.mutating == ()
    text = render_limits(small)
    assert text.startswith("- ") and "complex64" in text and "reduction" in text


def test_update_readme_replaces_every_block_and_is_idempotent():
    blocks = "".join(f"<!-- {n}:begin -->\nstale\n<!-- {n}:end -->\ntext\n" for n in README_BLOCKS)
    text = "# title\n" + blocks
    updated = update_readme(text)
    assert "stale" not in updated and updated.startswith("# title\n")
    assert render_op_table() in updated and render_limits() in updated
    assert update_readme(updated) == updated


def test_update_readme_without_markers_fails():
    with pytest.raises(ReadmeMarkersError, match="ops:begin"):
        update_readme("# no blocks\n")


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_cli_ops_lists_every_op(capsys):
    code, out, _ = run_cli(capsys, "ops", "--sample", "20")
    assert code == 0
    lines = out.splitlines()
    listed = [line.split()[0] for line in lines[1:-1]]
    assert listed == list(CATALOGUE.names())
    never = sum(1 for line in lines[1:-1] if line.split()[-2] == "0")  # the programs column
    assert lines[-1] == f"{len(CATALOGUE)} ops, {never} never generated in 20 programs"


@pytest.mark.slow
def test_cli_ops_restricted_to_a_family(capsys):
    code, out, _ = run_cli(capsys, "ops", "--sample", "5", "--ops", "matmul")
    matmul = [op.name for op in CATALOGUE if op.family == "matmul"]
    assert code == 0 and [line.split()[0] for line in out.splitlines()[1:-1]] == matmul


def test_cli_ops_json(capsys):
    code, out, _ = run_cli(capsys, "ops", "--sample", "5", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["programs"] == 5
    assert [op["name"] for op in report["ops"]] == list(CATALOGUE.names())
    add = next(op for op in report["ops"] if op["name"] == "add")
    assert add["target"] == "aten.add.Tensor" and "float32" in add["dtypes"]


def test_cli_ops_unknown_flag(capsys):
    code, _, err = run_cli(capsys, "ops", "--bogus")
    assert code == 2 and "unrecognized arguments" in err


def test_cli_ops_write_readme(capsys, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(
        "# x\n<!-- ops:begin -->\n<!-- ops:end -->\n<!-- limits:begin -->\n<!-- limits:end -->\n"
    )
    code, out, _ = run_cli(capsys, "ops", "--write-readme", str(readme))
    assert code == 0 and "regenerated" in out
    assert render_op_table() in readme.read_text()
    assert run_cli(capsys, "ops", "--write-readme", str(readme))[1].endswith("up to date\n")
    readme.write_text("# no markers\n")
    code, _, err = run_cli(capsys, "ops", "--write-readme", str(readme))
    assert code == 2 and "ops:begin" in err

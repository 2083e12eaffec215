"""The generation benchmark: its rows' arithmetic and the `bench` command's flags. Two
programs per size, so no figure here is a timing claim."""

from __future__ import annotations

import math

import pytest

from tests._cli import run_cli
from torchfuzz import bench
from torchfuzz.generator.generate import generate_raw


@pytest.fixture(scope="module")
def rows() -> list[bench.BenchRow]:
    return list(bench.run_benchmark(programs=2, sizes=(4, 8)))


def test_one_row_per_size_in_order(rows):
    assert [row.target_ops for row in rows] == [4, 8]
    assert [row.num_nodes for row in rows] == [bench.NUM_NODES[4], bench.NUM_NODES[8]]
    assert [row.programs for row in rows] == [2, 2]


def test_mean_ops_counts_the_program_after_the_passes(rows):
    for row in rows:
        options = bench._options(row.num_nodes)
        counts = [
            bench.op_count(bench._pipeline(options).run(generate_raw(seed, options)[0]))
            for seed in range(row.programs)
        ]
        assert row.ops == sum(counts)
        assert row.mean_ops == sum(counts) / row.programs


def test_rates_and_times_are_consistent(rows):
    for row in rows:
        assert math.isclose(row.programs_per_s * row.wall_s, row.programs)
        assert math.isclose(row.ops_per_s * row.wall_s, row.ops)
        assert min(row.generate_s, row.passes_s, row.emit_s, row.cpu_s) >= 0
        assert row.generate_s + row.passes_s + row.emit_s <= row.wall_s
        assert math.isclose(row.ms_per_program(row.wall_s), 1000 * row.wall_s / row.programs)


def test_format_row_lines_up_with_the_header(rows):
    header = bench.HEADER
    assert header.split()[:2] == ["target", "ops"]
    for row in rows:
        line = bench.format_row(row)
        assert len(line) == len(header)
        cells = line.split()
        assert int(cells[0]) == row.target_ops and int(cells[3]) == row.programs


def test_counts_scale_with_programs_and_never_reach_zero():
    assert [bench.programs_for(t) for t in bench.TARGETS] == [200, 200, 200, 20, 3]
    assert [bench.programs_for(t, 2) for t in bench.TARGETS] == [2, 2, 2, 1, 1]
    assert bench.programs_for(150, 400) == 40


def test_parse_sizes():
    assert bench.parse_sizes("33, 4") == (4, 33)
    for bad in ("", "5", "4,x", ","):
        with pytest.raises(ValueError):
            bench.parse_sizes(bad)


def test_bench_command_prints_a_row_per_size(capsys):
    code, out, _ = run_cli(capsys, "bench", "--programs", "1", "--sizes", "4")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == bench.HEADER
    assert [line.split()[0] for line in lines[1:]] == ["4"]


@pytest.mark.parametrize(
    "flags", [["--programs", "0"], ["--programs", "x"], ["--sizes", "5"], ["--sizes", ""]]
)
def test_bench_command_rejects_bad_flags(capsys, flags):
    code, out, err = run_cli(capsys, "bench", *flags)
    assert code == 2 and not out
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_fake_tensor_verification_measures_the_same_programs(rows, monkeypatch):
    """`--fake` verifies every node on FakeTensors in the passes: the programs (so the op
    counts) are those of the fast check."""
    checked = []
    real = bench.default_pipeline
    monkeypatch.setattr(
        bench, "default_pipeline", lambda observe, fake: checked.append(fake) or real(observe, fake)
    )
    fake_rows = list(bench.run_benchmark(programs=2, sizes=(4, 8), fake=True))
    assert [row.ops for row in fake_rows] == [row.ops for row in rows]
    assert checked[-2:] == [True, True] and checked.count(True) == 2  # one per row; warm-up: fast

"""The command line: subcommands, exit codes, one-line errors."""

import json
import shutil
import subprocess
import sys

import pytest

from tests._cli import ENV, SMALL_F32, cli, run_cli
from tests._core_ops import CORE_OPTIONS
from torchfuzz.ir.serialize import Case

SPEC = "tests.backends._backends:"


@pytest.mark.parametrize(
    "emit, marker",
    [
        ("ir", "graph["),
        ("fx", "def forward"),
        ("python", "class Program"),
        ("json", '"torchfuzz-case"'),
        ("dot", "digraph"),
    ],
)
def test_generate_emits(capsys, emit, marker):
    code, out, _ = run_cli(capsys, "generate", "--seed", "3", "--emit", emit)
    assert code == 0 and marker in out


def test_generate_size_options(capsys):
    _, small, _ = run_cli(capsys, "generate", "--seed", "3", "--emit", "ir", "--nodes", "2")
    _, large, _ = run_cli(
        capsys, "generate", "--seed", "3", "--emit", "ir", "--nodes", "30", "--max-depth", "12"
    )
    assert small.count(" = ") < large.count(" = ")
    _, f32, _ = run_cli(capsys, "generate", "--seed", "3", "--emit", "ir", "--dtypes", "float32")
    # index tensors and masks keep int64/bool; no other float dtype appears
    assert "f16" not in f32 and "f64" not in f32


def test_generate_writes_file(capsys, tmp_path):
    target = tmp_path / "case.json"
    code, out, _ = run_cli(capsys, "generate", "--seed", "5", "--emit", "json", "-o", str(target))
    assert code == 0 and out == ""
    assert json.loads(target.read_text())["seed"] == 5


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_generate_png(capsys, tmp_path):
    target = tmp_path / "g.png"
    assert run_cli(capsys, "generate", "--seed", "5", "--emit", "dot", "-o", str(target))[0] == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_seed_ok(capsys):
    code, out, _ = run_cli(capsys, "run", "--seed", "2", "--variants", "eager", "aot_eager")
    assert code == 0 and "seed 2: ok" in out and "aot_eager" in out


def test_run_case_file(capsys, tmp_path):
    target = tmp_path / "case.json"
    run_cli(capsys, "generate", "--seed", "6", "--emit", "json", "-o", str(target))
    code, out, _ = run_cli(capsys, "run", str(target), "--variants", "aot_eager")
    assert code == 0 and "seed 6" in out


def test_run_reports_finding_with_custom_backend(capsys):
    code, out, _ = run_cli(
        capsys,
        "run",
        "--seed",
        "4",
        "--dtypes",
        "float32",
        "--variants",
        "inductor",
        "--backend",
        SPEC + "broken_backend",
    )
    assert code == 1 and "crash" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "--seed", "1", "--bogus"],
        ["generate"],
        ["run", "--seed", "1", "--variants", "nope"],
        ["run", "--seed", "1", "--backend", "no_such_backend"],
        ["run", "--seed", "1", "--backend", "no.such.module:fn"],
        ["generate", "--seed", "1", "--dtypes", "float99"],
        ["generate", "--seed", "1", "--nodes", "0"],
        ["generate", "--seed", "1", "--nodes", "2001"],
        ["generate", "--seed", "1", "--max-depth", "0"],
        ["fuzz", "--seeds", "x:y"],
        ["generate", "--seed", "1", "--ops", "add,nosuchop"],
        ["frobnicate"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_case_files(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    code, _, err = run_cli(capsys, "run", str(bad))
    assert code == 2 and len(err.strip().splitlines()) == 1
    good = tmp_path / "good.json"
    run_cli(capsys, "generate", "--seed", "1", "--emit", "json", "-o", str(good))
    data = json.loads(good.read_text())
    data["graph"]["nodes"][0]["op"] = "no_such_op"
    bad.write_text(json.dumps(data))
    code, _, err = run_cli(capsys, "run", str(bad))
    assert code == 2 and "unknown op 'no_such_op'" in err
    code, _, err = run_cli(capsys, "run", str(tmp_path / "missing.json"))
    assert code == 2 and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_module_entry_point_without_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "torchfuzz.cli", "run", "--seed", "1", "--nope"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "torchfuzz.cli", "run", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "--log-level" in proc.stdout


@pytest.mark.slow
def test_minimize_survives_candidates_that_kill_the_worker(tmp_path):
    """Every candidate with an mm aborts its worker process; the minimizer goes on and
    keeps the abort as the signature to preserve."""
    proc = cli(
        "minimize",
        "--seed",
        "12",
        *SMALL_F32,
        "--nodes",  # a smaller program than SMALL_F32's: each mm candidate costs a worker
        "12",
        "--max-depth",
        "6",
        "--backend",
        "tests._bugs:abort_on_mm",
        "--timeout",
        "60",
        "-o",
        str(tmp_path),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "killed: SIGABRT" in proc.stdout
    assert "nodes 12 -> 1" in proc.stdout
    case = Case.from_json((tmp_path / "case.json").read_text())
    assert [n.op.name for n in case.graph.nodes] == ["mm"]
    repro = subprocess.run(
        [sys.executable, str(tmp_path / "repro.py")],
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert repro.returncode == 1, repro.stdout + repro.stderr  # its child aborts too
    assert repro.stdout.splitlines()[-1] == "FAIL inductor: killed SIGABRT"


def test_minimize_refuses_a_passing_case(capsys, tmp_path):
    code, _, err = run_cli(
        capsys,
        "minimize",
        "--seed",
        "3",
        "--variant",
        "aot_eager",
        "--in-process",
        "-o",
        str(tmp_path),
    )
    assert code == 2
    assert err.strip().count("\n") == 0 and "does not fail" in err


@pytest.mark.slow
def test_hanging_candidate_becomes_a_timeout_signature():
    from torchfuzz.backends.runner import resolve_variants
    from torchfuzz.backends.worker import IsolatedRunner
    from torchfuzz.generator.generate import generate
    from torchfuzz.generator.options import GeneratorOptions
    from torchfuzz.shrink.minimize import run_signature

    (variant,) = resolve_variants(["inductor"], "tests._bugs:hang_on_mm")
    graph = generate(
        12,
        GeneratorOptions(
            num_nodes=30, max_depth=10, dtypes=(__import__("torch").float32,), **CORE_OPTIONS
        ),
    )
    with IsolatedRunner() as runner:
        signature = run_signature(graph, 12, variant, runner, timeout=5)
    assert signature.kind == "timeout"


def test_observe_prints_scores_per_family_and_all(capsys):
    code, out, _ = run_cli(capsys, "observe", "--seeds", "0:3", "--compare", "--nodes", "5")
    assert code == 0
    assert "observability of seeds 0:3" in out and "score (--observe no)" in out
    last = out.strip().splitlines()[-1].split()
    assert last[0] == "all" and 0.0 <= float(last[2]) <= 1.0


def test_observe_bad_flag_is_one_line_and_exit_2(capsys):
    code, _, err = run_cli(capsys, "observe", "--observe", "maybe")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "yes or no" in err

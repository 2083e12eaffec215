"""The standalone script and the repro give check()'s verdict, variant by variant.

For each seed, small programs (low-precision ones cast to float64 among them) are judged
under two plain aot_eager variants (of forward, backward, recompile, mark_dynamic) and
one variant compiled by a synthetic buggy backend of ``tests/_bugs.py``; the verdict of
``check()`` is compared, line by line, with what the script prints (all variants) and what
the repro prints (its one variant: every failing variant, and on every fourth seed one more
in turn), and with their exit statuses.  Scripts run by exec'ing their text in-process
(fresh globals, ``__name__ == "__main__"``); a few run as real subprocesses to show that
this path is faithful.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import torch

from torchfuzz.backends.outcome import Outcome, OutcomeKind
from torchfuzz.backends.python import to_python
from torchfuzz.backends.repro import to_repro
from torchfuzz.backends.runner import check, computed_in, resolve_variants
from torchfuzz.backends.standalone import exit_status, verdict_lines
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import DEFAULT_DTYPES, GeneratorOptions
from torchfuzz.ir.catalogue import CATALOGUE
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import TensorSpec

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SEEDS = 200
CHUNKS = 8
# Two plain variants per seed, in turn (the dynamic-shape ones, the costliest, apart).
PLAIN = (
    ("aot_eager", "aot_eager_backward"),
    ("aot_eager_recompile", "aot_eager"),
    ("aot_eager_mark_dynamic", "aot_eager_backward"),
)
aten = torch.ops.aten
# (variant whose Inductor the bug replaces, bug, aten ops whose presence triggers it): each
# seed's program is also compiled by a bug it triggers, if any, else by one in turn.
BUGS = (
    ("inductor", "crash_on_mm", {aten.mm.default}),
    ("inductor", "nan_with_where", {aten.where.self}),
    ("inductor", "wrong_round_into_cast", {aten.round.default, aten._to_copy.default}),
    ("inductor_recompile", "wrong_round_into_cast", {aten.round.default, aten._to_copy.default}),
    ("inductor_backward", "wrong_grad_with_mul", {aten.mul.Tensor}),
    ("inductor", "wrong_cast_into_mul", {aten._to_copy.default, aten.mul.Tensor}),
    ("inductor_backward", "crash_backward_with_mul", {aten.mul.Tensor}),
    ("inductor", "crash_clone_into_view", {aten.clone.default, aten.view.default}),
)
LOW_PRECISION = (torch.bfloat16, torch.float16, torch.float64, torch.int64)


def _case(seed: int) -> tuple[Graph, tuple]:
    dtypes = LOW_PRECISION if seed % 3 == 0 else DEFAULT_DTYPES
    # aten calls: the synthetic bugs match aten targets in the Dynamo graph
    options = GeneratorOptions(num_nodes=5, max_depth=4, max_dim=5, dtypes=dtypes, surface="aten")
    graph = generate(seed, options)
    targets = {node.op.target for node in graph.nodes}
    turn = BUGS[seed % len(BUGS) :] + BUGS[: seed % len(BUGS)]
    name, bug, _ = next((b for b in turn if b[2] <= targets), turn[0])
    plain = resolve_variants(PLAIN[seed % len(PLAIN)], None)
    return graph, plain + resolve_variants([name], f"tests._bugs:{bug}")


_NUMBERS = re.compile(r"(max_abs|max_rel)=\S+")


def _key(line: str) -> str:
    """A verdict line without what may vary between two runs of the same judgement: error
    magnitudes, and a crash message or a Dynamo constraint text after its first clause."""
    line = _NUMBERS.sub(r"\1=*", line)
    if ": CRASH " in line:
        return line.split(": CRASH ")[0] + ": CRASH " + line.split(": CRASH ")[1].split(":")[0]
    return line.split("specializes a marked dim")[0]


def _exec(script: str) -> tuple[list[str], int]:
    """(printed lines, exit status) of a script exec'd in-process as __main__."""
    out = io.StringIO()
    code = compile(script, "<torchfuzz script>", "exec")
    status = 0
    with contextlib.redirect_stdout(out):
        try:
            exec(code, {"__name__": "__main__"})  # noqa: S102 - the script under test
        except SystemExit as done:
            status = done.code
    return out.getvalue().splitlines()[1:], status  # line 0: the torch version


def _subprocess(script: str, tmp_path: Path) -> tuple[list[str], int]:
    path = tmp_path / "script.py"
    path.write_text(script)
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # the synthetic backends are imported
    proc = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=300
    )
    return proc.stdout.splitlines()[1:], proc.returncode


def _one(outcome: Outcome, index: int) -> Outcome:
    """The outcome a check of variant ``index`` alone gives."""
    if not outcome.results:
        return outcome
    return Outcome.from_results([outcome.results[index]])


def _features(graph: Graph, outcome: Outcome) -> Counter:
    found: Counter = Counter(r.kind.value for r in outcome.results)
    found[f"program {outcome.kind.value}"] += not outcome.results
    found["written inputs"] += bool(graph.mutated_inputs())
    found["computed_in"] += any(
        d is not None and graph.spec(o).dtype == torch.float64
        for d, o in zip(computed_in(graph), graph.outputs)
        if hasattr(graph.spec(o), "dtype")
    )
    for r in outcome.results:
        found["second call"] += any(m.second_call for m in r.mismatches)
        found["gradient"] += any(m.gradient_of for m in r.mismatches)
    return found


def _agree(seed: int, run) -> Counter:
    graph, variants = _case(seed)
    outcome = check(graph, seed, variants)
    lines, status = run(to_python(graph, seed, variants))
    where = f"seed {seed}: check() says {outcome.summary()}"
    assert list(map(_key, lines)) == list(map(_key, verdict_lines(outcome))), where
    assert status == exit_status(outcome), where
    failing = [i for i, r in enumerate(outcome.results) if r.is_failing]
    extra = {seed % len(variants)} if seed % 4 == 1 else set()  # one more repro in turn
    for index in sorted({*failing, *extra}):
        alone = _one(outcome, index)
        lines, status = run(to_repro(graph, seed, variants[index]))
        what = f"{where}; repro of {variants[index].name}"
        assert list(map(_key, lines)) == list(map(_key, verdict_lines(alone))), what
        assert status == exit_status(alone), what
    return _features(graph, outcome)


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_script_and_repro_give_checks_verdict(chunk: int) -> None:
    start, found = time.process_time(), Counter()
    for seed in range(chunk, SEEDS, CHUNKS):
        found += _agree(seed, _exec)
    seconds = time.process_time() - start
    print(f"chunk {chunk}: {SEEDS // CHUNKS} seeds in {seconds:.1f} s CPU; {dict(found)}")
    assert found["ok"] and found["skipped"]
    assert found["mismatch"] + found["crash"], "agreement only on passing verdicts"


@pytest.mark.parametrize("seed", [3, 15, 37])  # a mismatch, a skip and a mismatch, a crash
def test_exec_path_is_faithful_to_a_real_subprocess(seed: int, tmp_path: Path) -> None:
    graph, variants = _case(seed)
    script = to_python(graph, seed, variants)
    assert _subprocess(script, tmp_path) == _exec(script)


def test_a_program_eager_cannot_run_is_invalid_everywhere() -> None:
    """One line and exit status 2, never 1: eager failing is a fuzzer bug, not a finding."""
    g = Graph()
    spec = TensorSpec.contiguous((3, 4), torch.float32)
    x0, x1 = g.add_input(spec), g.add_input(spec)
    g.set_outputs([g.add_node(CATALOGUE.get("mm"), [x0, x1], (), spec)])  # (3,4) @ (3,4)
    variants = resolve_variants(["aot_eager"], None)
    outcome = check(g, 0, variants)
    assert outcome.kind is OutcomeKind.INVALID and not outcome.results
    for script in (to_python(g, 0, variants), to_repro(g, 0, variants[0])):
        lines, status = _exec(script)
        assert lines == verdict_lines(outcome) and status == exit_status(outcome) == 2
        assert len(lines) == 1 and lines[0].startswith("invalid: eager failed: RuntimeError")

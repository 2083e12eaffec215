"""Python structure around calls (torchfuzz.backends.structure): drawn per node, never
changing a value, left out (where it breaks the graph) for fullgraph and export variants,
and carried by case files and scripts."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from torchfuzz.backends.judge import Subject, identical
from torchfuzz.backends.lowering import lower_to_fx
from torchfuzz.backends.outcome import OutcomeKind
from torchfuzz.backends.python import to_python
from torchfuzz.backends.runner import check, resolve_variants, run_eager, subject
from torchfuzz.backends.structure import ELEMENTS, SHARE, drawn, one_graph
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.serialize import Case
from torchfuzz.ir.spellings import ATEN_SURFACE, Surface, SurfaceMode
from torchfuzz.ir.structure import Structure
from torchfuzz.passes.validate import verify


def _code(graph) -> str:
    return lower_to_fx(graph).python_code(root_module="self").src


def _elements_in(code: str) -> set[str]:
    return {e.name for e in ELEMENTS if f"structure_{e.name}_" in code}


def _plain(graph, surface: Surface = ATEN_SURFACE):
    """The same program, spelled by `surface`, without structure."""
    plain = graph.copy()
    plain.surface, plain.structure = surface, Structure.NONE
    return plain


def test_default_programs_have_structure_and_aten_ones_none():
    graph = generate(0)
    assert graph.structure is Structure.ALL
    aten = generate(0, GeneratorOptions(surface="aten"))
    assert aten.structure is Structure.NONE and "structure_" not in _code(aten)
    off = generate(0, GeneratorOptions(structure=False))
    assert off.structure is Structure.NONE and "structure_" not in _code(off)
    # the structure changes how calls are written, not the program: same nodes
    assert [str(n) for n in off.nodes] == [str(n) for n in graph.nodes]


def test_every_element_appears_for_some_seed():
    seen: set[str] = set()
    for seed in range(12):
        seen |= _elements_in(_code(generate(seed)))
    assert seen == {e.name for e in ELEMENTS}


def test_a_share_of_nodes_and_most_programs_get_structure():
    surface = Surface(SurfaceMode.MIXED, 7)
    hits = Counter(drawn(surface, f"v{i}") is not None for i in range(4000))
    assert abs(hits[True] / 4000 - SHARE / 100) < 0.03
    structured = sum("structure_" in _code(generate(seed)) for seed in range(40))
    assert structured >= 24  # most default programs get some structure


def test_a_node_keeps_its_element_and_the_spellings_do_not_change():
    graph = generate(3)
    plain = _code(_plain(graph, graph.surface))
    code = _code(graph)
    assert code != plain
    # the structured code differs only on lines calling a structure function
    changed = [a for a, b in zip(code.splitlines(), plain.splitlines()) if a != b]
    assert changed and all("structure_" in line for line in changed)
    assert _code(generate(3)) == code  # same seed, same program, byte for byte


def test_one_graph_leaves_out_the_breaking_elements_only():
    breaking = {e.name for e in ELEMENTS if e.breaks}
    kept = {e.name for e in ELEMENTS if not e.breaks}
    for seed in range(12):
        graph = generate(seed)
        full, unbroken = _elements_in(_code(graph)), _elements_in(_code(one_graph(graph)))
        assert not unbroken & breaking
        assert unbroken == full & kept
    plain = generate(0, GeneratorOptions(surface="aten"))
    assert one_graph(plain) is plain


@pytest.mark.parametrize("seed", range(25))
def test_structure_never_changes_a_value(seed):
    graph = generate(seed)
    verify(graph)
    structured = run_eager(graph, seed)
    assert all(map(identical, structured, run_eager(_plain(graph), seed)))
    assert all(map(identical, structured, run_eager(_plain(graph, graph.surface), seed)))


def test_fullgraph_and_export_variants_compile_the_unbroken_program():
    graph = generate(0)
    built = subject(graph, 0)
    assert isinstance(built, Subject) and built.one_graph is not None
    (eager,) = resolve_variants(["eager"], None)
    (whole,) = resolve_variants(["eager,fullgraph=true"], None)
    (export,) = resolve_variants(["export"], None)
    names = lambda fn: {n.target.__name__ for n in fn.graph.nodes if n.op == "call_function"}  # noqa: E731
    breaking = {e.name for e in ELEMENTS if e.breaks}
    assert any(n.startswith(tuple(breaking)) for n in names(built.compiled_program(eager)))
    for variant in (whole, export):
        program = built.compiled_program(variant)
        assert not any(n.startswith(tuple(breaking)) for n in names(program))
    assert subject(generate(0, GeneratorOptions(surface="aten")), 0).one_graph is None


def test_structure_round_trips_through_case_files_and_options():
    graph = generate(5)
    again = Case.from_json(Case(graph, 5).to_json()).graph
    assert again == graph and again.structure is Structure.ALL
    assert again.text() == graph.text() and "structure:all" in graph.text()
    assert _code(again) == _code(graph)
    data = json.loads(Case(graph, 5).to_json())
    del data["graph"]["structure"]  # a case written before structure
    old = Case.from_json(json.dumps(data)).graph
    assert old.structure is Structure.NONE and "structure_" not in _code(old)
    options = GeneratorOptions(structure=False)
    assert GeneratorOptions.from_dict(options.to_dict()) == options
    assert GeneratorOptions.from_dict(GeneratorOptions().to_dict()).structure is True
    stored = GeneratorOptions().to_dict()
    del stored["structure"]  # options stored before structure: programs without it
    assert GeneratorOptions.from_dict(stored).structure is False


@pytest.mark.slow
def test_a_few_structured_programs_agree_under_eager_and_fullgraph_aot_eager():
    variants = resolve_variants(["eager", "aot_eager,fullgraph=true"], None)
    for seed in (0, 1):
        outcome = check(generate(seed), seed, variants)
        assert outcome.kind is OutcomeKind.OK, outcome


def _failing(graph, seed, variants) -> dict[str, str]:
    outcome = check(graph, seed, variants)
    bad = (OutcomeKind.MISMATCH, OutcomeKind.CRASH)
    return {
        r.variant: r.crash.exc_type if r.crash else r.kind.value
        for r in outcome.results
        if r.kind in bad
    }


@pytest.mark.slow
def test_structure_makes_no_findings_over_many_seeds():
    """Eager and aot_eager find nothing; a fullgraph variant fails only where the program
    without structure fails too (the IR's own `.item()` sizes, which fullgraph cannot
    trace without capture_scalar_outputs), never on a deliberate break."""
    variants = resolve_variants(["eager", "aot_eager", "aot_eager,fullgraph=true"], None)
    caused = {}
    for seed in range(101):
        graph = generate(seed)
        failing = _failing(graph, seed, variants)
        if failing and failing != _failing(_plain(graph, graph.surface), seed, variants):
            caused[seed] = failing
        assert set(failing) <= {"aot_eager,fullgraph=true"}, (seed, failing)
    assert not caused, caused


@pytest.mark.slow
def test_script_of_a_structured_program_runs_and_agrees(tmp_path):
    seed = next(s for s in range(60) if _elements_in(_code(generate(s))) & {"printed", "disabled"})
    graph = generate(seed)
    variants = resolve_variants(["eager", "aot_eager", "aot_eager,fullgraph=true"], None)
    source = to_python(graph, seed, variants)
    assert "class OneGraphProgram" in source and "def with_disable" in source
    path = tmp_path / "program.py"
    path.write_text(source)
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "all variants agree with eager" in run.stdout

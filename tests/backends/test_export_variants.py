"""The export path: `torch.export` then the exported module (`export`) or its AOTInductor
package (`aoti`), judged like any compiled variant."""

from __future__ import annotations

import subprocess
import sys

import pytest

from torchfuzz.backends.outcome import OutcomeKind
from torchfuzz.backends.python import to_python
from torchfuzz.backends.runner import check
from torchfuzz.backends.variant_spec import VariantSpecError, parse_variant
from torchfuzz.backends.variants import get_variant
from torchfuzz.generator.generate import generate


def test_export_presets_and_specs():
    assert get_variant("export").backend == "export"
    assert parse_variant("aoti,dynamic=true").dynamic is True
    for flag in ("backward", "recompile", "mark_dynamic"):
        with pytest.raises(VariantSpecError, match=f"without {flag}"):
            parse_variant(f"aoti,{flag}=true")


def test_an_exported_program_that_writes_its_input_agrees_with_eager():
    graph = generate(5)  # writes its input x0 in place
    assert graph.mutated_inputs()
    outcome = check(graph, 5, [get_variant("export"), parse_variant("export,dynamic=true")])
    assert outcome.kind is OutcomeKind.OK, outcome


def test_what_export_cannot_trace_is_skipped_not_a_crash():
    """Seed 23 branches on an `.item()` value: a data-dependent guard export refuses."""
    outcome = check(generate(23), 23, [get_variant("export")])
    (result,) = outcome.results
    assert result.kind is OutcomeKind.SKIPPED
    assert "export cannot trace the program" in result.reason


@pytest.mark.slow
@pytest.mark.inductor
def test_aoti_returns_python_numbers_where_the_program_does():
    """Seed 0 returns Python ints (from `.item()`): AOTInductor gives 0-dim tensors, which
    the variant turns back into numbers of the program's type, so it agrees with eager."""
    outcome = check(generate(0), 0, [get_variant("aoti")])
    assert outcome.kind is OutcomeKind.OK, outcome


@pytest.mark.slow
def test_a_script_runs_the_export_variant(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(to_python(generate(5), 5, [get_variant("export")]))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert proc.returncode == 0 and "export: ok" in proc.stdout, proc.stdout + proc.stderr[-2000:]

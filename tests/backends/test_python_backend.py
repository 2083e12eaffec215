"""The standalone script: torch only, same eager results as the fx backend, exit codes."""

import math
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from torchfuzz.backends.inputs import make_inputs
from torchfuzz.backends.lowering import to_fx
from torchfuzz.backends.python import to_python
from torchfuzz.backends.runner import resolve_variants
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions

SPEC = "tests.backends._backends:"


def _namespace(script: str, tmp_path) -> dict:
    path = tmp_path / "repro.py"
    path.write_text(script)
    return runpy.run_path(str(path), run_name="repro")


def _same_scalar(a: object, b: object) -> bool:
    """Equal, with NaN equal to NaN only where both are NaN (complex: per component)."""
    if isinstance(a, complex):
        return _same_scalar(a.real, b.real) and _same_scalar(a.imag, b.imag)
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


@pytest.mark.parametrize("seed", range(15))
def test_script_and_fx_backends_compute_the_same_eager_results(seed, tmp_path):
    graph = generate(seed)
    ns = _namespace(to_python(graph, seed, resolve_variants(["eager"], None)), tmp_path)
    from_script = ns["Program"]()(*ns["make_inputs"]())
    from_fx = to_fx(graph)(*make_inputs(graph, seed))
    assert len(from_script) == len(from_fx)
    for a, b in zip(from_script, from_fx):
        if isinstance(a, torch.Tensor):
            assert a.dtype == b.dtype and a.shape == b.shape and a.stride() == b.stride()
            assert torch.equal(a, b) or torch.allclose(a, b, equal_nan=True, rtol=0, atol=0)
        else:
            assert type(a) is type(b) and _same_scalar(a, b), (a, b)


def test_script_imports_nothing_from_torchfuzz():
    script = to_python(generate(5), 5, resolve_variants(["eager"], None))
    assert "torchfuzz" not in "".join(
        line for line in script.splitlines() if line.startswith(("import", "from"))
    )
    assert "sys.path" not in script


REPO = Path(__file__).resolve().parents[2]


def _run(script: str, tmp_path, pythonpath: str = "") -> subprocess.CompletedProcess:
    path = tmp_path / "repro.py"
    path.write_text(script)
    env = {**os.environ, "PYTHONPATH": pythonpath}
    return subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )


@pytest.mark.slow
def test_script_exits_zero_when_variants_agree(tmp_path):
    graph = generate(4)
    proc = _run(to_python(graph, 4, resolve_variants(["eager", "aot_eager"], None)), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "aot_eager: ok" in proc.stdout


@pytest.mark.slow
def test_script_exits_one_and_names_the_variant_on_a_finding(tmp_path):
    graph = generate(4, GeneratorOptions(dtypes=(torch.float32,), p_scalar_output=0))
    variants = resolve_variants(["inductor", "eager"], SPEC + "off_by_backend")
    # the user's backend is imported by the script, so it must be importable there
    proc = _run(to_python(graph, 4, variants), tmp_path, pythonpath=str(REPO))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "inductor: MISMATCH" in proc.stdout and "eager: ok" in proc.stdout

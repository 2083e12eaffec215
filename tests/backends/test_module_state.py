"""Module-spelled programs (torchfuzz.backends.module_state): state bound from the seed's
inputs, gradients of the state compared in backward variants, no false finding, and scripts
that rebuild the modules and agree."""

from __future__ import annotations

import functools
import itertools
import subprocess
import sys

import pytest
import torch

from torchfuzz.backends.inputs import make_inputs
from torchfuzz.backends.lowering import lower_to_fx, to_fx
from torchfuzz.backends.module_state import module_calls
from torchfuzz.backends.outcome import OutcomeKind
from torchfuzz.backends.python import to_python
from torchfuzz.backends.runner import (
    check,
    gradient_names,
    program,
    resolve_variants,
    run_eager,
    run_reference,
)
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.modules import MODULES

TORCH = GeneratorOptions(ops=tuple(MODULES), surface="torch")
ATEN = GeneratorOptions(ops=tuple(MODULES), surface="aten")


@functools.cache
def _moduled_seeds(count: int) -> list[int]:
    seeds = (s for s in range(60) if module_calls(lower_to_fx(generate(seed=s, options=TORCH))))
    return list(itertools.islice(seeds, count))


def test_the_program_calls_modules_holding_the_seed_inputs() -> None:
    seed = _moduled_seeds(1)[0]
    graph = generate(seed=seed, options=TORCH)
    fn = program(graph, seed)
    names = [i.name for i in graph.inputs]
    inputs = make_inputs(graph, seed)
    for node, call, state in module_calls(fn.graph):
        module = fn.get_submodule(node.target)
        assert isinstance(module, call.cls) and not module.training
        for attr, name in state:
            bound = getattr(module, attr)
            assert torch.equal(bound, inputs[names.index(name)]), (node, attr)
            assert bound.stride() == inputs[names.index(name)].stride()
            assert not bound.requires_grad
    assert not module_calls(to_fx(graph).graph)  # no values to bind: no module call


@pytest.mark.slow
@pytest.mark.parametrize("backward", [False, True])
def test_module_and_aten_programs_agree_bit_for_bit(backward: bool) -> None:
    """Outputs (and, backward, the weights' gradients: the state's after the inputs') equal
    those of the aten surface, in eager and in float64."""
    for seed in _moduled_seeds(4):
        spelled, aten = generate(seed=seed, options=TORCH), generate(seed=seed, options=ATEN)
        assert spelled.nodes == aten.nodes
        for run in (run_eager, run_reference):
            try:
                expected = run(aten, seed, backward)
            except RuntimeError:  # e.g. eager batch_norm backward on running stats
                continue
            got = run(spelled, seed, backward)
            if expected is None:
                continue
            names = gradient_names(spelled)
            plain = gradient_names(aten)
            outputs = len(aten.outputs)
            assert len(got) == len(expected) + (len(names) - len(plain) if backward else 0)
            by_name = dict(zip(plain, expected[outputs:])) if backward else {}
            for value, name in zip(got[outputs:], names) if backward else ():
                source = name.rpartition("(")[2].rstrip(")") if "(" in name else name
                if name != source:  # a state parameter: the gradient of its input
                    torch.testing.assert_close(value, by_name[source], rtol=0, atol=0)
            for a, b in zip(expected[:outputs], got[:outputs]):
                torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)


@pytest.mark.slow
def test_no_false_finding_in_eager_and_aot_eager_variants() -> None:
    """100 seeds of module-spelled ops under the torch surface: nothing to report."""
    names = ["eager", "aot_eager", "aot_eager_backward", "aot_eager_recompile"]
    variants = resolve_variants([*names, "aot_eager_mark_dynamic"], None)
    kinds = []
    for seed in range(100):
        outcome = check(generate(seed=seed, options=TORCH), seed, variants)
        assert not outcome.failing, (seed, outcome.summary())
        kinds.append(outcome.kind)
    assert kinds.count(OutcomeKind.OK) >= 90


@pytest.mark.slow
def test_a_script_with_modules_runs_and_agrees() -> None:
    seed = _moduled_seeds(1)[0]
    graph = generate(seed=seed, options=TORCH)
    variants = resolve_variants(["eager", "aot_eager_backward", "aot_eager_recompile"], None)
    script = to_python(graph, seed, variants)
    assert "bind_state(torch.nn." in script and "_module(" in script
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all variants agree with eager" in done.stdout
    assert check(graph, seed, variants).kind is OutcomeKind.OK

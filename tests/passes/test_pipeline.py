"""The default pipeline on raw generated programs: valid, and meaning what the generator wanted."""

from __future__ import annotations

import pytest

from torchfuzz.generator.generate import GeneratorOptions, generate_raw
from torchfuzz.passes import default_pipeline, verify

from ._eval import assert_same_semantics


@pytest.mark.parametrize("seed", range(25))
def test_default_pipeline_on_generated_graphs(seed):
    raw, _ = generate_raw(seed, GeneratorOptions())
    text = raw.text()
    out = default_pipeline().run(raw)
    assert raw.text() == text
    verify(out)
    # The original outputs come first and mean what they meant; the rest are extra
    # observations (passes.observe), values of the program.
    original = out.copy()
    original.set_outputs(out.outputs[: len(raw.outputs)])
    assert_same_semantics(raw, original, seeds=(seed,))
    assert set(out.outputs) <= {n.name for n in out.nodes} | {i.name for i in out.inputs}


@pytest.mark.parametrize("seed", range(10))
def test_without_observation_the_pipeline_keeps_the_outputs(seed):
    raw, _ = generate_raw(seed, GeneratorOptions(observe=False))
    out = default_pipeline(observe=False).run(raw)
    verify(out)
    assert_same_semantics(raw, out, seeds=(seed,))

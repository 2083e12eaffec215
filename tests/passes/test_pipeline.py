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
    assert_same_semantics(raw, out, seeds=(seed,))

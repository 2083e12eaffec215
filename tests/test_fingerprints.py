"""Programs are byte-identical across refactors: every seed's IR text, JSON case, lowered FX
code and input builders hash to the fingerprint recorded in tests/data (seeds 0-1999 of the
default options, 0-249 of the pinned core ops)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests._core_ops import CORE_OPS
from tests._fingerprint import fingerprint
from torchfuzz.generator.options import GeneratorOptions

_RECORDED = json.loads((Path(__file__).parent / "data" / "program_fingerprints.json").read_text())
_CHUNK = 250
_CHUNKS = [("default", start) for start in range(0, len(_RECORDED["default"]), _CHUNK)] + [
    ("core", start) for start in range(0, len(_RECORDED["core"]), _CHUNK)
]


@pytest.mark.slow
@pytest.mark.parametrize(("options", "start"), _CHUNKS)
def test_programs_are_unchanged(options: str, start: int) -> None:
    recorded = _RECORDED[options]
    generator = GeneratorOptions(ops=CORE_OPS) if options == "core" else GeneratorOptions()
    seeds = [s for s in range(start, start + _CHUNK) if str(s) in recorded]
    assert len(seeds) == _CHUNK
    changed = [s for s in seeds if fingerprint(s, generator) != recorded[str(s)]]
    assert not changed, f"{len(changed)} programs changed, first seeds {changed[:10]}"

"""Generator options: validation, serialization, and restricting programs to some ops."""

import pytest
import torch

from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.catalogue import CATALOGUE, UnknownOpError

# Type promotion may add conversions to any program, whatever ops it was restricted to.
CONVERSIONS = {"cast", "round", "to_float", "to_int", "to_bool", "scalar_round", "real", "abs"}


@pytest.mark.slow
def test_restricting_to_every_op_changes_no_program():
    every = GeneratorOptions(ops=CATALOGUE.names())
    for seed in range(20):
        assert generate(seed, every).text() == generate(seed).text()


@pytest.mark.slow
@pytest.mark.parametrize("ops", [("matmul",), ("mm", "add", "sin"), ("reduction", "mul")])
def test_programs_use_only_the_named_ops_and_families(ops):
    options = GeneratorOptions(ops=ops)
    allowed = {op.name for op in CATALOGUE.restrict(ops)} | CONVERSIONS
    used = set()
    for seed in range(30):
        used |= {node.op.name for node in generate(seed, options).nodes}
    assert used <= allowed and used - CONVERSIONS


def test_unknown_op_or_family_is_refused_up_front():
    with pytest.raises(UnknownOpError, match="'nosuchop'"):
        GeneratorOptions(ops=("add", "nosuchop"))
    with pytest.raises(ValueError, match="at least one"):
        GeneratorOptions(ops=())


def test_ops_round_trip_and_are_absent_when_unrestricted():
    options = GeneratorOptions(dtypes=(torch.float32,), ops=("mm", "pointwise"))
    data = options.to_dict()
    assert data["ops"] == ["mm", "pointwise"]
    assert GeneratorOptions.from_dict(data) == options
    assert "ops" not in GeneratorOptions().to_dict()
    assert GeneratorOptions.from_dict(GeneratorOptions().to_dict()) == GeneratorOptions()

"""The generator: determinism, validity, reuse and layout rates, well-conditioned data."""

import math
import os
import subprocess
import sys

import pytest
import torch

from torchfuzz.backends.runner import run_eager
from torchfuzz.generator.generate import generate
from torchfuzz.generator.layouts import noncontiguous_strides
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.types import TensorSpec
from torchfuzz.passes.validate import verify

_PRINT_PROGRAMS = (
    "import torchfuzz\n"
    "from torchfuzz.ir.serialize import Case\n"
    "for seed in range(25):\n"
    "    print(Case(torchfuzz.generate(seed), seed).to_json())\n"
)


def _programs_in_fresh_process(hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run(
        [sys.executable, "-c", _PRINT_PROGRAMS], capture_output=True, text=True, env=env, check=True
    ).stdout


@pytest.mark.slow
def test_same_seed_gives_byte_identical_programs_across_processes():
    first = _programs_in_fresh_process("1")
    assert first == _programs_in_fresh_process("12345")
    assert len(first) > 1000


@pytest.mark.slow
def test_different_seeds_give_different_programs():
    texts = {generate(seed).text() for seed in range(30)}
    assert len(texts) == 30


def test_options_change_the_program():
    small = generate(7, GeneratorOptions(num_nodes=3))
    large = generate(7, GeneratorOptions(num_nodes=30, max_depth=10))
    assert len(small) < len(large)


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(10))
def test_every_generated_graph_validates(chunk):
    for seed in range(chunk * 50, chunk * 50 + 50):
        verify(generate(seed))


@pytest.mark.slow
def test_reuse_and_noncontiguous_rates_over_1000_seeds():
    big = reused = noncontig = 0
    for seed in range(1000):
        graph = generate(seed)
        if any(isinstance(i.spec, TensorSpec) and not i.spec.is_contiguous for i in graph.inputs):
            noncontig += 1
        if len(graph) >= 8:
            big += 1
            if any(len(graph.users(v.name)) >= 2 for v in graph.values()):
                reused += 1
    assert big >= 100
    assert reused / big >= 0.30, (reused, big)
    assert noncontig / 1000 >= 0.20, noncontig


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(10))
def test_eager_runs_and_outputs_are_finite_on_seeds_0_to_499(chunk):
    """Eager never fails (no `invalid` outcome), and input domains keep programs well
    conditioned: no NaN/inf from domain errors such as log of a negative or exp overflow."""
    bad = []
    for seed in range(chunk * 50, chunk * 50 + 50):
        for out in run_eager(generate(seed), seed):
            if isinstance(out, torch.Tensor) and out.is_floating_point():
                if not torch.isfinite(out).all():
                    bad.append(seed)
            elif isinstance(out, float) and not math.isfinite(out):
                bad.append(seed)
    assert not bad


def test_noncontiguous_strides_are_not_contiguous():
    import random

    rng = random.Random(0)
    for shape in [(2, 3), (4,), (2, 3, 4), (3, 1, 2)]:
        for _ in range(20):
            spec = TensorSpec(shape, noncontiguous_strides(rng, shape), torch.float32)
            assert not spec.is_contiguous


@pytest.mark.slow
def test_expanded_inputs_appear_and_never_repeat_values_that_must_be_unique():
    """Stride-0 (expanded) inputs are generated, but never for `distinct` or `permutation`
    data: repeating those values would make ties (undefined sort/median indices) and
    duplicate scatter indices."""
    expanded = 0
    for seed in range(150):
        for inp in generate(seed).inputs:
            spec = inp.spec
            if not isinstance(spec, TensorSpec):
                continue
            if any(st == 0 and n > 1 for n, st in zip(spec.shape, spec.stride)):
                expanded += 1
                assert inp.domain.kind not in ("distinct", "permutation"), (seed, inp)
    assert expanded >= 10


@pytest.mark.slow
def test_remembered_inference_changes_no_program():
    """The inference memos fill as a process generates; the programs of seeds 0-24 after 300
    other programs (at several sizes) are byte for byte a fresh process's."""
    from torchfuzz.ir.serialize import Case

    for seed in range(1000, 1300):
        generate(seed, GeneratorOptions(num_nodes=3 + seed % 40))
    warm = "".join(Case(generate(seed), seed).to_json() + "\n" for seed in range(25))
    assert warm == _programs_in_fresh_process("7")


def test_depth_follows_the_node_count_unless_given():
    assert GeneratorOptions().depth == 6  # the default programs keep their form
    assert GeneratorOptions(num_nodes=30).depth == 6
    assert GeneratorOptions(num_nodes=150).depth == 30
    assert GeneratorOptions(num_nodes=2000).depth == 100
    assert GeneratorOptions(num_nodes=2000, max_depth=12).depth == 12
    with pytest.raises(ValueError, match="at most 2000"):
        GeneratorOptions(num_nodes=2001)


@pytest.mark.parametrize("nodes", [60, 300])
def test_large_node_counts_are_honoured(nodes):
    from torchfuzz.generator.generate import generate_raw

    for seed in range(3):
        graph, _ = generate_raw(seed, GeneratorOptions(num_nodes=nodes))
        assert len(graph) >= nodes


@pytest.mark.slow
def test_a_2000_node_program_is_made_and_verified_on_fake_tensors():
    graph = generate(0, GeneratorOptions(num_nodes=2000), fake=True)
    assert len(graph) >= 2000


def test_ops_that_cannot_make_the_size_asked_for_say_so(caplog):
    from torchfuzz.generator.generate import generate_raw

    with caplog.at_level("WARNING", logger="torchfuzz.generator.generate"):
        graph, _ = generate_raw(0, GeneratorOptions(num_nodes=300, ops=("nonzero",)))
    assert len(graph) < 300
    assert "asked for 300 op nodes, made" in caplog.text and "cannot make more" in caplog.text


@pytest.mark.slow
def test_a_node_whose_operand_was_retyped_gets_pytorchs_strides():
    """Seed 19 at 170 nodes: type promotion cast a bool `where` condition, whose strides then
    changed the `where`'s; the node kept its old strides and FakeTensor verification failed."""
    graph = generate(19, GeneratorOptions(num_nodes=170, max_depth=56), fake=True)
    assert len(graph) > 170

"""Configuration spaces: the built-in space is valid in the installed torch, sampling is a
function of the seed and the variant, space files are checked, and a sampled variant is an
ordinary variant (its patches, its name, its round trips)."""

from __future__ import annotations

import collections
import dataclasses

import pytest
import torch
import torch._dynamo.config
import torch._inductor.config

from tests._cli import run_cli
from tests._core_ops import CORE_OPS
from torchfuzz.backends.config_space import (
    DEFAULT_DIMENSIONS,
    ConfigSpace,
    ConfigSpaceError,
    Dimension,
    default_space,
    load_space,
    sample_variants,
)
from torchfuzz.backends.runner import check, resolve_variants
from torchfuzz.backends.variant_spec import parse_variant, variant_spec
from torchfuzz.backends.variants import BUILTIN_VARIANTS, Variant
from torchfuzz.generator.case import generate_case
from torchfuzz.generator.options import GeneratorOptions

INDUCTOR = BUILTIN_VARIANTS["inductor"]
CONFIGS = {"inductor": torch._inductor.config, "dynamo": torch._dynamo.config}


@pytest.mark.parametrize("dimension", default_space().dimensions, ids=lambda d: d.key)
def test_each_builtin_dimension_is_a_key_of_the_installed_torch(dimension):
    default = getattr(CONFIGS[dimension.section], dimension.option)
    assert dimension.default == default
    assert all(type(value) is type(default) for value in dimension.values)
    assert len(dimension.values) > 1 and default in dimension.values


def test_the_builtin_space_is_the_declared_one():
    assert [d.key for d in default_space().dimensions] == [k for k, _ in DEFAULT_DIMENSIONS]


def test_a_seed_always_gets_the_same_configuration():
    space = default_space()
    first = [space.sample(INDUCTOR, seed) for seed in range(20)]
    assert first == [default_space().sample(INDUCTOR, seed) for seed in range(20)]
    # pinned: a change to the draws changes what every seed of a campaign runs
    assert first[0].name == "inductor[freezing;layout_optimization=false]"
    assert dict(first[0].inductor_config) == {
        **dict(INDUCTOR.inductor_config),
        "freezing": True,
        "layout_optimization": False,
    }


def test_seeds_cover_the_space():
    space = default_space()
    seen = collections.defaultdict(set)
    names = set()
    for seed in range(200):
        variant = space.sample(INDUCTOR, seed)
        names.add(variant.name)
        patches = dict(variant.inductor_config)
        for dim in space.dimensions:
            seen[dim.key].add(patches.get(dim.option, dim.default))
    assert all(seen[d.key] == set(d.values) for d in space.dimensions), seen
    assert "inductor" in names and len(names) > 60  # unchanged sometimes; mostly distinct


def test_variants_draw_apart_and_only_those_that_read_inductor_config():
    space = default_space()
    export, eager = BUILTIN_VARIANTS["export"], BUILTIN_VARIANTS["aot_eager"]
    custom = INDUCTOR.with_backend("tests._bugs:crash_on_mm")
    for seed in range(10):
        first, dynamic, aoti, same_eager, same_export, wrapped = sample_variants(
            [INDUCTOR, BUILTIN_VARIANTS["inductor_dynamic"], BUILTIN_VARIANTS["aoti"]]
            + [eager, export, custom],
            space,
            seed,
        )
        assert same_eager is eager and same_export is export
        assert wrapped.backend == custom.backend and wrapped.name.startswith("inductor")
    assert sample_variants([INDUCTOR], None, 3) == (INDUCTOR,)
    by_variant = {
        name: [space.sample(BUILTIN_VARIANTS[name], s).name for s in range(10)]
        for name in ("inductor", "inductor_dynamic")
    }
    assert [n.removeprefix("inductor") for n in by_variant["inductor"]] != [
        n.removeprefix("inductor_dynamic") for n in by_variant["inductor_dynamic"]
    ]


def test_a_variants_own_patch_wins():
    own = parse_variant("inductor,inductor.cpp_wrapper=true")
    for seed in range(30):
        sampled = default_space().sample(own, seed)
        assert dict(sampled.inductor_config)["cpp_wrapper"] is True
        assert "cpp_wrapper" not in sampled.name.removeprefix(own.name)


def test_a_sampled_variant_round_trips_and_names_what_it_changes():
    space = ConfigSpace(
        (
            Dimension.declare("inductor.split_reductions", [True, False]),
            Dimension.declare("dynamo.specialize_float", [False, True]),
            Dimension.declare("inductor.max_fusion_size", [64, 8]),
        ),
        keep=0.0,
    )
    sampled = space.sample(INDUCTOR, 0)
    assert (
        sampled.name == "inductor[split_reductions=false;dynamo.specialize_float;max_fusion_size=8]"
    )
    assert dict(sampled.dynamo_config) == {"specialize_float": True}
    assert Variant.from_dict(sampled.to_dict()) == sampled
    assert parse_variant(variant_spec(sampled)) == sampled
    assert ConfigSpace.from_dict(space.to_dict()) == space


def test_nothing_changed_is_the_variant_itself():
    only_defaults = ConfigSpace((Dimension.declare("inductor.freezing", [False]),), keep=0.0)
    assert only_defaults.sample(INDUCTOR, 1) is INDUCTOR


def test_a_space_file_with_quoted_and_nested_keys(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(
        'keep = 0.25\n[space]\n"inductor.cpp_wrapper" = [false, true]\n'
        "dynamo.specialize_float = [true]\n[space.inductor.cpp]\nsimdlen = [256, 512]\n"
    )
    space = load_space(path)
    assert space.keep == 0.25
    assert [(d.key, d.values) for d in space.dimensions] == [
        ("inductor.cpp_wrapper", (False, True)),
        ("dynamo.specialize_float", (True,)),
        ("inductor.cpp.simdlen", (256, 512)),
    ]


@pytest.mark.parametrize(
    "text,message",
    [
        ("[space", "not TOML"),
        ("keep = 0.5\n", "no \\[space\\] table"),
        ('[space]\n"inductor.no_such" = [1]\n', "has no option 'no_such'"),
        ('[space]\n"inductor.cpp_wrapper" = [3]\n', "takes a bool"),
        ('[space]\n"inductor.cpp_wrapper" = true\n', "takes a list of values"),
        ('[space]\n"inductor.cpp_wrapper" = []\n', "at least one value"),
        ('[space]\n"triton.x" = [1]\n', "config keys are dynamo.* or inductor.*"),
        ('keep = 1.5\n[space]\n"inductor.freezing" = [true]\n', "keep is a probability"),
        ('colour = 1\n[space]\n"inductor.freezing" = [true]\n', "unknown keys"),
    ],
)
def test_bad_space_files_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "space.toml"
    path.write_text(text)
    with pytest.raises(ConfigSpaceError, match=message):
        load_space(path)


def test_a_bad_space_file_is_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "space.toml"
    path.write_text('[space]\n"inductor.cpp_wrapper" = ["yes"]\n')
    argv = ["fuzz", "--seeds", "0:1", "--out", str(tmp_path / "out"), "--sample-configs"]
    code, out, err = run_cli(capsys, *argv, str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "takes a bool" in err, err
    code, _, err = run_cli(capsys, *argv, str(tmp_path / "missing.toml"))
    assert code == 2 and err.count("\n") == 1 and "cannot read" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.inductor
def test_inductor_compiles_with_every_builtin_patch_at_once():
    everything = dataclasses.replace(default_space(), keep=0.0)
    (variant,) = resolve_variants(["inductor"], None)
    sampled = everything.sample(variant, 0)
    assert {d.option for d in everything.dimensions} <= dict(sampled.inductor_config).keys()
    options = GeneratorOptions(num_nodes=8, dtypes=(torch.float32,), ops=CORE_OPS)
    case = generate_case(21, options)  # matmul (GEMM autotuning), mean (a reduction)
    outcome = check(case.graph, case.seed, [sampled])
    assert outcome.kind.value == "ok", outcome.summary()

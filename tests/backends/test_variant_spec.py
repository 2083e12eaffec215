"""Variant specs: presets, field overrides, config patches, TOML files, and their round trips."""

from __future__ import annotations

import pytest

from tests._cli import run_cli
from torchfuzz.backends.runner import resolve_variants
from torchfuzz.backends.variant_spec import (
    VariantSpecError,
    load_variants,
    parse_variant,
    variant_spec,
)
from torchfuzz.backends.variants import BUILTIN_VARIANTS, Variant

SPECS = [
    "aot_eager,fullgraph=true",
    "inductor,dynamic=none,fullgraph=true,inductor.cpp_wrapper=true",
    "inductor,mode=max-autotune-no-cudagraphs",
    "eager,dynamo.capture_scalar_outputs=true,name=cap",
    "inductor_dynamic,fullgraph=true",
    "aot_eager,backward=true,mark_dynamic=true",
    "tests._bugs:crash_on_mm,recompile=true,dynamic=none",
]


@pytest.mark.parametrize("name", sorted(BUILTIN_VARIANTS))
def test_a_preset_name_is_the_preset(name):
    assert parse_variant(name) is BUILTIN_VARIANTS[name]
    assert variant_spec(BUILTIN_VARIANTS[name]) == name


@pytest.mark.parametrize("spec", SPECS)
def test_specs_round_trip_through_text_and_dicts(spec):
    variant = parse_variant(spec)
    assert parse_variant(variant_spec(variant)) == variant
    assert Variant.from_dict(variant.to_dict()) == variant


def test_overrides_keep_the_presets_other_fields():
    variant = parse_variant("inductor , fullgraph=True, inductor.cpp_wrapper=true")
    preset = BUILTIN_VARIANTS["inductor"]
    assert variant.fullgraph and variant.backend == "inductor"
    assert dict(variant.inductor_config) == {**dict(preset.inductor_config), "cpp_wrapper": True}
    assert variant.name == "inductor,fullgraph=true,inductor.cpp_wrapper=true"  # canonical


def test_a_plain_backend_gets_default_fields():
    variant = parse_variant("tests._bugs:crash_on_mm,dynamic=true")
    assert variant.backend == "tests._bugs:crash_on_mm" and variant.dynamic is True
    assert variant.inductor_config == () and not variant.fullgraph


def test_mode_reaches_torch_compile():
    assert parse_variant("inductor,mode=reduce-overhead").mode == "reduce-overhead"
    assert parse_variant("inductor").mode is None
    old = {k: v for k, v in BUILTIN_VARIANTS["eager"].to_dict().items() if k != "mode"}
    assert Variant.from_dict(old).mode is None  # stores written before mode existed


@pytest.mark.parametrize(
    "spec,message",
    [
        ("nope", "unknown backend 'nope'"),
        ("inductor,fullgraph=maybe", "fullgraph is true or false"),
        ("inductor,dynamic=2", "dynamic is true, false or none"),
        ("inductor,inductor.no_such_option=1", "has no option 'no_such_option'"),
        ("inductor,inductor.cpp_wrapper=3", "takes a bool"),
        ("inductor,triton.x=1", "config keys are dynamo.* or inductor.*"),
        ("inductor,colour=red", "unknown field 'colour'"),
        ("inductor,fullgraph", "is not field=value"),
        ("fullgraph=true", "start with a preset or a backend"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec, message):
    with pytest.raises(VariantSpecError, match=message):
        parse_variant(spec)


def test_a_toml_file_of_variants(tmp_path):
    path = tmp_path / "variants.toml"
    path.write_text(
        '[[variant]]\npreset = "inductor"\nfullgraph = true\n'
        "[variant.inductor]\ncpp_wrapper = true\n\n"
        '[[variant]]\nbackend = "aot_eager"\ndynamic = true\nname = "aot_dyn"\n'
        "[variant.dynamo]\ncapture_scalar_outputs = true\n"
    )
    first, second = load_variants(path)
    assert first == parse_variant("inductor,fullgraph=true,inductor.cpp_wrapper=true")
    assert second == parse_variant(
        "aot_eager,dynamic=true,dynamo.capture_scalar_outputs=true,name=aot_dyn"
    )
    assert resolve_variants([str(path), "eager"], None) == (
        first,
        second,
        BUILTIN_VARIANTS["eager"],
    )


@pytest.mark.parametrize(
    "text,message",
    [("[[variant]]\nfullgraph = true\n", "names no preset or backend"), ("x = [", "not TOML")],
)
def test_bad_toml_files(tmp_path, text, message):
    path = tmp_path / "v.toml"
    path.write_text(text)
    with pytest.raises(VariantSpecError, match=message):
        load_variants(path)


def test_a_spec_on_the_command_line_is_checked_under_its_name(capsys):
    code, out, _ = run_cli(
        capsys, "run", "--seed", "2", "--variants", "eager", "aot_eager,fullgraph=true"
    )
    assert code == 0 and "aot_eager,fullgraph=true" in out


@pytest.mark.parametrize(
    "variants",
    [["inductor,fullgraph=maybe"], ["inductor,inductor.nope=1"], ["missing.toml"]],
)
def test_bad_specs_on_the_command_line_are_one_line_and_exit_2(capsys, variants):
    code, _, err = run_cli(capsys, "run", "--seed", "1", "--variants", *variants)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.slow
def test_a_script_compiles_under_the_spec_it_was_written_with(tmp_path):
    """The script carries the variant (mode and patches included) and compiles under it."""
    import subprocess
    import sys

    from torchfuzz.backends.python import to_python
    from torchfuzz.generator.generate import generate

    variant = parse_variant("aot_eager,fullgraph=true,mode=default,dynamo.cache_size_limit=4")
    script = tmp_path / "script.py"
    script.write_text(to_python(generate(2), 2, [variant]))
    assert repr(variant.to_dict()) in script.read_text()
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert f"{variant.name}: ok" in proc.stdout

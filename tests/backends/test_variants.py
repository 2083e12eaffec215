"""Tests for torchfuzz.backends.variants (eager / aot_eager / test backends only)."""

from __future__ import annotations

import json

import pytest
import torch

from tests.backends import _backends
from torchfuzz.backends.oracle import compare_outputs
from torchfuzz.backends.outcome import MismatchKind, Stage
from torchfuzz.backends.variants import (
    BUILTIN_VARIANTS,
    DEFAULT_VARIANTS,
    UnknownBackendError,
    UnknownVariantError,
    Variant,
    get_variant,
    resolve_backend,
    run_compiled,
)

SPEC = "tests.backends._backends:"


def program(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.sin(x) * y + 1, (x @ y.t()).relu()


def program_with_graph_break(x: torch.Tensor) -> torch.Tensor:
    y = x + 1
    torch._dynamo.graph_break()
    return y * 2


def _inputs() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [torch.randn(4, 8, generator=g), torch.randn(4, 8, generator=g)]


# --- variants --------------------------------------------------------------------


def test_builtin_variants() -> None:
    assert set(DEFAULT_VARIANTS) <= set(BUILTIN_VARIANTS)
    assert {"eager", "aot_eager"} <= set(BUILTIN_VARIANTS)
    for name, variant in BUILTIN_VARIANTS.items():
        assert variant.name == name
    assert get_variant("inductor") == Variant(
        "inductor",
        "inductor",
        dynamic=False,
        fullgraph=False,
        inductor_config=(("emulate_precision_casts", True),),
    )
    for name in DEFAULT_VARIANTS:  # Inductor rounds low-precision intermediates like eager
        assert dict(get_variant(name).inductor_config)["emulate_precision_casts"] is True
    assert get_variant("inductor_dynamic").dynamic is True
    capture = get_variant("inductor_dynamic_capture")
    assert capture.dynamic is True
    assert dict(capture.dynamo_config) == {
        "capture_scalar_outputs": True,
        "capture_dynamic_output_shape_ops": True,
    }
    with pytest.raises(TypeError):
        BUILTIN_VARIANTS["mine"] = capture  # type: ignore[index]


def test_unknown_variant_lists_known_names() -> None:
    with pytest.raises(UnknownVariantError, match="inductor_dynamic") as info:
        get_variant("nope")
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, KeyError)


def test_with_backend_replaces_only_inductor() -> None:
    for variant in BUILTIN_VARIANTS.values():
        replaced = variant.with_backend("aot_eager")
        if variant.backend == "inductor":
            assert replaced.backend == "aot_eager"
            assert (replaced.name, replaced.dynamic, replaced.dynamo_config) == (
                variant.name,
                variant.dynamic,
                variant.dynamo_config,
            )
        else:
            assert replaced == variant


def test_variant_dict_round_trip() -> None:
    for variant in BUILTIN_VARIANTS.values():
        data = json.loads(json.dumps(variant.to_dict()))
        assert Variant.from_dict(data) == variant


def test_variant_validation() -> None:
    with pytest.raises(ValueError, match="name"):
        Variant("", "eager")
    with pytest.raises(ValueError, match="dynamic"):
        Variant("v", "eager", dynamic=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="duplicate"):
        Variant("v", "eager", dynamo_config=(("a", 1), ("a", 2)))


# --- backends --------------------------------------------------------------------


def test_resolve_backend() -> None:
    assert resolve_backend("eager") == "eager"
    assert resolve_backend("aot_eager") == "aot_eager"
    assert resolve_backend("inductor") == "inductor"
    assert resolve_backend(SPEC + "broken_backend") is _backends.broken_backend


@pytest.mark.parametrize(
    "spec",
    [
        "no_such_backend",
        "no_such_module_xyz:fn",
        SPEC + "missing",
        SPEC + "not_callable",
        ":fn",
        "",
    ],
)
def test_resolve_backend_rejects_unknown(spec: str) -> None:
    with pytest.raises(UnknownBackendError) as info:
        resolve_backend(spec)
    assert "\n" not in str(info.value)


# --- running ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["eager", "aot_eager"])
@pytest.mark.parametrize("dynamic", [False, True])
def test_run_compiled_returns_outputs(name: str, dynamic: bool) -> None:
    inputs = _inputs()
    expected = program(*inputs)
    variant = Variant(name, name, dynamic=dynamic)
    outputs, crash = run_compiled(program, [t.clone() for t in inputs], variant)
    assert crash is None
    assert compare_outputs(expected, outputs, None) == ()


def test_run_compiled_module_and_config_patch() -> None:
    model = torch.nn.Linear(8, 3)
    x = _inputs()[0]
    variant = Variant("capture", "aot_eager", dynamo_config=(("capture_scalar_outputs", True),))
    outputs, crash = run_compiled(model, [x], variant)
    assert crash is None
    torch.testing.assert_close(outputs, model(x))
    assert not torch._dynamo.config.capture_scalar_outputs


def test_unknown_config_key_is_a_fuzzer_error_not_a_crash() -> None:
    with pytest.raises(AttributeError):
        run_compiled(
            program,
            _inputs(),
            Variant("bad", "eager", dynamo_config=(("no_such_option", 1),)),
        )


def test_wrong_backend_output_is_a_mismatch() -> None:
    inputs = _inputs()
    outputs, crash = run_compiled(program, inputs, Variant("off", SPEC + "off_by_backend"))
    assert crash is None
    reference = program(*[t.double() for t in inputs])
    mismatches = compare_outputs(program(*inputs), outputs, reference)
    assert [m.kind for m in mismatches] == [MismatchKind.VALUE, MismatchKind.VALUE]


@pytest.mark.parametrize(
    ("backend", "fullgraph", "stage", "exc_type", "fragment"),
    [
        (
            SPEC + "broken_backend",
            False,
            Stage.BACKEND,
            "RuntimeError",
            "refuses to compile",
        ),
        (
            SPEC + "runtime_broken_backend",
            False,
            Stage.RUN,
            "ValueError",
            "fails at run time",
        ),
        ("eager", True, Stage.DYNAMO, "torch._dynamo.exc.Unsupported", "graph_break"),
        # The forward compiler handed to AOT autograd is the backend's code.
        (
            SPEC + "aot_broken_fw_compiler",
            False,
            Stage.BACKEND,
            "RuntimeError",
            "forward compiler failed",
        ),
        # AOT autograd's own code raises.
        (SPEC + "aot_broken_internals", False, Stage.AOT, "TypeError", "not a mapping"),
    ],
)
def test_crash_stage_classification(
    backend: str, fullgraph: bool, stage: Stage, exc_type: str, fragment: str
) -> None:
    variant = Variant("v", backend, fullgraph=fullgraph)
    outputs, crash = run_compiled(program_with_graph_break, [torch.ones(3)], variant)
    assert outputs is None
    assert crash is not None
    assert (crash.stage, crash.exc_type) == (stage, exc_type)
    assert fragment in crash.message
    assert "Traceback" in crash.traceback
    assert crash.traceback.count('  File "') <= 30


def test_run_failure_after_a_graph_break_is_run() -> None:
    # The first graph compiles and runs; the failure is in executing compiled code.
    outputs, crash = run_compiled(
        program_with_graph_break,
        [torch.ones(3)],
        Variant("v", SPEC + "runtime_broken_backend"),
    )
    assert outputs is None
    assert crash is not None and crash.stage is Stage.RUN


def test_inputs_are_passed_through_uncloned() -> None:
    def mutate(x: torch.Tensor) -> torch.Tensor:
        x.add_(1)
        return x * 2

    x = torch.zeros(3)
    outputs, crash = run_compiled(mutate, [x], get_variant("aot_eager"))
    assert crash is None
    torch.testing.assert_close(x, torch.ones(3))
    torch.testing.assert_close(outputs, torch.full((3,), 2.0))

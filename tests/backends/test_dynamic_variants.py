"""mark_dynamic and recompile variants: marked dims reach the compiler symbolically, a
program that specializes one is skipped, and a second call on new sizes is judged."""

import json
import runpy

import torch

from tests.backends import _backends
from tests.passes._build import node, tensor
from torchfuzz.backends.outcome import MismatchKind, OutcomeKind
from torchfuzz.backends.python import to_python
from torchfuzz.backends.repro import to_repro
from torchfuzz.backends.runner import check, resolve_variants
from torchfuzz.backends.signature import failure_signature
from torchfuzz.backends.variants import BUILTIN_VARIANTS, DEFAULT_VARIANTS, Variant
from torchfuzz.ir.graph import Graph

SPEC = "tests.backends._backends:"
F32 = torch.float32


def _broadcasting() -> Graph:
    g = Graph()
    x0, x1 = tensor(g, (3, 4), F32), tensor(g, (4,), F32)
    g.set_outputs([node(g, "add", [x0, x1])])
    return g


def test_new_variants_are_builtin_but_not_default_and_round_trip() -> None:
    for name in ("inductor_mark_dynamic", "aot_eager_mark_dynamic"):
        assert BUILTIN_VARIANTS[name].mark_dynamic and not BUILTIN_VARIANTS[name].recompile
    for name in ("inductor_recompile", "aot_eager_recompile"):
        variant = BUILTIN_VARIANTS[name]
        assert variant.recompile and variant.dynamic is None  # automatic dynamic
    assert not {"inductor_mark_dynamic", "inductor_recompile"} & set(DEFAULT_VARIANTS)
    for variant in BUILTIN_VARIANTS.values():
        assert Variant.from_dict(json.loads(json.dumps(variant.to_dict()))) == variant
    old = {"name": "v", "backend": "aot_eager", "dynamic": False, "backward": False}
    assert Variant.from_dict(old) == Variant("v", "aot_eager")  # case files from before


def test_marked_dims_reach_the_backend_as_symbols() -> None:
    _backends.SEEN_GRAPHS.clear()
    variant = Variant("mark", SPEC + "recording_backend", mark_dynamic=True)
    outcome = check(_broadcasting(), 0, [variant])
    assert outcome.kind is OutcomeKind.OK, outcome.summary()
    (gm,) = _backends.SEEN_GRAPHS
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    symbols = [n for n in placeholders if isinstance(n.meta.get("example_value"), torch.SymInt)]
    assert len(symbols) == 1  # one size marked in both inputs: one symbol


def test_a_program_that_specializes_the_marked_dim_is_skipped() -> None:
    g = Graph()
    x0 = tensor(g, (3, 4), F32)
    g.set_outputs([node(g, "neg", [node(g, "view", [x0], (("size", (12,)),))])])
    outcome = check(g, 0, resolve_variants(["aot_eager_mark_dynamic", "aot_eager"], None))
    marked, plain = outcome.results
    assert marked.kind is OutcomeKind.SKIPPED and "specializes a marked dim" in marked.reason
    assert plain.kind is OutcomeKind.OK


def test_recompile_runs_both_calls_and_catches_a_stale_guard() -> None:
    g = _broadcasting()
    assert check(g, 0, resolve_variants(["aot_eager_recompile"], None)).kind is OutcomeKind.OK
    stale = resolve_variants(["inductor_recompile"], SPEC + "stale_recompile_backend")
    outcome = check(g, 0, stale)
    assert outcome.kind is OutcomeKind.MISMATCH
    (mismatch,) = outcome.failing[0].mismatches
    assert mismatch.second_call and mismatch.kind is MismatchKind.SHAPE
    assert failure_signature(outcome).parts == ("shape", "second call")
    # the static variant of the same backend never calls twice: no finding
    static = resolve_variants(["inductor"], SPEC + "stale_recompile_backend")
    assert check(g, 0, static).kind is OutcomeKind.OK


def test_a_program_that_cannot_grow_skips_the_recompile_variant() -> None:
    g = Graph()
    g.set_outputs([node(g, "neg", [tensor(g, (1, 1), F32)])])
    variants = resolve_variants(["aot_eager_recompile", "aot_eager_mark_dynamic"], None)
    recompile, marked = check(g, 0, variants).results
    assert recompile.kind is OutcomeKind.SKIPPED and "not resizable" in recompile.reason
    assert marked.kind is OutcomeKind.SKIPPED and "to mark dynamic" in marked.reason


def _exit_code(script: str, tmp_path) -> int:
    path = tmp_path / "script.py"
    path.write_text(script)
    return runpy.run_path(str(path), run_name="script")["main"]()


def test_scripts_reproduce_the_second_call_and_the_marks(tmp_path) -> None:
    g = _broadcasting()
    stale = resolve_variants(["inductor_recompile"], SPEC + "stale_recompile_backend")
    fine = resolve_variants(["aot_eager_recompile", "aot_eager_mark_dynamic"], None)
    assert _exit_code(to_python(g, 0, fine), tmp_path) == 0
    assert _exit_code(to_python(g, 0, stale), tmp_path) == 1
    assert _exit_code(to_repro(g, 0, stale[0]), tmp_path) == 1
    _backends.SEEN_GRAPHS.clear()
    marked = Variant("mark", SPEC + "recording_backend", mark_dynamic=True)
    assert _exit_code(to_repro(g, 0, marked), tmp_path) == 0
    (gm,) = _backends.SEEN_GRAPHS
    assert any(
        isinstance(n.meta.get("example_value"), torch.SymInt)
        for n in gm.graph.nodes
        if n.op == "placeholder"
    )

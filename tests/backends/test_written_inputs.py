"""Inputs a program writes in place are compared after the call, in every evaluation."""

import runpy

import pytest
import torch

from torchfuzz.backends.outcome import Mismatch, MismatchKind, OutcomeKind
from torchfuzz.backends.python import to_python
from torchfuzz.backends.repro import to_repro
from torchfuzz.backends.runner import check, resolve_variants, run_eager, run_reference
from torchfuzz.backends.signature import failure_signature
from torchfuzz.ir.catalogue import CATALOGUE
from torchfuzz.ir.fast_infer import infer_spec
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.ops.base import OpDef
from torchfuzz.ir.types import TensorSpec

SPEC = "tests.backends._backends:"
# An in-place op of our own, so these tests do not depend on the catalogue's.
ADD_ = OpDef("add_", torch.ops.aten.add_.Tensor, "test", lambda sampler, want: None, mutates=0)


def _writing_graph(dtype: torch.dtype = torch.float32) -> Graph:
    """x0[3,4] += x1[4], then neg of it: x0 is written, the output reads the write."""
    g = Graph()
    x0 = g.add_input(TensorSpec.contiguous((3, 4), dtype))
    x1 = g.add_input(TensorSpec.contiguous((4,), dtype))
    written = g.add_node(ADD_, [x0, x1], {}, infer_spec(ADD_, [g.spec(x0), g.spec(x1)], {}))
    neg = CATALOGUE.get("neg")
    g.set_outputs([g.add_node(neg, [written], {}, infer_spec(neg, [g.spec(written)], {}))])
    return g


def test_evaluations_end_with_the_written_inputs() -> None:
    g = _writing_graph()
    assert g.mutated_inputs() == ("x0",)
    (out, x0) = run_eager(g, 0)
    torch.testing.assert_close(x0, -out)  # x0 after the call is x0 + x1
    ref_out, ref_x0 = run_reference(g, 0)
    assert ref_x0.dtype == torch.float64
    torch.testing.assert_close(ref_x0, x0.double())


def test_correct_backends_agree_on_the_written_input() -> None:
    outcome = check(
        _writing_graph(), 0, resolve_variants(["eager", "aot_eager", "aot_eager_recompile"], None)
    )
    assert [r.kind for r in outcome.results] == [OutcomeKind.OK] * 3, outcome.summary()


def test_a_lost_input_mutation_is_a_mismatch_on_that_input() -> None:
    variants = resolve_variants(["inductor"], SPEC + "mutation_lost_backend")
    outcome = check(_writing_graph(), 0, variants)
    assert outcome.kind is OutcomeKind.MISMATCH
    (mismatch,) = outcome.failing[0].mismatches  # the output itself is right
    assert (mismatch.written_input, mismatch.output_index) == ("x0", 1)
    assert mismatch.kind is MismatchKind.VALUE and not mismatch.gradient_of
    assert mismatch.summary().startswith("x0 after the call (output 1) value")
    signature = failure_signature(outcome)
    assert signature.parts == ("value", "written input")


def test_mismatch_json_keeps_the_new_fields_and_reads_old_ones() -> None:
    m = Mismatch(1, MismatchKind.VALUE, "d", written_input="x0", second_call=True)
    assert Mismatch.from_dict(m.to_dict()) == m
    old = {"output_index": 0, "kind": "value", "detail": "d", "gradient_of": ""}
    assert Mismatch.from_dict(old) == Mismatch(0, MismatchKind.VALUE, "d")
    with pytest.raises(ValueError, match="not both"):
        Mismatch(0, MismatchKind.VALUE, "d", gradient_of="x0", written_input="x0")


def _exit_code(script: str, tmp_path) -> int:
    path = tmp_path / "script.py"
    path.write_text(script)
    return runpy.run_path(str(path), run_name="script")["main"]()


def test_scripts_compare_the_written_inputs(tmp_path) -> None:
    g = _writing_graph()
    lost = resolve_variants(["inductor"], SPEC + "mutation_lost_backend")
    assert _exit_code(to_python(g, 0, resolve_variants(["aot_eager"], None)), tmp_path) == 0
    assert _exit_code(to_python(g, 0, lost), tmp_path) == 1
    assert _exit_code(to_repro(g, 0, resolve_variants(["aot_eager"], None)[0]), tmp_path) == 0
    assert _exit_code(to_repro(g, 0, lost[0]), tmp_path) == 1

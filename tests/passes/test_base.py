"""Pass protocol, PassError formatting and the Pipeline's failure reporting."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field
from typing import ClassVar

import pytest
import torch

from torchfuzz.ir.graph import Graph
from torchfuzz.passes import (
    DeadCodeElimination,
    ObserveValues,
    Pass,
    PassError,
    PassResult,
    Pipeline,
    PipelineError,
    TypePromotion,
    Validate,
    ValidationError,
    default_pipeline,
    verify,
)

from ._build import node, tensor
from ._eval import assert_same_semantics

F32, F16, I32 = torch.float32, torch.float16, torch.int32


def needs_promotion_and_dce(dead: bool = True) -> Graph:
    g = Graph()
    x, y = tensor(g, (2, 3), I32), tensor(g, (3,), F16)
    v = node(g, "add", [x, y], dtype=I32)
    if dead:
        node(g, "sin", [x])
    g.set_outputs([node(g, "mul", [v, x])])
    return g


@dataclass(frozen=True)
class Record(Pass):
    """Appends its tag to a shared log and returns a copy."""

    name: ClassVar[str] = "record"
    tag: str = ""
    log: list = field(default_factory=list, compare=False)

    def run(self, graph: Graph) -> PassResult:
        self.log.append(self.tag)
        return PassResult(graph.copy(), modified=False)


@dataclass(frozen=True)
class Explode(Pass):
    name: ClassVar[str] = "explode"

    def run(self, graph: Graph) -> PassResult:
        raise ValueError("boom")


@dataclass(frozen=True)
class AddDeadNode(Pass):
    """A buggy pass: leaves a node that reaches no output."""

    name: ClassVar[str] = "add-dead-node"

    def run(self, graph: Graph) -> PassResult:
        out = graph.copy()
        node(out, "neg", [out.inputs[0].name])
        return PassResult(out, modified=True)


def test_pass_result_is_frozen():
    result = PassResult(Graph(), modified=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.modified = True  # type: ignore[misc]


def test_pass_is_a_named_callable_with_options_as_fields():
    p = DeadCodeElimination(remove_unused_inputs=True)
    assert p.name == "dead-code-elimination"
    assert [f.name for f in dataclasses.fields(p)] == ["remove_unused_inputs"]
    g = needs_promotion_and_dce()
    assert p(g) == p.run(g)


def test_pass_error_names_pass_node_rule_and_graph():
    g = needs_promotion_and_dce()
    err = PassError("some-pass", "a rule was broken", g.text(), node="v2")
    text = str(err)
    assert text.startswith("[some-pass] node v2: a rule was broken\n")
    assert "  v2: i32[2,3] = add(x0, x1)    # <-- v2" in text
    assert pickle.loads(pickle.dumps(err)).rule == "a rule was broken"


def test_pipeline_runs_passes_in_order():
    log: list[str] = []
    pipeline = Pipeline(
        [Record(tag="a", log=log), Record(tag="b", log=log), Record(tag="c", log=log)]
    )
    pipeline.run(needs_promotion_and_dce())
    assert log == ["a", "b", "c"]


def test_pipeline_reports_the_failing_pass():
    g = needs_promotion_and_dce()
    with pytest.raises(PipelineError) as info:
        Pipeline([Record(), Explode(), Record()]).run(g)
    err = info.value
    assert err.pass_name == "explode"
    assert str(err).startswith("[explode] pass raised: ValueError: boom")
    assert isinstance(err.__cause__, ValueError) and err.error is err.__cause__
    assert pickle.loads(pickle.dumps(err)).pass_name == "explode"


def test_pipeline_reports_a_failing_validate_with_its_rule_and_node():
    g = needs_promotion_and_dce(dead=False)
    with pytest.raises(PipelineError) as info:
        Pipeline([Validate()]).run(g)
    err = info.value
    assert err.pass_name == "validate"
    assert isinstance(err.error, ValidationError)
    assert err.node == "v2"
    assert "declared dtype int32 but PyTorch computes float16" in str(err)


def test_verify_each_blames_the_pass_whose_output_is_invalid():
    g = needs_promotion_and_dce(dead=False)
    passes = [TypePromotion(), DeadCodeElimination(), AddDeadNode(), Record()]
    Pipeline(passes).run(g)  # without verification the bug goes unnoticed
    with pytest.raises(PipelineError) as info:
        Pipeline(passes, verify_each=verify).run(g)
    err = info.value
    assert err.pass_name == "add-dead-node"
    assert "output failed verification" in err.rule
    assert "does not reach any output" in str(err)


def test_verify_each_is_strict_about_dead_code_between_passes():
    # TypePromotion keeps dead code, so its output fails verification before DCE runs.
    with pytest.raises(PipelineError, match=r"^\[type-promotion\] output failed verification"):
        Pipeline([TypePromotion(), DeadCodeElimination()], verify_each=verify).run(
            needs_promotion_and_dce()
        )


def test_default_pipeline():
    g = needs_promotion_and_dce()
    text = g.text()
    pipeline = default_pipeline()
    assert [type(p) for p in pipeline.passes] == [
        TypePromotion,
        DeadCodeElimination,
        ObserveValues,
        Validate,
    ]
    assert ObserveValues not in [type(p) for p in default_pipeline(observe=False).passes]
    out = pipeline.run(g)
    assert g.text() == text
    verify(out)
    # add's float16 value and its rounding, which the cast to int32 loses, are outputs too
    assert len(out.outputs) == 3
    out.set_outputs(out.outputs[:1])
    # add's float16 result is rounded and cast back to int32; the dead sin is gone
    assert [n.op.name for n in out.nodes] == ["add", "round", "cast", "mul"]
    assert_same_semantics(g, out)

import json
from pathlib import Path

import pytest
import torch

from torchfuzz.generator.generate import generate
from torchfuzz.ir.catalogue import UnknownOpError
from torchfuzz.ir.serialize import (
    Case,
    CaseFormatError,
    attr_from_json,
    attr_to_json,
    graph_from_dict,
    graph_to_dict,
)
from torchfuzz.passes.validate import verify


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(40))
def test_graph_json_round_trip_is_identity(seed):
    graph = generate(seed)
    case = Case(graph, seed, {"num_nodes": 10}, {"torch": torch.__version__})
    text = case.to_json()
    again = Case.from_json(text)
    assert again.graph == graph
    assert again.graph.text() == graph.text()
    assert again.to_json() == text
    assert (again.seed, again.options, again.versions) == (seed, case.options, case.versions)


def test_attr_encoding_keeps_types():
    for value in [None, True, 3, 2.5, "tanh", torch.float16, (0, -1), ((1, 2), torch.int8), ()]:
        decoded = attr_from_json(json.loads(json.dumps(attr_to_json(value))))
        assert decoded == value and type(decoded) is type(value)


def test_malformed_cases_raise_format_error():
    for text in [
        "not json",
        "[]",
        '{"format": "other"}',
        '{"format": "torchfuzz-case", "version": 99}',
    ]:
        with pytest.raises(CaseFormatError):
            Case.from_json(text)
    data = json.loads(Case(generate(0), 0).to_json())
    data["graph"]["nodes"][0]["inputs"] = ["undefined_value"]
    with pytest.raises(CaseFormatError):
        Case.from_json(json.dumps(data))


def test_unknown_op_raises_unknown_op_error():
    data = graph_to_dict(generate(0))
    data["nodes"][0]["op"] = "no_such_op"
    with pytest.raises(UnknownOpError, match="no_such_op"):
        graph_from_dict(data)


FINDINGS = sorted((Path(__file__).resolve().parents[2] / "examples" / "findings").glob("*.json"))


@pytest.mark.parametrize("path", FINDINGS, ids=lambda p: p.stem)
def test_kept_findings_still_load_and_verify(path):
    case = Case.from_json(path.read_text())
    verify(case.graph)
    assert case.versions["torch"].startswith("2.13")


def test_there_are_kept_findings():
    assert len(FINDINGS) >= 4


def test_literal_inputs_and_keys_round_trip():
    from torchfuzz.ir.graph import Graph
    from torchfuzz.ir.types import ScalarSpec, TensorSpec

    g = Graph()
    a = g.add_input(TensorSpec((2, 2), (1, 2), torch.float16), data=(1.5, -0.25, 0.0, 2.0))
    b = g.add_input(ScalarSpec(torch.int64), key=7, data=(3,))
    g.set_outputs([a, b])
    again = Case.from_json(Case(g, 0).to_json()).graph
    assert again == g
    assert again.value(a).data == (1.5, -0.25, 0.0, 2.0) and again.value(b).key == 7
    assert "= [1.5, -0.25, 0.0, 2.0]" in g.text()


def test_storage_offsets_round_trip_and_old_cases_read_without_them():
    from torchfuzz.ir.graph import Graph
    from torchfuzz.ir.serialize import spec_from_dict, spec_to_dict
    from torchfuzz.ir.types import TensorSpec

    g = Graph()
    a = g.add_input(TensorSpec((2, 3), (0, 1), torch.uint8, 17))
    b = g.add_input(TensorSpec((0, 3), (3, 1), torch.int8, 2), data=())
    g.set_outputs([a, b])
    text = Case(g, 0).to_json()
    again = Case.from_json(text).graph
    assert again == g and again.text() == g.text() and "u8[2,3]{0,1}+17" in g.text()
    assert Case(again, 0).to_json() == text
    plain = TensorSpec.contiguous((2, 3), torch.float32)
    assert "offset" not in spec_to_dict(plain)  # offset-free cases read exactly as before
    assert spec_from_dict({"kind": "tensor", "shape": [2], "stride": [1], "dtype": "int16"}) == (
        TensorSpec((2,), (1,), torch.int16)
    )

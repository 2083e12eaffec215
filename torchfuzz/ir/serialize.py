"""The JSON case format: a graph plus the seed, options and versions that produced it.

Loading never uses pickle or eval: every value is decoded by an explicit rule, and
`graph_from_dict(graph_to_dict(g)) == g` for every graph.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import torch

from torchfuzz.ir.catalogue import CATALOGUE, Catalogue, UnknownOpError
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.spellings import ATEN_SURFACE, Surface
from torchfuzz.ir.structure import Structure
from torchfuzz.ir.types import Domain, ScalarSpec, Spec, TensorSpec, dtype_name, parse_dtype
from torchfuzz.ir.write_view import read_attrs, spell_attrs

CASE_FORMAT = "torchfuzz-case"
CASE_VERSION = 1


class CaseFormatError(ValueError):
    """A case file that is not valid JSON of the case format."""


def spec_to_dict(spec: Spec) -> dict[str, Any]:
    if isinstance(spec, TensorSpec):
        return {
            "kind": "tensor",
            "shape": list(spec.shape),
            "stride": list(spec.stride),
            "dtype": dtype_name(spec.dtype),
            # Only inputs built at a storage offset carry it: other cases read as before.
            **({"offset": spec.offset} if spec.offset else {}),
        }
    return {"kind": "scalar", "dtype": dtype_name(spec.dtype)}


def spec_from_dict(data: dict[str, Any]) -> Spec:
    if data["kind"] == "tensor":
        return TensorSpec(
            tuple(data["shape"]),
            tuple(data["stride"]),
            parse_dtype(data["dtype"]),
            data.get("offset", 0),
        )
    if data["kind"] == "scalar":
        return ScalarSpec(parse_dtype(data["dtype"]))
    raise CaseFormatError(f"unknown spec kind {data['kind']!r}")


def attr_to_json(value: Any) -> Any:
    """Attributes hold tuples (never lists) and dtypes; both get an unambiguous encoding."""
    if isinstance(value, torch.dtype):
        return {"dtype": dtype_name(value)}
    if isinstance(value, tuple):
        return [attr_to_json(v) for v in value]
    return value


def attr_from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) != {"dtype"}:
            raise CaseFormatError(f"bad attribute value {value!r}")
        return parse_dtype(value["dtype"])
    if isinstance(value, list):
        return tuple(attr_from_json(v) for v in value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise CaseFormatError(f"bad attribute value {value!r}")


def _literal_to_json(value: bool | int | float | complex) -> Any:
    """A literal input value; JSON has no complex numbers, so a complex one is [re, im]."""
    return [value.real, value.imag] if isinstance(value, complex) else value


def _literal(value: Any) -> bool | int | float | complex:
    if isinstance(value, (bool, int, float)):
        return value
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        return complex(*value)
    raise CaseFormatError(f"bad literal input value {value!r}")


def graph_to_dict(graph: Graph) -> dict[str, Any]:
    return {
        "inputs": [
            {
                "name": i.name,
                "spec": spec_to_dict(i.spec),
                "domain": {"kind": i.domain.kind.value, "bound": i.domain.bound},
                "key": i.key,
                **({} if i.data is None else {"data": [_literal_to_json(v) for v in i.data]}),
            }
            for i in graph.inputs
        ],
        "nodes": [
            {
                "name": n.name,
                "op": n.op.name,
                "inputs": list(n.inputs),
                "attrs": [[k, attr_to_json(v)] for k, v in spell_attrs(n.attrs)],
                "spec": spec_to_dict(n.spec),
            }
            for n in graph.nodes
        ],
        "outputs": list(graph.outputs),
        # Cases written before spellings (and aten ones) have none: they read as aten.
        **({} if graph.surface == ATEN_SURFACE else {"surface": str(graph.surface)}),
        # Cases written before structure (and unstructured ones) have none.
        **({} if graph.structure is Structure.NONE else {"structure": graph.structure.value}),
    }


def graph_from_dict(data: dict[str, Any], catalogue: Catalogue = CATALOGUE) -> Graph:
    """Rebuild a graph; unknown ops raise `UnknownOpError`, malformed data `CaseFormatError`."""
    graph = Graph()
    try:
        for index, i in enumerate(data["inputs"]):
            domain = Domain(i["domain"]["kind"], i["domain"]["bound"])
            values = i.get("data")
            graph.add_input(
                spec_from_dict(i["spec"]),
                domain,
                name=i["name"],
                key=i.get("key", index),
                data=None if values is None else tuple(_literal(v) for v in values),
            )
        for n in data["nodes"]:
            op = catalogue.get(n["op"])
            attrs = read_attrs(tuple((k, attr_from_json(v)) for k, v in n["attrs"]))
            graph.add_node(op, n["inputs"], attrs, spec_from_dict(n["spec"]), name=n["name"])
        graph.set_outputs(data["outputs"])
        if "surface" in data:
            graph.surface = Surface.parse(data["surface"])
        graph.structure = Structure(data.get("structure", Structure.NONE.value))
    except (CaseFormatError, UnknownOpError):
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise CaseFormatError(f"malformed graph: {type(exc).__name__}: {exc}") from exc
    return graph


@dataclass(frozen=True)
class Case:
    """A reproducible program: the graph and everything needed to rebuild its inputs."""

    graph: Graph
    seed: int
    options: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        data = {
            "format": CASE_FORMAT,
            "version": CASE_VERSION,
            "seed": self.seed,
            "options": self.options,
            "versions": self.versions,
            "graph": graph_to_dict(self.graph),
        }
        return json.dumps(data, indent=1, sort_keys=False) + "\n"

    @staticmethod
    def from_json(text: str, catalogue: Catalogue = CATALOGUE) -> Case:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CaseFormatError(f"not JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != CASE_FORMAT:
            raise CaseFormatError(f"not a {CASE_FORMAT} file")
        if data.get("version") != CASE_VERSION:
            raise CaseFormatError(f"unsupported case version {data.get('version')!r}")
        if not isinstance(data.get("seed"), int) or "graph" not in data:
            raise CaseFormatError("a case needs an integer seed and a graph")
        graph = graph_from_dict(data["graph"], catalogue)
        return Case(graph, data["seed"], data.get("options", {}), data.get("versions", {}))

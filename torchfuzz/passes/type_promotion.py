"""Make every node produce its natural dtype, with an explicit cast to the declared one.

The generator declares the dtype it *wants* a node to have; PyTorch decides the dtype the op
really produces. Where they differ, this pass gives the node PyTorch's dtype and inserts a cast
back to the wanted dtype, so every user still sees the value it was built for.

The natural dtype is what ATen computes (FakeTensor propagation), which is the dtype the
lowered program really produces. For elementwise ops `torch._prims_common.elementwise_dtypes`
is evaluated too and any disagreement is logged: it misses, for example, the Python scalar
`min`/`max` of `clamp` (which ATen promotes with, so `clamp(int32, min=0.5)` is float32).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch._prims_common import elementwise_dtypes

from torchfuzz.ir.fast_infer import infer_spec
from torchfuzz.ir.graph import Graph, Node
from torchfuzz.ir.infer import InferenceError, fake_value
from torchfuzz.ir.ops.base import OpDef
from torchfuzz.ir.ops.scalar import conversion
from torchfuzz.ir.types import ScalarSpec, Spec, TensorSpec, dtype_name
from torchfuzz.passes.base import Pass, PassResult

log = logging.getLogger(__name__)


def promoted_dtype(op: OpDef, specs: Sequence[Spec]) -> torch.dtype:
    """The result dtype `elementwise_dtypes` gives an elementwise op on operands of these specs.

    Only the operands named by `op.promote_operands` take part (all when it is None); tensors are
    FakeTensors with the operands' exact specs, Python scalars are sample values of their kind.
    """
    if op.promotion is None:
        raise ValueError(f"op {op.name!r} is not elementwise: it declares no type promotion")
    indices = range(len(specs)) if op.promote_operands is None else op.promote_operands
    operands = [fake_value(specs[i]) for i in indices]
    _, result = elementwise_dtypes(*operands, type_promotion_kind=op.promotion)
    return result


def natural_spec(op: OpDef, specs: Sequence[Spec], attrs: dict[str, Any]) -> Spec:
    """The spec PyTorch gives `op` on these operands: ATen's dtype, shape and stride.

    Python scalar ops, `.item()` and constants use the op's `infer`; everything else runs on
    FakeTensors. For elementwise ops a disagreement with `elementwise_dtypes` is logged (at
    DEBUG level; only then is it computed) and ATen's answer wins, since it is what the
    program computes.
    """
    spec = infer_spec(op, specs, attrs)
    debug = log.isEnabledFor(logging.DEBUG)  # the comparison is only logged
    if debug and op.promotion is not None and isinstance(spec, TensorSpec):
        predicted = promoted_dtype(op, specs)
        if predicted != spec.dtype:
            log.debug(
                "%s(%s) %s: elementwise_dtypes gives %s, ATen computes %s",
                op.name,
                ", ".join(map(str, specs)),
                attrs,
                dtype_name(predicted),
                dtype_name(spec.dtype),
            )
    return spec


@dataclass(frozen=True)
class TypePromotion(Pass):
    """Give each node its natural dtype and cast explicitly to the declared one where they differ.

    Nodes are visited in order, so a node's operands already carry their final specs. Shapes
    are kept; strides of retyped nodes and of inserted casts are PyTorch's.
    """

    name: ClassVar[str] = "type-promotion"

    def run(self, graph: Graph) -> PassResult:
        result = graph.copy()
        modified = False
        for name in [node.name for node in graph.nodes]:
            modified |= self._fix_node(result, result.node(name))
        return PassResult(result, modified)

    def _fix_node(self, graph: Graph, node: Node) -> bool:
        """Retype one node in place (of the pass's private copy); True if it changed."""
        declared = node.spec
        natural = self._natural(graph, node)
        if isinstance(declared, TensorSpec) != isinstance(natural, TensorSpec):
            raise self.error(
                f"declared {declared} but {node.op.name} computes {natural}", graph, node.name
            )
        if natural.dtype == declared.dtype:
            if natural == declared:
                return False
            # Same dtype, other strides: an operand retyped above (its cast has PyTorch's
            # strides) changed how this node lays out its result.
            graph.replace_node(node.name, spec=natural)
            return True
        if isinstance(natural, TensorSpec) and natural.shape != declared.shape:
            raise self.error(
                f"declared shape {declared.shape} but PyTorch computes {natural.shape}",
                graph,
                node.name,
            )
        graph.replace_node(node.name, spec=natural)
        steps = conversion(natural, declared)
        chain: list[str] = []
        previous, spec = node.name, natural
        for index, (op, attrs) in enumerate(steps):
            target = declared if index == len(steps) - 1 else None
            spec = self._step_spec(graph, node.name, op, spec, target, attrs)
            previous = graph.add_node(op, (previous,), attrs, spec, after=previous)
            chain.append(previous)
        graph.replace_all_uses_with(node.name, previous, keep=chain)
        log.debug("%s: %s -> %s, converted by %s", node.name, declared, natural, chain)
        return True

    def _natural(self, graph: Graph, node: Node) -> Spec:
        specs = [graph.spec(arg) for arg in node.inputs]
        try:
            return natural_spec(node.op, specs, node.attr_map)
        except InferenceError as exc:
            raise self.error(f"PyTorch rejects the node: {exc}", graph, node.name) from exc
        except Exception as exc:  # an op's infer rule or elementwise_dtypes rejecting operands
            raise self.error(
                f"cannot compute the result type: {type(exc).__name__}: {exc}", graph, node.name
            ) from exc

    def _step_spec(
        self,
        graph: Graph,
        node: str,
        op: OpDef,
        source: Spec,
        declared: Spec | None,
        attrs: tuple,
    ) -> Spec:
        """The spec of one conversion step: PyTorch's, with the declared dtype at the end."""
        if isinstance(source, ScalarSpec):
            return declared or infer_spec(op, [source], dict(attrs))
        try:
            inferred = infer_spec(op, [source], dict(attrs))
        except InferenceError as exc:
            raise self.error(f"cannot convert to {declared}: {exc}", graph, node) from exc
        if declared is None:
            return inferred
        return TensorSpec(declared.shape, inferred.stride, declared.dtype)

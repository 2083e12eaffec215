"""Localize a wrong-value finding: the first node whose compiled value diverges.

A program that mismatches under a variant is judged again, by the same judge
(:func:`torchfuzz.backends.runner.check` with that one variant), on edited copies:

1. **All outputs.**  A checked copy returns every node's value; the first mismatching
   node in topological order is a candidate (its operands, earlier in the order, agree).
2. **Confirmation on prefixes.**  Extra outputs change what a compiler fuses, and a
   backend may miscompute values far from the op that triggers it, so the candidate is
   confirmed on the *prefix* of the program that ends at it (the graph truncated at the
   node, with that node as its only output): the prefix must mismatch while the prefix of
   each operand node agrees.  When an operand's prefix mismatches too, the search
   descends into it.
3. **Bisection.**  When the all-outputs copy does not mismatch, or its candidate is not
   confirmed, the prefixes of the ancestors of the first mismatching output are bisected
   in topological order, then the descent of step 2 confirms the result.

A node whose storage a later in-place node writes (the written operand itself, or a view
sharing its storage) is observed through a ``contiguous`` copy inserted right after it,
so its value is the one it had when computed (as :func:`~torchfuzz.backends.runner.node_values`
records it), not the base after the write.  Returns None when nothing localizes: the
program does not mismatch, or no prefix reproduces the mismatch on its own.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import torch

from torchfuzz.backends.amplified import Verdict, blame
from torchfuzz.backends.decompose import aten_culprit
from torchfuzz.backends.inputs import make_inputs
from torchfuzz.backends.oracle import DEFAULT_POLICY, ComparisonPolicy
from torchfuzz.backends.outcome import OutcomeKind, VariantResult
from torchfuzz.backends.pattern import Layout, dtype_class, layout_of
from torchfuzz.backends.runner import check
from torchfuzz.backends.search import first_failing
from torchfuzz.backends.signature import functional_op, mismatch_flags, result_signature
from torchfuzz.backends.variants import Variant
from torchfuzz.ir.graph import Graph, Node
from torchfuzz.ir.infer import evaluate_nodes, same_storage
from torchfuzz.ir.ops.base import Trait
from torchfuzz.ir.ops.view import CONTIGUOUS
from torchfuzz.ir.types import TensorSpec, dtype_name, parse_dtype
from torchfuzz.passes.dce import DeadCodeElimination

log = logging.getLogger(__name__)


def is_dynamic(variant: Variant) -> bool:
    """Whether the variant compiles with symbolic sizes (dynamic, marked dims, recompile)."""
    return bool(variant.dynamic) or variant.mark_dynamic or variant.recompile


@dataclass(frozen=True, slots=True)
class Culprit:
    """The first diverging node of a program and its op pattern.

    ``dtypes``, ``ranks`` and ``layouts`` describe the operands in order (a Python scalar
    has rank None); ``method`` says how it was found: ``"outputs"`` (the all-outputs copy,
    confirmed on prefixes), ``"prefixes"`` (bisection over prefixes), ``"upstream"``
    (an ancestor failing alone: :mod:`~torchfuzz.backends.amplified`) or ``"amplified"``
    (no bug: the node computes right from its compiled operands, which are within
    tolerance; :func:`~torchfuzz.backends.amplified.amplified`)."""

    node: str
    op: str
    dtypes: tuple[str, ...]
    ranks: tuple[int | None, ...]
    layouts: tuple[Layout, ...]
    dynamic: bool
    method: str = "outputs"
    result: str = "float"  # the dtype class of the node's value (see dtype_class)
    aten: str | None = None  # the core aten op inside the node that diverges first

    def __post_init__(self) -> None:
        if not len(self.dtypes) == len(self.ranks) == len(self.layouts):
            raise ValueError(f"{self.node}: one dtype, rank and layout per operand")

    def pattern(self) -> str:
        """Stable text of the op pattern (ranks, not sizes), e.g.
        ``mul(float32[2] contiguous, float32[0] expanded) dynamic``."""
        operands = []
        for dtype, rank, layout in zip(self.dtypes, self.ranks, self.layouts):
            if rank is None:
                operands.append(f"{dtype} {layout.value}")
            else:
                operands.append(f"{dtype}[{rank}] {layout.value}")
        inside = f" at {self.aten}" if self.aten is not None else ""
        dynamic = " dynamic" if self.dynamic else ""
        return f"{self.op}({', '.join(operands)}){inside}{dynamic}"

    def key(self) -> str:
        """What a root-cause signature holds of the culprit: the op without an in-place
        ``_`` (the same kernel and a copy) and the class of its result's dtype, e.g.
        ``add -> int``.  Ranks, layouts, operand dtypes and dynamic-ness stay out: one
        wrong kernel shows up with all of them (a broadcast bug fires under dynamic shapes
        alone in a program whose sizes happen to be equal); :meth:`pattern` shows them for
        the first example, next to the finding."""
        op = functional_op(self.op)
        if self.aten is not None:  # aten.mul.Tensor(float32, float32) -> float32
            op = self.aten.split("(")[0].split(".")[1]
        return f"{op} -> {self.result}"

    def to_dict(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        data["layouts"] = [layout.value for layout in self.layouts]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Culprit:
        fields = dict(data)
        fields["dtypes"] = tuple(fields["dtypes"])
        fields["ranks"] = tuple(fields["ranks"])
        fields["layouts"] = tuple(Layout(layout) for layout in fields["layouts"])
        return cls(**fields)

    @classmethod
    def of(cls, graph: Graph, node: str, variant: Variant, method: str) -> Culprit:
        """The culprit record of ``node`` of ``graph``."""
        specs = [graph.spec(name) for name in graph.node(node).inputs]
        return cls(
            node=node,
            op=graph.node(node).op.name,
            dtypes=tuple(dtype_name(s.dtype) for s in specs),
            ranks=tuple(s.rank if isinstance(s, TensorSpec) else None for s in specs),
            layouts=tuple(layout_of(s) for s in specs),
            dynamic=is_dynamic(variant),
            method=method,
            result=dtype_class(graph.spec(node).dtype),
        )


def _observable(node: Node) -> bool:
    return not node.op.has(Trait.CONSTANT)


def clobbered(graph: Graph, seed: int) -> frozenset[str]:
    """Nodes whose storage a later in-place node writes: as outputs they would show the
    base after the write, not the value they had when computed."""
    found: set[str] = set()

    def note_aliases(node: Node, operands: list, env: dict[str, object]) -> None:
        if node.op.mutates is not None:
            target = operands[node.op.mutates]
            found.update(
                name
                for name, value in env.items()
                if not graph.is_input(name)
                and isinstance(value, torch.Tensor)
                and same_storage(value, target)
            )

    evaluate_nodes(graph, make_inputs(graph, seed), before=note_aliases)
    return frozenset(found)


def checked_copy(graph: Graph, seed: int) -> tuple[Graph, tuple[str, ...]]:
    """A copy of ``graph`` whose outputs are every observable node's value, and the node
    each output stands for; a clobbered node is observed through a copy taken right after it."""
    copy = graph.copy()
    late = clobbered(graph, seed)
    outputs: list[str] = []
    names: list[str] = []
    for node in graph.nodes:
        if not _observable(node):
            continue
        observed = node.name
        if node.name in late:
            spec = TensorSpec.contiguous(node.spec.shape, node.spec.dtype)
            observed = copy.add_node(CONTIGUOUS, (node.name,), (), spec, after=node.name)
        outputs.append(observed)
        names.append(node.name)
    copy.set_outputs(outputs)
    return copy, tuple(names)


def prefix(graph: Graph, node: str) -> Graph:
    """The program truncated at ``node``, with that node as its only output."""
    truncated = graph.copy()
    truncated.set_outputs((node,))
    return DeadCodeElimination().run(truncated).graph


def _result(graph: Graph, seed: int, variant: Variant, policy: ComparisonPolicy) -> VariantResult:
    return check(graph, seed, (variant,), policy).results[0]


class _Search:
    """The judge calls of one localization, each prefix judged at most once."""

    def __init__(self, graph: Graph, seed: int, variant: Variant, policy: ComparisonPolicy):
        self.graph, self.seed, self.variant, self.policy = graph, seed, variant, policy
        self.verdicts: dict[str, bool] = {}
        self.checks = 0

    def judge(self, graph: Graph) -> VariantResult:
        self.checks += 1
        return _result(graph, self.seed, self.variant, self.policy)

    def fails(self, node: str) -> bool:
        """Whether the prefix ending at ``node`` mismatches on its own."""
        if node not in self.verdicts:
            result = self.judge(prefix(self.graph, node))
            self.verdicts[node] = result.kind is OutcomeKind.MISMATCH
        return self.verdicts[node]

    def operand_nodes(self, node: str) -> list[str]:
        return [
            name
            for name in dict.fromkeys(self.graph.node(node).inputs)
            if not self.graph.is_input(name) and _observable(self.graph.node(name))
        ]

    def descend(self, node: str) -> str:
        """From a node whose prefix fails, down to one whose operands' prefixes all agree."""
        while True:
            failing = next((op for op in self.operand_nodes(node) if self.fails(op)), None)
            if failing is None:
                return node
            node = failing

    def candidate_from_outputs(self) -> str | None:
        """The first mismatching node of the all-outputs copy, if it mismatches."""
        copy, names = checked_copy(self.graph, self.seed)
        result = self.judge(copy)
        if result.kind is not OutcomeKind.MISMATCH:
            return None
        # Gradients and written inputs name no single node; every writer is observed anyway.
        bad = {
            names[m.output_index]
            for m in result.mismatches
            if not m.gradient_of and not m.written_input and m.output_index < len(names)
        }
        return next((n.name for n in self.graph.nodes if n.name in bad), None)

    def failing_outputs(self) -> list[str]:
        """The nodes behind the mismatching outputs of the program itself, in order."""
        result = self.judge(self.graph)
        if result.kind is not OutcomeKind.MISMATCH:
            return []
        found: list[str | None] = []
        for m in result.mismatches:
            if m.written_input:
                found.append(self.last_writer(m.written_input))
            elif m.output_index < len(self.graph.outputs):
                found.append(self.graph.outputs[m.output_index])
        return [n for n in dict.fromkeys(found) if n is not None and not self.graph.is_input(n)]

    def last_writer(self, name: str) -> str | None:
        """The node whose value is input ``name`` after the call (its last in-place write)."""
        writer = None
        while True:
            nxt = next(
                (
                    u
                    for u in self.graph.users(name)
                    if self.graph.node(u).op.mutates is not None
                    and self.graph.node(u).inputs[self.graph.node(u).op.mutates] == name
                ),
                None,
            )
            if nxt is None:
                return writer
            writer = name = nxt

    def bisect(self, target: str) -> str | None:
        """Bisect the prefixes of ``target``'s ancestors for a first failing one."""
        if not self.fails(target):
            return None
        dag = self.graph.to_networkx()
        ancestors = nx.ancestors(dag, target)
        chain = [n.name for n in self.graph.nodes if n.name in ancestors and _observable(n)] + [
            target
        ]
        return first_failing(chain, self.fails)


def localize(
    graph: Graph, seed: int, variant: Variant, policy: ComparisonPolicy = DEFAULT_POLICY
) -> Culprit | None:
    """The first node of ``graph`` whose value diverges under ``variant`` (inputs from
    ``seed``), with its op pattern; None when nothing localizes (see the module docstring)."""
    search = _Search(graph, seed, variant, policy)
    method = "outputs"
    found = search.candidate_from_outputs()
    if found is not None and search.fails(found):
        found = search.descend(found)
    else:
        log.debug("all-outputs candidate %s not confirmed; bisecting prefixes", found)
        method = "prefixes"
        # A backend may miscompute outputs the trigger does not feed: take the first
        # mismatching output whose own prefix mismatches.
        targets = (t for t in search.failing_outputs() if search.fails(t))
        target = next(targets, None)
        found = None if target is None else search.bisect(target)
        found = None if found is None else search.descend(found)
    log.debug("localized to %s after %d judge calls", found, search.checks)
    return None if found is None else Culprit.of(graph, found, variant, method)


@dataclass(frozen=True, slots=True)
class Localized:
    """A culprit and the variants whose result it explains (its prefix mismatches under
    them too); ``culprit.dynamic`` is True when all of those compile with symbolic sizes."""

    culprit: Culprit
    variants: tuple[str, ...]
    flags: tuple[str, ...] = ()  # of the culprit's own mismatch (signature.mismatch_flags)

    @property
    def amplified(self) -> bool:
        """True when no node is wrong beyond tolerance: the culprit amplified a difference
        within tolerance of its operands (no bug)."""
        return self.culprit.method == "amplified"

    def to_dict(self) -> dict[str, object]:
        return {
            "culprit": self.culprit.to_dict(),
            "variants": list(self.variants),
            "flags": list(self.flags),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Localized:
        culprit = Culprit.from_dict(data["culprit"])
        return cls(culprit, tuple(data["variants"]), tuple(data.get("flags", ())))


def localize_failing(
    graph: Graph,
    seed: int,
    variants: Sequence[Variant],
    policy: ComparisonPolicy = DEFAULT_POLICY,
) -> Localized | None:
    """Localize in the first of ``variants`` (those that mismatched), name the core aten op
    inside the culprit that diverges first (:func:`~torchfuzz.backends.decompose.aten_culprit`:
    a broadcast ``mul`` bug shows as ``mul``, ``rms_norm`` or ``kron`` nodes), then ask each
    other variant whether the culprit's prefix mismatches under it too: the variants one
    bug shows in."""
    first, *others = variants
    culprit = localize(graph, seed, first, policy)
    if culprit is None:
        return None
    witness = prefix(graph, culprit.node)  # a program the culprit fails in
    found = blame(graph, culprit.node, seed, first, policy)
    if found.verdict is Verdict.UPSTREAM:  # the culprit only amplified an upstream error
        witness = found.witness
        culprit = Culprit.of(graph, found.node, first, "upstream")
    elif found.verdict is Verdict.AMPLIFIED:  # a difference within tolerance, amplified
        return Localized(dataclasses.replace(culprit, method="amplified"), (first.name,))
    inside = aten_culprit(witness, culprit.node, seed, first, policy)
    if inside is not None:
        result = culprit.result
        if inside.out_dtype is not None:
            result = dtype_class(parse_dtype(inside.out_dtype))
        culprit = dataclasses.replace(culprit, aten=inside.text(), result=result)
    own = _result(witness, seed, first, policy)
    flags = mismatch_flags(result_signature(own)) if own.kind is OutcomeKind.MISMATCH else ()
    seen = [first] + [
        v for v in others if _result(witness, seed, v, policy).kind is OutcomeKind.MISMATCH
    ]
    dynamic = all(is_dynamic(v) for v in seen)
    culprit = dataclasses.replace(culprit, dynamic=dynamic)
    return Localized(culprit, tuple(v.name for v in seen), flags)

"""Observability: would the oracle notice a wrong value at this node?

A miscompiled value is only found when it reaches a judged output with its error intact;
``round`` then an integer cast, ``fill``, a sign-invariant ``var`` or ``v - v`` erase it on
the way.  :func:`observe` measures this per node: the program runs eagerly with one node's
value *perturbed* (as a compiler that miscomputes that node alone would give it) in place of
a compiled run, and the very judge of a campaign (:func:`~torchfuzz.backends.judge.judge`:
fp64 reference, tolerances, ``computed_in``) says whether it reports the program.

The perturbation of a value (:func:`perturb`): a float or complex value is scaled by
``1 + delta`` (zeros become ``delta``), ``delta`` being 1e-2, or 5e-2 for bfloat16, whose
tolerance (1.6e-2) would hide 1e-2 at the node itself; an integer gets ``+ 1``; a bool is
flipped.  An in-place node's value is perturbed in place (its writes are what a compiler
could get wrong); any other node's value is replaced.  A perturbed run that raises (an index
moved out of range) counts as detected: a compiled program would crash or read garbage.

Nodes without a value to get wrong are not counted: constants, values wholly overwritten
before anything reads them (:func:`~torchfuzz.ir.information.overwritten`), and values with
no element or that the perturbation leaves unchanged (all nan/inf).  A program whose unperturbed
node-by-node run is not OK under the judge is skipped as a whole.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx
import torch

from torchfuzz.backends.judge import identical, judge
from torchfuzz.backends.oracle import DEFAULT_POLICY, ComparisonPolicy
from torchfuzz.backends.outcome import Crash, OutcomeKind, Stage
from torchfuzz.backends.runner import coarsest_float, subject
from torchfuzz.backends.standalone import CompiledCalls
from torchfuzz.ir.graph import Graph, Node
from torchfuzz.ir.infer import evaluate_nodes
from torchfuzz.ir.information import overwritten
from torchfuzz.ir.ops.base import Trait

log = logging.getLogger(__name__)

DELTA = 1e-2
DELTAS = types.MappingProxyType({torch.bfloat16: 5e-2, torch.float16: 1e-2})
_CONTROL = "(unperturbed)"


def perturb(value: object, delta: float = DELTA) -> object:
    """A slightly wrong copy of ``value`` (see the module docstring)."""
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool:
            return value.logical_not()
        if value.dtype.is_floating_point or value.dtype.is_complex:
            return torch.where(value == 0, torch.full_like(value, delta), value * (1 + delta))
        return value + 1
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, (float, complex)):
        return value * (1 + delta) if value != 0 else delta
    raise TypeError(f"cannot perturb a {type(value).__name__}")


def delta_of(graph: Graph, name: str, dag: nx.MultiDiGraph) -> float:
    """The relative perturbation of value ``name``: :data:`DELTA`, or larger where the
    value or one it is computed from has a coarser floating dtype (the judge's tolerance
    follows it: :func:`~torchfuzz.backends.runner.computed_in`)."""
    coarsest = coarsest_float(graph, name, dag)
    return DELTA if coarsest is None else DELTAS.get(coarsest.to_real(), DELTA)


def _perturbable(graph: Graph, node: Node, value: object) -> bool:
    if node.op.has(Trait.CONSTANT) or overwritten(graph, node.name):
        return False
    if isinstance(value, torch.Tensor) and value.numel() == 0:
        return False
    try:
        return not identical(value, perturb(value))
    except TypeError:
        return False


@dataclass(frozen=True, slots=True)
class NodeObservation:
    """Whether a wrong value at ``node`` (an ``op`` of ``family``) is reported: ``how`` is
    the verdict's kind (``mismatch``, ``crash``) or ``""`` (not detected)."""

    node: str
    op: str
    family: str
    how: str

    @property
    def detected(self) -> bool:
        return bool(self.how)


@dataclass(frozen=True, slots=True)
class ProgramObservation:
    """The observations of one program's nodes, or why it could not be measured."""

    seed: int
    nodes: tuple[NodeObservation, ...] = ()
    skip: str = ""


def _perturbed_run(graph: Graph, target: str | None, delta: float = DELTA):
    """A ``compile_and_call`` hook for :func:`judge` that runs ``graph`` node by node with
    the value of node ``target`` perturbed by ``delta`` (None: unperturbed)."""

    def after(node: Node, value: object) -> object:
        if node.name != target:
            return value
        wrong = perturb(value, delta)
        if node.op.mutates is not None and isinstance(value, torch.Tensor):
            value.copy_(wrong)  # what it wrote (a graph input, perhaps) is wrong
            return value
        return wrong

    def run(fn, calls, variant, marked) -> CompiledCalls:
        outputs = []
        for inputs in calls:
            try:
                env = evaluate_nodes(graph, inputs, after=after)
            except Exception as exc:  # e.g. an index moved out of range
                return CompiledCalls(crash=Crash(Stage.RUN, type(exc).__name__, str(exc), ""))
            outputs.append(tuple(env[name] for name in graph.outputs))
        return CompiledCalls(calls=tuple(outputs))

    return run


def _variant(name: str) -> types.SimpleNamespace:
    return types.SimpleNamespace(name=name, backward=False, recompile=False, mark_dynamic=False)


def observe(
    graph: Graph, seed: int, policy: ComparisonPolicy = DEFAULT_POLICY
) -> ProgramObservation:
    """Per node of ``graph`` (run on ``seed``'s inputs), whether the judge reports the
    program when that node's value is wrong (see the module docstring)."""
    s = subject(graph, seed)
    try:
        values = evaluate_nodes(graph, s.make_inputs(), clone_written=True)
    except Exception as exc:
        return ProgramObservation(seed, skip=f"eager failed: {type(exc).__name__}: {exc}")
    targets = [n for n in graph.nodes if _perturbable(graph, n, values[n.name])]
    hooks = {_CONTROL: _perturbed_run(graph, None)}
    dag = graph.to_networkx()
    hooks |= {n.name: _perturbed_run(graph, n.name, delta_of(graph, n.name, dag)) for n in targets}

    def compile_and_call(fn, calls, variant, marked) -> CompiledCalls:
        return hooks[variant.name](fn, calls, variant, marked)

    outcome = judge(s, [_variant(name) for name in hooks], compile_and_call, policy)
    if not outcome.results:
        return ProgramObservation(seed, skip=f"{outcome.kind.value}: {outcome.reason}")
    control, *results = outcome.results
    if control.kind is not OutcomeKind.OK:
        return ProgramObservation(seed, skip=f"unperturbed run is {control.kind.value}")
    found = []
    for node, result in zip(targets, results):
        how = result.kind.value if result.is_failing else ""
        found.append(NodeObservation(node.name, node.op.name, node.op.family, how))
    return ProgramObservation(seed, tuple(found))


@dataclass(frozen=True, slots=True)
class Score:
    """Detected over counted nodes, for one op family (or all)."""

    name: str
    nodes: int
    detected: int

    @property
    def score(self) -> float:
        return self.detected / self.nodes if self.nodes else 1.0


def scores(programs: Iterable[ProgramObservation], key: str = "family") -> list[Score]:
    """Per ``key`` (``family`` or ``op``) of the nodes' ops, sorted by score then name."""
    counts: dict[str, list[int]] = {}
    for program in programs:
        for node in program.nodes:
            count = counts.setdefault(getattr(node, key), [0, 0])
            count[0] += 1
            count[1] += node.detected
    rows = [Score(name, n, d) for name, (n, d) in counts.items()]
    return sorted(rows, key=lambda r: (r.score, r.name))


def overall(programs: Iterable[ProgramObservation]) -> Score:
    nodes = [node for program in programs for node in program.nodes]
    return Score("all", len(nodes), sum(node.detected for node in nodes))

"""Backward program generation: from a wanted output spec down to graph inputs, reusing values.

For each wanted value the generator reuses an existing compatible value, or picks an op whose
`propose` can make it and recursively generates the operands, or makes a new graph input.
All randomness comes from one `random.Random(seed)`.
"""

from __future__ import annotations

import functools
import heapq
import logging
import operator
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from torchfuzz.generator.layouts import expanded_strides, noncontiguous_strides
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.catalogue import CATALOGUE, Catalogue
from torchfuzz.ir.fast_infer import infer_spec, may_alias, natural_dtype
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.ops.base import OpDef, Proposal, SpecSampler, Trait, Want
from torchfuzz.ir.ops.scalar import conversion
from torchfuzz.ir.ops.view import CONTIGUOUS
from torchfuzz.ir.spellings import Surface, SurfaceMode
from torchfuzz.ir.structure import Structure
from torchfuzz.ir.types import ANY, ScalarSpec, Spec, TensorSpec, contiguous_strides
from torchfuzz.passes import default_pipeline
from torchfuzz.passes.writes import overlaps

log = logging.getLogger(__name__)


_EXTRA_OUTPUTS = 2
# Programs up to this many nodes keep the extra outputs of old; larger ones fill their budget.
_SMALL = 50
_STALLS = 20
# Chance of using an op whose result dtype differs from the wanted one (type promotion then
# inserts a conversion).
P_CONVERTED = 0.15
# Share of non-contiguous tensor inputs laid out expanded (stride 0) instead.
P_EXPANDED = 0.25
# Chance that an in-place op writes a new node rather than a new graph input.
P_WRITE_NODE = 0.6
# Chance that a new graph input an in-place op writes is strided (never expanded: it is written).
P_WRITE_STRIDED = 0.3
# Storage offsets of graph inputs (elements): odd ones misalign vectorized loads.
_OFFSETS = (1, 2, 3, 5, 8, 17)


class GeneratorBug(Exception):
    """An op proposal that PyTorch rejects or that gives another shape: a fuzzer bug."""


@dataclass
class GenerationStats:
    """Counts of generation dead ends (an op could not make a wanted value; retried locally)."""

    dead_ends: int = 0
    reused: int = 0
    leaves: int = 0


@dataclass
class _Builder:
    rng: random.Random
    options: GeneratorOptions
    ops: tuple[OpDef, ...]
    weights: tuple[float, ...]
    # Layout kinds added later draw from their own stream, so the programs of existing seeds
    # keep their structure (and their exact minimized forms) when layouts are added.
    layout_rng: random.Random = field(default_factory=random.Random)
    offset_rng: random.Random = field(default_factory=random.Random)
    empty_rng: random.Random = field(default_factory=random.Random)
    graph: Graph = field(default_factory=Graph)
    stats: GenerationStats = field(default_factory=GenerationStats)
    budget: int = 0
    # Values an in-place op writes: read by that op alone, so never reused.
    consumed: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        o = self.options
        self.sampler = SpecSampler(self.rng, o.dtypes, o.max_rank, o.max_dim)
        self.budget = o.num_nodes
        self.depth = o.depth
        self.inverses, self.ties = _order_keys(self.weights)

    # --- values -------------------------------------------------------------------------------
    def produce(self, want: Want, depth: int) -> str:
        if want.domain == ANY and self.rng.random() < self.options.p_reuse:
            reused = self._reusable(want)
            if reused is None and want.shape is not None and self.budget > 0:
                reused = self._reuse_with_cast(want)
            if reused is not None:
                self.stats.reused += 1
                return reused
        if want.domain != ANY or self.budget <= 0 or depth >= self.depth:
            return self.leaf(want)
        made = self._by_op(want, depth)
        return self.leaf(want) if made is None else made

    def _by_op(self, want: Want, depth: int) -> str | None:
        """A new node making `want`, by the first op (in weighted random order) that can."""
        for op in self._op_order():
            proposal = op.propose(self.sampler, want)
            if proposal is None or not self._fits(op, proposal, want):
                self.stats.dead_ends += 1
                continue
            self.budget -= 1
            operands = self._operands(op, proposal, depth + 1)
            return self._add(op, operands, proposal.attrs, want)
        return None

    def _operands(self, op: OpDef, proposal: Proposal, depth: int) -> list[str]:
        """The operands of a proposal; the one an in-place op writes is fresh, and consumed
        at once, so neither its siblings nor later values read it."""
        operands = []
        for index, want in enumerate(proposal.inputs):
            if index == op.mutates:
                name = self._written(want, depth)
                self.consumed.add(name)
            else:
                name = self.operand(want, depth)
            operands.append(name)
        return operands

    def _written(self, want: Want, depth: int) -> str:
        """A value for an in-place op to write that no other value reads: a new node sharing
        its storage with no other value, or a new graph input of a writable layout."""
        if (
            want.domain == ANY
            and self.budget > 0
            and depth < self.depth
            and self.rng.random() < P_WRITE_NODE
        ):
            made = self._by_op(want, depth)
            if made is not None:
                node = self.graph.node(made)
                specs = [self.graph.spec(i) for i in node.inputs]
                if not may_alias(node.op, specs, node.attr_map) and not overlaps(node.spec):
                    return made
                # A view (or a write) of another value: write a copy instead.
                return self._add(CONTIGUOUS, [made], (), Want(want.shape, node.spec.dtype))
        self.stats.leaves += 1
        stride = contiguous_strides(want.shape)
        if self.rng.random() < P_WRITE_STRIDED and sum(n > 1 for n in want.shape) >= 1:
            stride = noncontiguous_strides(self.rng, want.shape)
        return self.graph.add_input(TensorSpec(want.shape, stride, want.dtype), want.domain)

    def _fits(self, op: OpDef, proposal: Proposal, want: Want) -> bool:
        """Whether the op's natural result dtype is the wanted one. Mismatches are taken only
        sometimes: each needs a conversion, and too many of them crowd out the real ops."""
        if self.rng.random() < P_CONVERTED:
            return True
        specs = [w.spec() for w in proposal.inputs]
        try:
            natural = natural_dtype(op, specs, dict(proposal.attrs))
        except Exception as exc:
            raise GeneratorBug(f"op {op.name} proposal rejected by PyTorch: {exc}") from exc
        return natural == want.dtype

    def operand(self, want: Want, depth: int) -> str:
        name = self.produce(want, depth)
        if not want.contiguous:
            return name
        # FakeTensor's strides for broadcasting ops can differ from eager's, so an intermediate
        # is made dense explicitly rather than trusting its declared strides.
        if self.graph.is_input(name):
            spec = self.graph.spec(name)
            if spec.is_contiguous and not spec.offset:
                return name
            self.stats.dead_ends += 1
            return self.leaf(want)
        if self.graph.node(name).op is CONTIGUOUS:
            return name
        return self._add(CONTIGUOUS, [name], (), want)

    def _reusable(self, want: Want) -> str | None:
        matches = [
            v.name
            for v in self.graph.values()
            if _matches(v.spec, want)
            and getattr(v, "domain", ANY) == ANY
            and v.name not in self.consumed
        ]
        return self.rng.choice(matches) if matches else None

    def _reuse_with_cast(self, want: Want) -> str | None:
        """Reuse a tensor of the wanted shape but another dtype, through a conversion."""
        matches = [
            v.name
            for v in self.graph.values()
            if isinstance(v.spec, TensorSpec)
            and v.spec.shape == want.shape
            and getattr(v, "domain", ANY) == ANY
            and v.name not in self.consumed
        ]
        if not matches:
            return None
        self.budget -= 1
        name = self.rng.choice(matches)
        source = self.graph.spec(name)
        steps = conversion(source, want.spec())
        for index, (op, attrs) in enumerate(steps):
            last = index == len(steps) - 1
            # A step before the last keeps its natural dtype (`real` of complex is float).
            step = None if last else infer_spec(op, [self.graph.spec(name)], dict(attrs)).dtype
            name = self._add(op, [name], attrs, want if last else Want(want.shape, step))
        return name

    def leaf(self, want: Want) -> str:
        """A graph input (reusing one of the same spec and domain sometimes)."""
        same = [
            i.name
            for i in self.graph.inputs
            if i.domain == want.domain and _matches(i.spec, want) and i.name not in self.consumed
        ]
        if same and self.rng.random() < self.options.p_reuse:
            self.stats.reused += 1
            return self.rng.choice(same)
        self.stats.leaves += 1
        if want.shape is None:
            return self.graph.add_input(ScalarSpec(want.dtype), want.domain)
        shape = want.shape
        stride = contiguous_strides(shape)
        numel = 1
        for size in shape:
            numel *= size
        if not want.contiguous and numel > 1 and self.rng.random() < self.options.p_noncontiguous:
            stride = noncontiguous_strides(self.rng, shape)
            # Expanding repeats values: not for data that must not repeat (ties, duplicates).
            if self.layout_rng.random() < P_EXPANDED and want.domain.rule.repeats:
                stride = expanded_strides(self.layout_rng, shape)
        # Operands that must be dense may be read by ops that address storage directly
        # (as_strided's storage_offset counts from the storage start): no offset for them.
        offset = 0
        if not want.contiguous and self.offset_rng.random() < self.options.p_offset:
            offset = self.offset_rng.choice(_OFFSETS)
        return self.graph.add_input(TensorSpec(shape, stride, want.dtype, offset), want.domain)

    def _add(self, op: OpDef, operands: list[str], attrs: tuple, want: Want) -> str:
        specs = [self.graph.spec(o) for o in operands]
        try:
            natural = infer_spec(op, specs, dict(attrs))
        except Exception as exc:
            raise GeneratorBug(f"op {op.name} proposal rejected by PyTorch: {exc}") from exc
        declared: Spec
        if want.shape is None:
            if not isinstance(natural, ScalarSpec):
                raise GeneratorBug(f"op {op.name} gave {natural} for a wanted Python scalar")
            declared = ScalarSpec(want.dtype)
        else:
            if not isinstance(natural, TensorSpec) or natural.shape != want.shape:
                raise GeneratorBug(f"op {op.name} gave {natural} for wanted shape {want.shape}")
            declared = natural.with_dtype(want.dtype)
            # Empty shapes flow only down from the output that wants one, never into the shapes
            # that ops draw for other operands (many rules need sizes of at least 1).
            if want.shape not in self.sampler.shapes and 0 not in want.shape:
                self.sampler.shapes.append(want.shape)
        return self.graph.add_node(op, operands, attrs, declared)

    def _op_order(self) -> Iterator[OpDef]:
        """All ops in a weighted random order (each op once): by `random() ** (1 / weight)`
        (weighted sampling without replacement), highest first, ties by the later op. Every
        key is drawn up front; the order is found lazily (a heap), as most wants take one of
        the first few ops."""
        random = self.rng.random
        draws = [random() for _ in self.inverses]
        heap = list(zip(map(operator.neg, map(pow, draws, self.inverses)), self.ties))
        heapq.heapify(heap)
        while heap:
            yield self.ops[-heapq.heappop(heap)[1]]

    # --- program ------------------------------------------------------------------------------
    def output_want(self) -> Want:
        dtype = self.rng.choice(self.options.dtypes)
        # No Python scalar is complex (nor read out of a complex tensor): a tensor instead.
        if self.rng.random() < self.options.p_scalar_output and not dtype.is_complex:
            return Want(None, _scalar_kind(dtype))
        shape = self.sampler.shape(min_rank=0)
        # Empty tensors flow down from some outputs (drawn apart: seeds keep their programs).
        if shape and self.empty_rng.random() < self.options.p_empty:
            empty = self.empty_rng.randrange(len(shape))
            shape = tuple(0 if d == empty else n for d, n in enumerate(shape))
        return Want(shape, dtype)


def _scalar_kind(dtype: torch.dtype) -> torch.dtype:
    if dtype == torch.bool:
        return torch.bool
    return torch.float64 if dtype.is_floating_point else torch.int64


def _matches(spec: Spec, want: Want) -> bool:
    if want.shape is None:
        return isinstance(spec, ScalarSpec) and spec.dtype == want.dtype
    return (
        isinstance(spec, TensorSpec)
        and spec.shape == want.shape
        and spec.dtype == want.dtype
        and (spec.is_contiguous and not spec.offset or not want.contiguous)
    )


@functools.lru_cache(maxsize=64)
def _generated_ops(
    catalogue: Catalogue, names: tuple[str, ...] | None
) -> tuple[tuple[OpDef, ...], tuple[float, ...]]:
    """The ops programs are drawn from, and their weights: the catalogue's (those `names`
    names, as `GeneratorOptions.catalogue` restricts it), less casts of weight 0 (made only
    by type promotion). Once per catalogue and names."""
    chosen = catalogue if names is None else catalogue.restrict(names)
    ops = tuple(op for op in chosen if not op.has(Trait.CAST) or op.weight > 0)
    return ops, tuple(op.weight for op in ops)


@functools.lru_cache(maxsize=64)
def _order_keys(weights: tuple[float, ...]) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """For the ops of positive weight: 1 / weight (a key is `random() ** (1 / weight)`), and
    minus the op's index (the tie-break of the order)."""
    chosen = [(i, w) for i, w in enumerate(weights) if w > 0]
    return tuple(1.0 / w for _, w in chosen), tuple(-i for i, _ in chosen)


def generate_raw(
    seed: int, options: GeneratorOptions | None = None, catalogue: Catalogue = CATALOGUE
) -> tuple[Graph, GenerationStats]:
    """The generated graph before passes (declared dtypes are the wanted ones)."""
    options = options or GeneratorOptions()
    rng = random.Random(seed)
    ops, weights = _generated_ops(catalogue, options.ops)
    builder = _Builder(
        rng,
        options,
        ops,
        weights,
        layout_rng=random.Random(f"layouts:{seed}"),
        offset_rng=random.Random(f"offsets:{seed}"),
        empty_rng=random.Random(f"empty:{seed}"),
    )
    outputs: list[str] = []
    wanted = rng.randint(1, options.max_outputs)
    # Programs whose outputs came out small (operands that must be fresh inputs stop growth)
    # get two more outputs while node budget is left; programs of more than _SMALL nodes get
    # outputs until the budget is spent, or until _STALLS outputs in a row added no node.
    attempt = stalls = 0
    while attempt < wanted + _EXTRA_OUTPUTS or (
        options.num_nodes > _SMALL and builder.budget > 0 and stalls < _STALLS
    ):
        if attempt >= wanted and builder.budget <= 0:
            break
        before = builder.budget
        name = builder.produce(builder.output_want(), depth=0)
        stalls = stalls + 1 if builder.budget == before else 0
        attempt += 1
        if name not in outputs:
            outputs.append(name)
    if stalls >= _STALLS:
        log.warning(
            "asked for %d op nodes, made %d: the ops allowed cannot make more (%d outputs in "
            "a row were graph inputs)",
            options.num_nodes,
            options.num_nodes - builder.budget,
            _STALLS,
        )
    builder.graph.set_outputs(outputs)
    builder.graph.surface = Surface(SurfaceMode(options.surface), seed)
    if options.structure and builder.graph.surface.mode is not SurfaceMode.ATEN:
        builder.graph.structure = Structure.ALL
    log.debug("seed %d: %d nodes, %s", seed, len(builder.graph), builder.stats)
    return builder.graph, builder.stats


def generate(
    seed: int,
    options: GeneratorOptions | None = None,
    catalogue: Catalogue = CATALOGUE,
    *,
    fake: bool = False,
) -> Graph:
    """A valid program for this seed: generated, type-promoted, dead code removed, verified
    (every node on FakeTensors if `fake`; else against the fast inference path, which the
    per-op tests prove equal to FakeTensor's).

    Same seed and options give the same program, byte for byte, in any process.
    """
    options = options or GeneratorOptions()
    graph, _ = generate_raw(seed, options, catalogue)
    return default_pipeline(options.observe, fake).run(graph)

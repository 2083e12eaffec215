"""The fast inference path (meta tensors, remembered answers) against its judge, FakeTensor:
every op of the catalogue, every declared dtype, contiguous and permuted/gapped layouts."""

from __future__ import annotations

import random

import pytest
import torch

from tests.ir.test_ops import (
    MAX_DIM,
    MAX_RANK,
    OP_DTYPES,
    _declared,
    _dtype_wants,
    operand_spec,
)
from torchfuzz.ir import fast_infer
from torchfuzz.ir.catalogue import CATALOGUE
from torchfuzz.ir.fast_infer import (
    FAKE_ONLY,
    dtype_key,
    infer_spec,
    may_alias,
    memo_key,
    meta_spec,
    natural_dtype,
)
from torchfuzz.ir.infer import InferenceError, fake_spec
from torchfuzz.ir.ops.base import OpDef, SpecSampler, Trait, Want
from torchfuzz.ir.types import ScalarSpec, TensorSpec

# Applications compared per (op, dtype): proposals for wants of every form, each operand laid
# out contiguous or permuted with gaps (`operand_spec`).
CHECKS_PER_DTYPE = 8
TRIES = 60


def proposals(op: OpDef, dtype: torch.dtype, rng: random.Random):
    """Proposals of `op` for wants of every form (dtypes in turn from `dtype`, ranks 0-3)."""
    sampler = SpecSampler(rng, (dtype,), max_rank=MAX_RANK, max_dim=MAX_DIM)
    wants = _dtype_wants(dtype)
    for attempt in range(TRIES):
        want_dtype, scalar = wants[attempt % len(wants)]
        rank = attempt // len(wants) % 4
        shape = None if scalar else tuple(rng.randint(1, MAX_DIM) for _ in range(rank))
        proposal = op.propose(sampler, Want(shape, want_dtype))
        if proposal is not None:
            yield proposal


def _applications(op: OpDef, dtype: torch.dtype, rng: random.Random, most: int = TRIES):
    for made, proposal in enumerate(proposals(op, dtype, rng), 1):
        yield [operand_spec(rng, w) for w in proposal.inputs], dict(proposal.attrs)
        if made >= most:
            return


@pytest.mark.parametrize("op,dtype", OP_DTYPES)
def test_fast_inference_agrees_with_fake_tensor(op: OpDef, dtype: torch.dtype) -> None:
    """Shape, dtype and strides (and rejections) of `infer_spec` are FakeTensor's; so are the
    meta path's for every op not listed in FAKE_ONLY."""
    rng = random.Random(f"fast:{op.name}:{dtype}")
    checked = 0
    for specs, attrs in _applications(op, dtype, rng):
        try:
            judged = fake_spec(op, specs, attrs)
        except InferenceError:
            with pytest.raises(InferenceError):
                infer_spec(op, specs, attrs)
            continue
        where = f"{op.name}({', '.join(map(str, specs))}, {attrs})"
        assert infer_spec(op, specs, attrs) == judged, where
        assert infer_spec(op, specs, attrs) == judged, where  # remembered
        if op.infer is None and op.name not in FAKE_ONLY:
            assert meta_spec(op, specs, attrs) == judged, where
        checked += 1
        if checked >= CHECKS_PER_DTYPE:
            break
    assert checked > 0, f"{op.name} made no application with {dtype}"


ELEMENTWISE = [op for op in CATALOGUE if op.has(Trait.ELEMENTWISE) and not op.has(Trait.VIEW)]


@pytest.mark.parametrize("op", ELEMENTWISE, ids=[op.name for op in ELEMENTWISE])
def test_dense_elementwise_rule_is_fake_tensors_answer(op: OpDef) -> None:
    """On dense operands (broadcasting ones among them) an elementwise op's spec comes from
    the rule, not from running it; it must be FakeTensor's, for every declared dtype."""
    ruled = 0
    for dtype in _declared(op):
        rng = random.Random(f"dense:{op.name}:{dtype}")
        for specs, attrs in _applications(op, dtype, rng, most=12):
            dense = [
                TensorSpec.contiguous(s.shape, s.dtype) if isinstance(s, TensorSpec) else s
                for s in specs
            ]
            ruled_spec = fast_infer._dense_elementwise(op, dense, attrs)
            if ruled_spec is None:
                continue
            where = f"{op.name}({', '.join(map(str, dense))}, {attrs})"
            assert ruled_spec == fake_spec(op, dense, attrs), where
            ruled += 1
    if ruled == 0:  # e.g. an op eager rejects on ones: always inferred by running it
        assert fast_infer._known_dtype(op, dense, attrs) is None or op.name in FAKE_ONLY


@pytest.mark.parametrize("op", list(CATALOGUE), ids=CATALOGUE.names())
def test_result_dtype_depends_on_no_size(op: OpDef) -> None:
    """`natural_dtype` remembers a dtype by `dtype_key` (operand dtypes and ranks, attribute
    types): every application of one key must have one FakeTensor dtype."""
    seen: dict[tuple, tuple[torch.dtype, str]] = {}
    for dtype in _declared(op):
        rng = random.Random(f"dtype-key:{op.name}:{dtype}")
        for specs, attrs in _applications(op, dtype, rng, most=12):
            try:
                judged = fake_spec(op, specs, attrs).dtype
            except InferenceError:
                continue
            where = f"{op.name}({', '.join(map(str, specs))}, {attrs})"
            key = dtype_key(op, specs, attrs)
            first = seen.setdefault(key, (judged, where))
            assert first[0] == judged, f"{where} gives {judged}, {first[1]} gave {first[0]}"
            assert natural_dtype(op, specs, attrs) == judged, where


def test_fake_only_names_ops_of_the_catalogue() -> None:
    assert FAKE_ONLY <= set(CATALOGUE.names())


def test_each_listed_op_disagrees_somewhere_on_meta() -> None:
    """Why reshape is in FAKE_ONLY: meta and FakeTensor give a size-1 dim other strides."""
    op = CATALOGUE.get("reshape")
    spec = TensorSpec((1, 2), (1, 2), torch.float32)
    attrs = {"shape": (1, 2)}
    assert meta_spec(op, [spec], attrs) != fake_spec(op, [spec], attrs)
    assert infer_spec(op, [spec], attrs) == fake_spec(op, [spec], attrs)


def test_attribute_types_are_part_of_the_key() -> None:
    op = CATALOGUE.get("add")
    spec = TensorSpec.contiguous((2,), torch.int64)
    keys = {memo_key(op, [spec], {"alpha": v}) for v in (1, 1.0, True, -0.0, 0.0)}
    assert len(keys) == 5
    # The storage offset of an operand is not part of it: no result spec depends on it.
    shifted = TensorSpec((2,), (1,), torch.int64, 3)
    assert memo_key(op, [shifted], {}) == memo_key(op, [spec], {})


def test_a_rejection_is_remembered_and_raised_again(monkeypatch) -> None:
    op = CATALOGUE.get("mm")
    specs = [TensorSpec.contiguous((2, 3), torch.float32)] * 2
    calls = []
    real = fast_infer._compute
    monkeypatch.setattr(fast_infer, "_compute", lambda *a: calls.append(a) or real(*a))
    monkeypatch.setattr(fast_infer, "_SPECS", {})
    for _ in range(2):
        with pytest.raises(InferenceError, match="mm"):
            infer_spec(op, specs, {})
    assert len(calls) == 1


def test_python_scalar_ops_use_their_rule() -> None:
    op = next(op for op in CATALOGUE if op.infer is not None and op.name != "constant")
    proposal = None
    rng = random.Random(0)
    sampler = SpecSampler(rng, (torch.float32,), max_rank=2, max_dim=3)
    while proposal is None:
        proposal = op.propose(sampler, Want(None, torch.float64))
    specs = [w.spec() for w in proposal.inputs]
    assert infer_spec(op, specs, dict(proposal.attrs)) == op.infer(specs, dict(proposal.attrs))
    assert isinstance(infer_spec(op, specs, dict(proposal.attrs)), ScalarSpec)


def test_may_alias_is_remembered_per_application() -> None:
    view = CATALOGUE.get("transpose")
    spec = TensorSpec.contiguous((2, 3), torch.float32)
    attrs = {"dim0": 0, "dim1": 1}
    assert may_alias(view, [spec], attrs) and may_alias(view, [spec], attrs)
    assert not may_alias(CATALOGUE.get("sin"), [spec], {})

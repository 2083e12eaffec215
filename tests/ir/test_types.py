import pytest
import torch

from torchfuzz.ir.types import (
    ANY,
    DOMAIN_RULES,
    BoundRole,
    Domain,
    DomainKind,
    ScalarSpec,
    TensorSpec,
    contiguous_strides,
    dtype_name,
    index_domain,
    parse_dtype,
)


def test_contiguous_strides():
    assert contiguous_strides((2, 3, 4)) == (12, 4, 1)
    assert contiguous_strides(()) == ()
    assert contiguous_strides((0, 3)) == (3, 1)


def test_tensor_spec_validates():
    with pytest.raises(ValueError):
        TensorSpec((2, 3), (1,), torch.float32)
    with pytest.raises(TypeError):
        TensorSpec([2, 3], (3, 1), torch.float32)
    with pytest.raises(ValueError):
        TensorSpec((2, -1), (1, 1), torch.float32)
    with pytest.raises(ValueError):
        TensorSpec((2,), (1,), torch.quint8)


def test_tensor_spec_contiguity_and_text():
    spec = TensorSpec.contiguous((2, 3), torch.float32)
    assert spec.is_contiguous and str(spec) == "f32[2,3]"
    transposed = TensorSpec((2, 3), (1, 2), torch.float16)
    assert not transposed.is_contiguous and str(transposed) == "f16[2,3]{1,2}"
    # strides of size-1 dims do not matter, as in torch
    assert TensorSpec((1, 3), (7, 1), torch.int64).is_contiguous
    assert transposed.storage_size() == 6
    assert TensorSpec((2, 3), (6, 2), torch.float32).storage_size() == 11


def test_scalar_spec():
    assert ScalarSpec(torch.float64).python_type is float
    assert str(ScalarSpec(torch.int64)) == "int"
    with pytest.raises(ValueError):
        ScalarSpec(torch.float32)


def test_domain():
    assert index_domain(4) == Domain("index", 4)
    assert str(index_domain(4)) == "index<4" and str(ANY) == "any"
    with pytest.raises(ValueError):
        Domain("index")
    with pytest.raises(ValueError):
        Domain("weird")


def _domain_of(kind: DomainKind) -> Domain:
    return Domain(kind, 0 if DOMAIN_RULES[kind].bound is BoundRole.NONE else 3)


def test_every_domain_kind_has_a_rule_in_declaration_order():
    assert tuple(DOMAIN_RULES) == tuple(DomainKind)


@pytest.mark.parametrize("kind", list(DomainKind))
def test_domain_kind_is_its_text(kind):
    domain = _domain_of(kind)
    assert Domain(kind.value, domain.bound) == domain and domain.kind is kind
    assert str(domain) == kind.value + (f"{domain.rule.bound.value}3" if domain.bound else "")
    assert f"{kind}" == kind.value
    flo, fhi, ilo, ihi = domain.value_ranges()
    assert flo <= fhi and ilo <= ihi


@pytest.mark.parametrize("kind", list(DomainKind))
def test_domain_promises_hold_for_drawn_values(kind):
    """Values from the middle of a domain's ranges keep its promise (sequences of 3)."""
    domain = _domain_of(kind)
    by_kind = {
        DomainKind.PERMUTATION: [0, 2, 1],
        DomainKind.INDEX: [0, 2, 2],
        DomainKind.NONZERO: [1, -1.5, 2],
        DomainKind.EXACT: [3, 3, 3],
        DomainKind.DISTINCT: [1, -1, 0],
    }
    assert domain.admits(by_kind.get(kind, [0.5, 0.5, 0.5]))


def test_domain_capacity():
    assert Domain("permutation", 4).holds(4) and not Domain("permutation", 4).holds(5)
    assert ANY.holds(10**6) and index_domain(2).holds(100)


def test_dtype_names_round_trip():
    for name in ("float32", "bfloat16", "int8", "bool", "complex64"):
        assert dtype_name(parse_dtype(name)) == name
    with pytest.raises(ValueError):
        parse_dtype("float8")


def test_storage_offset_is_validated_kept_and_shown_only_when_nonzero():
    spec = TensorSpec((2, 3), (1, 2), torch.int8, 5)
    assert str(spec) == "i8[2,3]{1,2}+5" and spec.is_contiguous is False
    assert str(TensorSpec.contiguous((2, 3), torch.uint8)) == "u8[2,3]"
    assert str(TensorSpec((4,), (1,), torch.int16, 3)) == "i16[4]+3"
    assert spec.with_dtype(torch.float32).offset == 5  # retyping an input keeps its layout
    assert spec.with_offset(0) == TensorSpec((2, 3), (1, 2), torch.int8)
    assert TensorSpec((2,), (1,), torch.float32).offset == 0
    for bad in (-1, True, 1.0):
        with pytest.raises(ValueError):
            TensorSpec((2,), (1,), torch.float32, bad)

"""Tests for torchfuzz.backends.oracle: what is a mismatch and what is noise."""

from __future__ import annotations

import pytest
import torch

from torchfuzz.backends.oracle import (
    DEFAULT_POLICY,
    ComparisonPolicy,
    Tolerance,
    compare_outputs,
)
from torchfuzz.backends.outcome import MismatchKind

INF, NAN = float("inf"), float("nan")


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _kinds(mismatches: tuple) -> list[MismatchKind]:
    return [m.kind for m in mismatches]


def _check(
    eager: torch.Tensor, compiled: torch.Tensor, reference: torch.Tensor | None = None
) -> list[MismatchKind]:
    return _kinds(compare_outputs([eager], [compiled], None if reference is None else [reference]))


# --- structure -----------------------------------------------------------------


def test_identical_outputs_pass() -> None:
    x = torch.randn(5, 3, generator=_gen())
    assert (
        compare_outputs([x, 3, 2.5, True], [x.clone(), 3, 2.5, True], [x.double(), 3, 2.5, True])
        == ()
    )


def test_count_mismatch() -> None:
    x = torch.ones(2)
    (m,) = compare_outputs([x, x], [x], None)
    assert m.kind is MismatchKind.COUNT
    assert m.output_index == 1


def test_shape_mismatch() -> None:
    assert _check(torch.zeros(2, 3), torch.zeros(3, 2)) == [MismatchKind.SHAPE]


def test_dtype_mismatch() -> None:
    assert _check(
        torch.zeros(3),
        torch.zeros(3, dtype=torch.float64),
        torch.zeros(3, dtype=torch.float64),
    ) == [MismatchKind.DTYPE]


@pytest.mark.parametrize(
    ("eager", "compiled"),
    [
        (torch.tensor(1.0), 1.0),
        (1.0, torch.tensor(1.0)),
        (1, 1.0),
        (1.0, 1),
        (True, 1),
        (1, True),
    ],
)
def test_kind_mismatch(eager: object, compiled: object) -> None:
    (m,) = compare_outputs([eager], [compiled], None)
    assert m.kind is MismatchKind.KIND


def test_reference_length_must_match() -> None:
    with pytest.raises(ValueError, match="reference"):
        compare_outputs([1], [1], [])


# --- exact kinds ---------------------------------------------------------------


def test_integer_and_bool_outputs_are_exact() -> None:
    big = torch.tensor([2**40, 7, -3])
    assert _check(big, big + torch.tensor([1, 0, 0])) == [MismatchKind.VALUE]
    assert _check(torch.tensor([True, False]), torch.tensor([True, True])) == [MismatchKind.VALUE]
    (m,) = compare_outputs([5], [6], [5])
    assert m.kind is MismatchKind.VALUE
    assert _kinds(compare_outputs([False], [True], None)) == [MismatchKind.VALUE]
    assert compare_outputs([big, 5, True], [big.clone(), 5, True], [big, 5, True]) == ()


def test_integer_mismatch_reports_max_abs_error() -> None:
    (m,) = compare_outputs([torch.tensor([1, 2, 3])], [torch.tensor([1, 5, 3])], None)
    assert m.max_abs_err == 3.0
    assert "(1,)" in m.detail


# --- float values --------------------------------------------------------------


def test_relative_error_1e3_on_whole_float32_tensor_is_caught() -> None:
    ref = torch.randn(64, 32, generator=_gen(1), dtype=torch.float64)
    eager = ref.float()
    (m,) = compare_outputs([eager], [eager * (1 + 1e-3)], [ref])
    assert m.kind is MismatchKind.VALUE
    assert m.max_rel_err == pytest.approx(1e-3, rel=0.05)


def test_relative_error_1e3_on_one_float32_element_is_caught() -> None:
    x = torch.randn(1000, 64, generator=_gen(2))
    eager, ref = x.sum(0), x.double().sum(0)
    compiled = x.flip(0).sum(0)
    compiled[17] = compiled[17] * (1 + 1e-3)
    (m,) = compare_outputs([eager], [compiled], [ref])
    assert m.kind is MismatchKind.VALUE
    assert "(17,)" in m.detail


def test_relative_error_1e3_on_one_element_of_magnitude_one() -> None:
    ref = torch.rand(256, generator=_gen(3), dtype=torch.float64) + 0.5
    eager = ref.float()
    compiled = eager.clone()
    compiled[100] *= 1 + 1e-3
    assert _check(eager, compiled, ref) == [MismatchKind.VALUE]


def test_element_swap_is_caught() -> None:
    x = torch.randn(8, 16, generator=_gen(4))
    compiled = x.clone()
    compiled[[2, 5]] = x[[5, 2]]
    assert _check(x, compiled, x.double()) == [MismatchKind.VALUE]
    assert _check(x, compiled) == [MismatchKind.VALUE]


def test_sign_flip_of_zero_sum_output_is_caught() -> None:
    eager = torch.tensor([1.0, -1.0, 2.0, -2.0])
    assert _check(eager, -eager, eager.double()) == [MismatchKind.VALUE]


def _chunked_sum(x: torch.Tensor, chunks: int) -> torch.Tensor:
    return torch.stack([c.sum(0) for c in x.chunk(chunks)]).sum(0)


def _sequential_sum(x: torch.Tensor) -> torch.Tensor:
    acc = torch.zeros(x.shape[1:], dtype=x.dtype)
    for row in x:
        acc = acc + row
    return acc


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(
    "reorder",
    [lambda x: x.flip(0).sum(0), lambda x: _chunked_sum(x, 7), _sequential_sum],
)
def test_float32_sum_reassociation_noise_is_not_reported(seed: int, reorder) -> None:
    x = torch.randn(1000, 64, generator=_gen(seed))
    assert compare_outputs([x.sum(0)], [reorder(x)], [x.double().sum(0)]) == ()


@pytest.mark.parametrize("seed", range(5))
def test_float32_matmul_blocking_noise_is_not_reported(seed: int) -> None:
    g = _gen(seed)
    a, b = torch.randn(128, 256, generator=g), torch.randn(256, 96, generator=g)
    blocked = sum(a[:, i : i + 32] @ b[i : i + 32] for i in range(0, 256, 32))
    by_products = (a[:, :, None] * b[None]).sum(1)
    ref = a.double() @ b.double()
    assert compare_outputs([a @ b, a @ b], [blocked, by_products], [ref, ref]) == ()


def test_float32_softmax_and_layer_norm_formulations_agree() -> None:
    x = torch.randn(64, 512, generator=_gen(5)) * 3
    shifted = torch.exp(x - x.max(-1, keepdim=True).values)
    softmax = shifted / shifted.sum(-1, keepdim=True)
    norm = (x - x.mean(-1, keepdim=True)) / torch.sqrt(
        x.var(-1, unbiased=False, keepdim=True) + 1e-5
    )
    eager = [x.softmax(-1), torch.nn.functional.layer_norm(x, (512,))]
    ref = [x.double().softmax(-1), torch.nn.functional.layer_norm(x.double(), (512,))]
    assert compare_outputs(eager, [softmax, norm], ref) == ()


def test_float_scalars_use_the_reference() -> None:
    x = torch.randn(1000, generator=_gen(6))
    eager, compiled, ref = (
        x.sum().item(),
        x.flip(0).sum().item(),
        x.double().sum().item(),
    )
    assert compare_outputs([eager], [compiled], [ref]) == ()
    assert _kinds(compare_outputs([eager], [eager * (1 + 1e-3) + 1e-3], [ref])) == [
        MismatchKind.VALUE
    ]


def test_complex_outputs_are_compared_componentwise() -> None:
    z = torch.randn(16, dtype=torch.complex64, generator=_gen(7))
    assert _check(z, z.clone(), z.to(torch.complex128)) == []
    assert _check(z, z * 1j, z.to(torch.complex128)) == [MismatchKind.VALUE]


# --- non-finite values ---------------------------------------------------------


def test_nan_in_a_new_position_is_caught() -> None:
    eager = torch.tensor([1.0, NAN, 3.0])
    compiled = torch.tensor([NAN, NAN, 3.0])
    assert _check(eager, compiled, eager.double()) == [MismatchKind.NAN]
    assert _check(eager, compiled) == [MismatchKind.NAN]


def test_inf_on_one_side_only_is_caught() -> None:
    eager = torch.tensor([1.0, 2.0])
    assert _check(eager, torch.tensor([1.0, INF]), eager.double()) == [MismatchKind.NAN]


def test_dropped_nan_propagation_is_caught() -> None:
    eager = torch.tensor([NAN, 2.0])
    assert _check(eager, torch.tensor([0.0, 2.0]), eager.double()) == [MismatchKind.NAN]


def test_wrong_sign_of_true_infinity_is_caught() -> None:
    eager = torch.tensor([-INF, 0.5])
    assert _check(eager, torch.tensor([INF, 0.5]), eager.double()) == [MismatchKind.NAN]
    assert _check(eager, eager.clone(), eager.double()) == []


def test_float16_overflow_kind_difference_is_not_reported() -> None:
    # Eager gives nan, compiled -inf where the true value overflows float16.
    ref = torch.tensor([1e6, -7e4, 1.5], dtype=torch.float64)
    eager = torch.tensor([NAN, NAN, 1.5], dtype=torch.float16)
    compiled = torch.tensor([-INF, -INF, 1.5], dtype=torch.float16)
    assert _check(eager, compiled, ref) == []


def test_float16_overflow_becoming_finite_is_caught() -> None:
    ref = torch.tensor([1e6], dtype=torch.float64)
    eager = torch.tensor([INF], dtype=torch.float16)
    assert _check(eager, torch.tensor([60000.0], dtype=torch.float16), ref) == [MismatchKind.NAN]


def test_float16_intermediate_overflow_in_eager_only_is_not_reported() -> None:
    # x * x / x overflows in eager float16; compiled keeps float32 intermediates.
    x = torch.tensor([300.0, 2.0], dtype=torch.float16)
    eager = x * x / x
    compiled = (x.float() * x.float() / x.float()).half()
    assert not eager.isfinite().all()
    assert _check(eager, compiled, x.double() * x.double() / x.double()) == []


def test_nan_position_check_without_reference_is_strict() -> None:
    eager = torch.tensor([NAN, INF, 1.0])
    assert _check(eager, torch.tensor([NAN, INF, 1.0])) == []
    assert _check(eager, torch.tensor([-INF, INF, 1.0])) == [MismatchKind.NAN]


# --- fallback without reference and policy ---------------------------------------


def test_fallback_without_reference() -> None:
    x = torch.randn(1000, 64, generator=_gen(8))
    eager = x.sum(0)
    assert _check(eager, x.flip(0).sum(0)) == []
    compiled = x.flip(0).sum(0)
    compiled[3] = eager[3] + 1e-3 * eager.abs().max()
    (m,) = compare_outputs([eager], [compiled], None)
    assert m.kind is MismatchKind.VALUE
    assert "reference" not in m.detail


def test_unusable_reference_falls_back_to_eager() -> None:
    x = torch.randn(4, generator=_gen(9))
    assert compare_outputs([x], [x.clone()], [torch.zeros(5, dtype=torch.float64)]) == ()


def test_policy_controls_tolerance() -> None:
    ref = torch.ones(4, dtype=torch.float64)
    eager, compiled = ref.float(), (ref * (1 + 1e-3)).float()
    assert _check(eager, compiled, ref) == [MismatchKind.VALUE]
    loose = ComparisonPolicy(
        tolerances={**DEFAULT_POLICY.tolerances, torch.float32: Tolerance(0.0, 1e-2)}
    )
    assert compare_outputs([eager], [compiled], [ref], loose) == ()
    with pytest.raises(ValueError, match="no tolerance"):
        loose.tolerance(torch.float8_e4m3fn)
    with pytest.raises(ValueError, match="multiplier"):
        ComparisonPolicy(multiplier=0.5)


def test_computed_in_picks_the_tolerance_row():
    reference = torch.tensor([2.4202], dtype=torch.float64)
    eager = torch.tensor([2.421875], dtype=torch.float64)  # a bfloat16 value, cast
    compiled = torch.tensor([2.4139], dtype=torch.float64)  # half a bfloat16 ulp off
    assert compare_outputs([eager], [compiled], [reference])  # float64's row: wrong
    assert not compare_outputs([eager], [compiled], [reference], computed_in=[torch.bfloat16])
    far = torch.tensor([2.6], dtype=torch.float64)  # many bfloat16 ulps off: still wrong
    assert compare_outputs([eager], [far], [reference], computed_in=[torch.bfloat16])

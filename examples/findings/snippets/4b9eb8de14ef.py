# 4b9eb8de14ef: a Python float input x (symbolic under dynamic=True, since specialize_float=False),
# round(x * x) -> OverflowError: cannot convert float infinity to integer
# in torch/utils/_sympy/value_ranges.py round_to_int (value-range analysis of RoundToInt(x**2):
# the range of x**2 is [0, oo] and round_to_int(oo) calls int(inf)).
# Eager: round(0.0 * 0.0) = 0. No capture flags needed.
# Verdict: real PyTorch bug (value-range analysis crashes on an unbounded float range).
import torch

def f(x):
    return round(x * x)

x = 0.0
expected = f(x)
got = torch.compile(f, backend="inductor", dynamic=True)(x)  # raises OverflowError
assert got == expected, (got, expected)
print("ok: no bug")

# 5cf14d7390ef (already 'known' in torchfuzz/data/known_issues.toml): b = t.item() on a bool
# tensor (unbacked bool under capture_scalar_outputs), return float(b)
#   -> InductorError: AssertionError: ToFloat(False)  (torch/utils/_sympy/value_ranges.py
#      increasing_map / simple_sympify: value-range analysis of ToFloat over a bool range {False, True}).
# Eager: float(False) = 0.0. aot_eager with the same settings passes: Inductor only.
# Verdict: real PyTorch bug (internal assertion on a valid program).
import torch
torch._dynamo.config.capture_scalar_outputs = True
torch._dynamo.config.capture_dynamic_output_shape_ops = True

def f(t):
    return float(t.item())   # the campaign case also returned bool(float(...)); not needed

t = torch.tensor(False)
expected = f(t)
got = torch.compile(f, backend="inductor", dynamic=True)(t)  # raises InductorError: AssertionError: ToFloat(False)
assert got == expected, (got, expected)
print("ok: no bug")

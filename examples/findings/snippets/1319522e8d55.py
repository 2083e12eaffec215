# 1319522e8d55: a stepped slice of length 1 broadcast against a longer tensor, under dynamic=True:
#     a[3::2] * 2 + b      with a: float32[5], b: float32[3]
# Eager: a[3::2] is [a[3]] (length 1), broadcast to 3 -> [60, 60, 60].
# Inductor (dynamic=True) generates a loop over len(b) that does NOT broadcast the slice: it reads
# a[3 + 2*i] for i = 0, 1, 2, i.e. a[3], a[5], a[7]: out-of-bounds reads of memory that was never
# written (garbage such as 9e-41 or 2e18 for int64), a silent wrong result. That is why the campaign's
# minimized repro (all-zero inputs, where/slice/add) sometimes passed in a fresh process: the result
# depends on what lies past the end of the input.
# Does not need capture_scalar_outputs (the campaign found it under inductor_dynamic_capture); static
# shapes are right; a[-2::2] and a[-2:4] (no step) are right; a[3::2], a[-2:4:2] with a pointwise op
# (or torch.where, as in the campaign) before the broadcast add are wrong.
# Here the check is on positions 1..2 of the result, which eager says equal position 0.
# Verdict: real PyTorch (Inductor, dynamic shapes) bug, silent wrong result / OOB read.
import torch

def f(a, b):
    return a[3::2] * 2 + b

a = torch.arange(5, dtype=torch.float32) * 10
b = torch.zeros(3, dtype=torch.float32)
expected = f(a, b)                     # [60., 60., 60.]
got = torch.compile(f, backend="inductor", dynamic=True)(a, b)
print("eager:", expected.tolist(), "compiled:", got.tolist())
assert torch.equal(got, expected), "compiled result differs from eager (reads past the end of a)"
print("ok: no bug")

# 5a45c76787de: torch.min(bool_tensor, dim) (values) under Inductor on CPU -> CppCompileError.
# Eager returns the per-row min of a bool tensor fine; Inductor generates C++ that does not compile
# (seen under dynamic=True; the campaign saw it under static `inductor` too).
# Verdict: real PyTorch (Inductor CPU codegen) bug.
import sys
import torch

def f(x):
    return torch.min(x.to(torch.bool), dim=2)[0]

x = torch.zeros(1, 1, 3, dtype=torch.float64)
expected = f(x)
dynamic = sys.argv[1] != "static" if len(sys.argv) > 1 else True
torch._dynamo.reset()
got = torch.compile(f, backend="inductor", dynamic=dynamic)(x)  # raises InductorError: CppCompileError
assert torch.equal(got, expected), (got, expected)
print("ok: no bug")

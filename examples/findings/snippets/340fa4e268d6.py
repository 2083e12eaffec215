# 340fa4e268d6: b = t.item() on a bool tensor (an unbacked *bool* under capture_scalar_outputs);
# v = torch.where(c, y, b) on bool tensors with broadcasting; return (v & z, v)
#   -> InductorError: AssertionError in torch/_inductor/scheduler.py recompute_size_and_body
#      (ir.py simplify_and_reorder).
# Needs: bool dtype (int64/float32 versions pass), the unbacked item() (a constant True passes),
# and v being both an output and consumed by `&` (either alone passes). Fails with dynamic=False too
# (only capture_scalar_outputs matters). Eager runs fine.
# Verdict: real PyTorch (Inductor) bug.
import torch
torch._dynamo.config.capture_scalar_outputs = True
torch._dynamo.config.capture_dynamic_output_shape_ops = True

def f(z, t, y, c):
    v = torch.where(c, y, t.item())
    return v & z, v

z = torch.zeros(8, 3, 2, dtype=torch.bool)
t = torch.zeros(1, dtype=torch.bool)
y = torch.zeros(1, 1, 2, dtype=torch.bool)
c = torch.zeros(8, 3, 1, dtype=torch.bool)
expected = f(z, t, y, c)
got = torch.compile(f, backend="inductor", dynamic=True)(z, t, y, c)  # raises InductorError: AssertionError
assert all(torch.equal(g, e) for g, e in zip(got, expected))
print("ok: no bug")

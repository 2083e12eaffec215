# ab2e2c581bba: a tensor whose size comes from .item() (unbacked u0 under capture_scalar_outputs),
# then torch.diagonal_scatter on it -> InductorError: LoweringException:
#   TypeError: evaluate_min(u0, 2) with unbacked symints   (torch/_inductor/lowering.py diagonal ->
#   sizevars.evaluate_min). The campaign case: full([1, u0, 6, 8, 2]).diagonal_scatter(offset=1, dim1=-1)
#   -> evaluate_min(2, u0 - 1); reduced here to a 2-d zeros(u0, 2) with offset 0.
# aot_eager with the same settings compiles and matches eager, so Dynamo/AOT can express the diagonal
# length min(u0, 2) (deferred runtime assert); only Inductor's diagonal lowering insists on a static min.
# (torch.diagonal(...).clone() on the same tensor passes: the failure is the diagonal_scatter lowering.)
# Verdict: real PyTorch (Inductor) bug: lowering does not support unbacked sizes; not a data-dependent branch.
import torch
torch._dynamo.config.capture_scalar_outputs = True
torch._dynamo.config.capture_dynamic_output_shape_ops = True

def f(n, src):
    a = torch.zeros(n.item(), 2)
    return torch.diagonal_scatter(a, src, offset=0)

n, src = torch.tensor(2, dtype=torch.int8), torch.ones(2)
expected = f(n, src)
got = torch.compile(f, backend="inductor", dynamic=True)(n, src)  # raises InductorError (evaluate_min ... unbacked)
assert torch.equal(got, expected), (got, expected)
print("ok: no bug")

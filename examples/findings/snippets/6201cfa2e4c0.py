# 6201cfa2e4c0: torch.take(x, i) with a 0-d int64 index tensor i, under capture_scalar_outputs
# (the program has no .item() of its own) -> GuardOnDataDependentSymNode: Could not extract
# specialized integer from data-dependent expression u0, raised from the backend (no graph break).
# Cause: torch/_decomp/decompositions.py `take` is `self.reshape(-1)[index]`; Python indexing with a
# 0-d integer tensor turns it into an integer (.item() -> unbacked u0 under capture) and select(u0)
# then guards on it. Passes without capture_scalar_outputs, with a 1-d index, and under aot_eager /
# eager backends (the decomposition is Inductor's).
# Verdict: real PyTorch bug: take with a tensor index is not data-dependent in shape (output shape =
# index shape), so nothing should guard on the index value; the u0 is introduced by the compiler itself.
import torch
torch._dynamo.config.capture_scalar_outputs = True
torch._dynamo.config.capture_dynamic_output_shape_ops = True

def f(i, x):
    return torch.take(x, i)

i = torch.tensor(0)
x = torch.tensor([[7]], dtype=torch.uint8)
expected = f(i, x)
got = torch.compile(f, backend="inductor", dynamic=True)(i, x)  # raises GuardOnDataDependentSymNode
assert torch.equal(got, expected), (got, expected)
print("ok: no bug")

# c6e02a025b86: torch.Tensor.put(index, source, accumulate=True) on a 0-d tensor under dynamic=True
#   -> InductorError: AssertionError in torch/_inductor/sizevars.py store (codegen/cpp.py store),
#      while generating the atomic_add Scatter into the 0-d (size-[1] view) buffer.
# Fails for any dtype (uint8, float32) when the target has one element (0-d or shape [1]; 0/1
# specialization makes its size static while the index length stays symbolic); shape [6] or [4,5]
# pass; dynamic=False passes; accumulate=False passes. Not capture-related.
# Eager: put on a 0-d tensor with index 0 (valid: -1 <= idx < numel=1) accumulates -> 0.
# Verdict: real PyTorch (Inductor) bug.
import torch

def f(x, idx, src):
    return x.put(idx, src, accumulate=True)

x = torch.tensor(5, dtype=torch.uint8)
idx = torch.zeros(3, dtype=torch.int64)
src = torch.tensor([1, 2, 3], dtype=torch.uint8)
expected = f(x, idx, src)  # tensor(11)
got = torch.compile(f, backend="inductor", dynamic=True)(x, idx, src)  # raises InductorError: AssertionError
assert torch.equal(got, expected), (got, expected)
print("ok: no bug")

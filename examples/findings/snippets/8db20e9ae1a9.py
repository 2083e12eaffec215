# 8db20e9ae1a9: comparing a bool tensor's .item() with an int under capture_scalar_outputs.
#     if x.item() > 0: ...        with x a bool tensor
# Python: False > 0 is False (bool is an int). Dynamo with capture_scalar_outputs makes the
# item an unbacked SymBool (Eq(u0, 1)) and running `SymBool > 0` raises TypeError ("'>' not
# supported between instances of 'SymBool' and 'int'"), reported as TorchRuntimeError "Dynamo
# failed to run FX node with fake tensors" -- the compile fails instead of tracing or breaking
# the graph. Backend "eager" is enough; fullgraph=False fails too. Found through torchfuzz's
# structure element "item_branch" (a branch on the first element of an operand).
# Verdict: real (Dynamo). Not found upstream (searched 2026-12-07).
import torch

torch._dynamo.config.capture_scalar_outputs = True


def f(x):
    if x.item() > 0:
        return x.clone()
    return ~x


x = torch.tensor(False)
print("eager:", f(x))
print("compiled:", torch.compile(f, backend="eager", dynamic=True)(x))  # raises
print("ok: no bug")

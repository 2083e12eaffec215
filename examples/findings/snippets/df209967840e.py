# df209967840e: torch.narrow(x, 0, 0, n) with a 0-d int64 tensor length n, then .split(8)[0],
# under capture_scalar_outputs -> GuardOnDataDependentSymNode: Could not guard on data-dependent
# expression Eq(u0, 0), raised by the backend (aot_eager fails too), from the split decomposition
# (torch/_decomp/decompositions.py split: `if dim_size == 0`).
#
# Why this is not the documented "program branches on data" limitation: Dynamo itself traces the
# program fine. It makes n's value a *backed* symbol (TORCH_LOGS=dynamic: "create_symbol s33 = 4 for
# L['n'].item()"), and guards the split on it (Ne(s33, 0), Eq((s33 + 7)//8, 1)); backend="eager"
# compiles and is right. But the FX graph Dynamo hands over still calls torch.narrow(x, 0, 0, n) with
# the *tensor* n; AOTAutograd re-traces it, the tensor->int conversion becomes a fresh *unbacked* u0
# (capture_scalar_outputs), unrelated to s33, and the split decomposition can no longer decide
# u0 == 0. Without capture_scalar_outputs, aot_eager and inductor both pass.
# Related: even with torch._check(1 <= k <= 7) on k = n.item() (so ceil(k/8) == 1 statically),
# aot_eager passes but Inductor's split lowering (lowering.py split -> sizevars.guard_int) raises
# "Could not extract specialized integer from ((u1 + 7)//8)": it ignores value ranges.
# Verdict: real PyTorch bug (AOT re-trace loses Dynamo's backed symbol); not the fuzzer's fault.
import torch
torch._dynamo.config.capture_scalar_outputs = True
torch._dynamo.config.capture_dynamic_output_shape_ops = True

def f(x, n):
    return torch.narrow(x, 0, 0, n).split(8)[0]

x, n = torch.arange(7.), torch.tensor(4)
expected = f(x, n)
torch.compile(f, backend="eager", dynamic=True)(x, n)   # Dynamo alone: fine
torch._dynamo.reset()
got = torch.compile(f, backend="inductor", dynamic=True)(x, n)  # raises GuardOnDataDependentSymNode
assert torch.equal(got, expected)
print("ok: no bug")

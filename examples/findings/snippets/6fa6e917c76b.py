# 6fa6e917c76b: narrow(x, 2, 3, n) with a 0-d int *tensor* length n (unbacked u0 under
# capture_scalar_outputs), then conv2d (output last dim u0-2), then expand of that dim to 5
# (which pins u0-2 == 1): Dynamo dies while inserting deferred runtime asserts:
#   InternalTorchDynamoError: RuntimeError: Runtime assertion failed for expression u0 + 3 <= s53 on node 'le'
#   (torch/fx/passes/runtime_assert.py _node_metadata_hook evaluates the new assert on fake args)
# Eager runs fine (narrow 3:6 of a size-6 dim is valid). Fails with backend="eager" too, so it is
# Dynamo/symbolic shapes, not Inductor. float32 is enough (the campaign had bfloat16).
# Verdict: real PyTorch bug (internal error, not a user-facing data-dependent-guard error).
import torch
torch._dynamo.config.capture_scalar_outputs = True
torch._dynamo.config.capture_dynamic_output_shape_ops = True

def f(n, w, x):
    v = torch.narrow(x, 2, 3, n)                                   # [4, 1, u0]
    y = torch.conv2d(v, w, padding=(1, 1), dilation=(2, 2))       # [1, 3, u0 - 2]
    return y.expand(6, 2, 5, -1, 5)                                # needs u0 - 2 == 1

n = torch.tensor(3, dtype=torch.int16)
w = torch.zeros(1, 4, 1, 3)
x = torch.zeros(4, 1, 6)
expected = f(n, w, x)
got = torch.compile(f, backend="inductor", dynamic=True)(n, w, x)  # raises InternalTorchDynamoError
assert torch.equal(got, expected)
print("ok: no bug")

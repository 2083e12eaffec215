# 6665b5af08cd: u = t.item() (unbacked int under capture_scalar_outputs); (u - u) - f with a Python
# float input f (dynamic=True makes f a symbolic float) -> AssertionError "1.47100000000000 not in VR[1, 1]"
# from ShapeEnv._maybe_guard_rel/_set_replacement/_update_var_to_range while tracing.
# Eager: 0 - 1.471 = -1.471. Passes with backend="eager", fails with backend="aot_eager" (AOTAutograd tracing / symbolic shapes, not Inductor).
# Verdict: real PyTorch bug (internal assertion in symbolic_shapes on a valid program).
import torch
torch._dynamo.config.capture_scalar_outputs = True
torch._dynamo.config.capture_dynamic_output_shape_ops = True

def f(x, t):
    u = t.item()
    return (u - u) - x

x, t = 1.471, torch.tensor(0)
expected = f(x, t)
got = torch.compile(f, backend="inductor", dynamic=True)(x, t)  # raises AssertionError: ... not in VR[...]
assert got == expected, (got, expected)
print("ok: no bug")

"""A compact, standalone repro script for one finding: ready to paste into a bug report.

Header with torch version, variant, config patches, seed and signature; the program as FX
code; inputs inline (literals where the case holds them); one compile variant; a short check
that exits 1 while the bug exists.  Inputs the program writes in place are compared after the
call; a mark_dynamic variant marks the runner's dims, a recompile variant calls the compiled
program again on the resized program's inputs. Only torch is imported.
"""

from __future__ import annotations

import inspect
import textwrap

import torch

from torchfuzz.backends.gradients import (
    differentiable_outputs,
    gradient_weights,
    input_gradients,
    requiring_grad,
    with_gradients,
)
from torchfuzz.backends.inputs import HELPERS, TENSOR_BUILDERS, input_call, make_literal
from torchfuzz.backends.oracle import DEFAULT_TOLERANCES
from torchfuzz.backends.python import (
    _FX_GLOBAL_IMPORTS,
    MARKING_SOURCE,
    _literal,
    _module_code,
)
from torchfuzz.backends.runner import gradient_names
from torchfuzz.backends.signature import Signature
from torchfuzz.backends.variants import Variant
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import DTYPE_NAMES
from torchfuzz.passes.resize import marked_dims, resize
from torchfuzz.passes.widen import widen_floats

# The oracle's rule, short: same structure, exact integers, float error vs the fp64
# reference at most 3x eager's (or its RMS) plus the dtype's floor, and agreeing non-finites.
_CHECK = '''
TOLERANCES = {TOLERANCES}
NAMES = {NAMES}


def problems(eager, compiled, reference):
    """What differs between eager and compiled outputs (empty when they agree)."""
    if len(eager) != len(compiled):
        return [f"{{len(compiled)}} outputs instead of {{len(eager)}}"]
    found = []
    for i, (e, c, r) in enumerate(zip(eager, compiled, reference)):
        if type(e) is not type(c):
            found.append(f"{{NAMES[i]}}: {{type(c).__name__}} instead of {{type(e).__name__}}")
        elif not isinstance(e, torch.Tensor):
            if isinstance(e, float) and abs(c - r) > 3 * abs(e - r) + 1e-5 + 1e-4 * abs(r):
                found.append(f"{{NAMES[i]}}: {{c!r}} instead of {{e!r}} (fp64: {{r!r}})")
            elif not isinstance(e, float) and e != c:
                found.append(f"{{NAMES[i]}}: {{c!r}} instead of {{e!r}}")
        elif e.shape != c.shape or e.dtype != c.dtype:
            found.append(f"{{NAMES[i]}}: {{c.dtype}}{{list(c.shape)}} instead of {{e.dtype}}{{list(e.shape)}}")
        elif not (e.is_floating_point() or e.is_complex()):
            if not torch.equal(e, c):
                found.append(f"{{NAMES[i]}}: {{int((e != c).sum())}} of {{e.numel()}} values differ")
        else:
            if e.is_complex():  # judged as (re, im) pairs
                e, c, r = (torch.view_as_real(x.resolve_conj()) for x in (e, c, r))
            e64, c64, r64 = e.double(), c.double(), r.double()
            representable = r64.isfinite() & (r64.abs() <= torch.finfo(e.dtype).max)
            finite = e64.isfinite() & c64.isfinite() & representable
            if ((e64.isfinite() != c64.isfinite()) & representable).any():
                found.append(f"{{NAMES[i]}}: NaN/inf in different positions")
                continue
            atol, rtol = TOLERANCES[e.dtype]
            err_e, err_c = (e64 - r64).abs()[finite], (c64 - r64).abs()[finite]
            noise = err_e.square().mean().sqrt() if err_e.numel() else 0.0
            bound = 3 * torch.maximum(err_e, torch.as_tensor(noise)) + atol + rtol * r64.abs()[finite]
            if (err_c > bound).any():
                found.append(f"{{NAMES[i]}}: max error vs fp64 {{float(err_c.max()):.3g}}, eager's {{float(err_e.max()):.3g}}")
    return found
'''

_MAIN = """
def as_tuple(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


{run}


def reference_run(inputs):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        wide = [x.cdouble() if isinstance(x, torch.Tensor) and x.is_complex()
                else x.double() if isinstance(x, torch.Tensor) and x.is_floating_point() else x
                for x in inputs]
        return run(Reference(), wide)
    finally:
        torch.set_default_dtype(previous)


def main():
    print(f"torch {{torch.__version__}}")
    calls = {calls}
    compiled = []
    torch._dynamo.reset()
    with torch._dynamo.config.patch({dynamo_config}), torch._inductor.config.patch({inductor_config}):
        compiled_fn = {compiled_fn}
        try:
            for make in calls:
                compiled.append(run(compiled_fn, make()))
        except Exception as exc:
            inner = getattr(exc, "inner_exception", None) or exc  # unwrap BackendCompilerFailed
            message = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
            print(f"FAIL {variant}: crash {{type(inner).__name__}}: {{message}}")
            return 1
    found = []
    for call, (make, values) in enumerate(zip(calls, compiled)):
        lines = problems(run(Program(), make()), values, reference_run(make()))
        found += [("second call, resized inputs: " if call else "") + line for line in lines]
    for line in found:
        print(f"FAIL {variant}: mismatch " + line)
    if not found:
        print("eager and compiled agree: the bug is gone")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
"""


_RUN_FORWARD = """
def run(fn, inputs):
    # The outputs, then the inputs in WRITTEN (the program writes them in place).
    return as_tuple(fn(*inputs)) + tuple(inputs[i] for i in WRITTEN)
"""

_RUN_BACKWARD = """
def run(fn, inputs):
    # The outputs, then the gradient of sum_i (outputs[i] * gradient_weights(i)).sum()
    # for each floating-point input (zeros where unused), then the inputs in WRITTEN.
    outputs, grads = with_gradients(fn, inputs)
    return outputs + grads + tuple(inputs[i] for i in WRITTEN)
"""


def _gradient_code() -> str:
    fns = (requiring_grad, gradient_weights, differentiable_outputs, input_gradients)
    return "\n\n".join(inspect.getsource(fn) for fn in (*fns, with_gradients))


def _backend_code(spec: str) -> tuple[str, str]:
    """(import lines, expression) for a backend name or pkg.mod:attr spec."""
    if ":" not in spec:
        return "", repr(spec)
    module, _, attr = spec.partition(":")
    return f"from {module} import {attr}\n", attr


def _inputs_code(graph: Graph, seed: int, name: str = "make_inputs") -> tuple[str, set[str]]:
    helpers: set[str] = set()
    lines = []
    for inp in graph.inputs:
        fn, args = input_call(inp, seed)
        if fn is None:
            code = _literal(args[0])
        elif fn is make_literal and inp.spec.is_contiguous and not inp.spec.offset:
            values = _literal(args[3])
            code = f"torch.tensor({values}, dtype=torch.{DTYPE_NAMES[inp.spec.dtype]}).reshape({args[0]!r})"
        else:
            helpers.add(fn.__name__)
            code = f"{fn.__name__}({', '.join(_literal(a) for a in args)})"
        lines.append(f"        {code},  # {inp.name}")
    return f"def {name}():\n    return [\n" + "\n".join(lines) + "\n    ]\n", helpers


def to_repro(graph: Graph, seed: int, variant: Variant, signature: Signature | None = None) -> str:
    """A short standalone script reproducing the failure of `graph` under `variant`."""
    program, names = _module_code(graph, "Program")
    reference, ref_names = _module_code(widen_floats(graph), "Reference")
    inputs, helpers = _inputs_code(graph, seed)
    resized = resize(graph, seed) if variant.recompile else None
    calls = ["make_inputs"]
    if resized is not None:
        resized_inputs, more = _inputs_code(resized, seed, "make_resized_inputs")
        inputs += "\n\n" + resized_inputs
        helpers |= more
        calls.append("make_resized_inputs")
    compiled_fn = (
        f"torch.compile(Program(), backend={{backend}}, dynamic={variant.dynamic},"
        f" fullgraph={variant.fullgraph})"
    )
    if variant.mark_dynamic:
        compiled_fn = f"marking({compiled_fn})"
    mutated = set(graph.mutated_inputs())
    written = [i for i, inp in enumerate(graph.inputs) if inp.name in mutated]
    if helpers & TENSOR_BUILDERS:
        helpers.add("zeros_strided")  # the storage every tensor builder fills
    helper_src = "\n\n".join(inspect.getsource(HELPERS[h]) for h in sorted(helpers))
    backend_import, backend_expr = _backend_code(variant.backend)
    imports = sorted({_FX_GLOBAL_IMPORTS[n] for n in names | ref_names if n in _FX_GLOBAL_IMPORTS})
    if "make_scalar" in helpers:
        imports.append("import random")
    if "make_tensor" in helpers:
        imports.append("import math")
    patches = [f"{k}={v!r}" for k, v in variant.dynamo_config + variant.inductor_config]
    header = "\n".join(
        [
            f"Repro of a torch.compile failure found by torchfuzz (case seed {seed}).",
            "",
            f"torch {torch.__version__}; variant {variant.name}: backend={variant.backend},"
            f" dynamic={variant.dynamic}, fullgraph={variant.fullgraph}"
            + (", backward=True (input gradients are compared too)" if variant.backward else "")
            + (", mark_dynamic=True (MARKED dims)" if variant.mark_dynamic else "")
            + (", recompile=True (called again on resized inputs)" if variant.recompile else ""),
            f"config patches: {', '.join(patches) or 'none'}",
            f"signature: {signature.text() if signature else 'n/a'}",
            "Exits 1 while the bug exists.",
        ]
    )
    tolerances = {
        f"torch.{DTYPE_NAMES[d]}": (t.atol, t.rtol)
        for d, t in DEFAULT_TOLERANCES.items()
        if d in DTYPE_NAMES
    }
    tolerance_text = "{" + ", ".join(f"{k}: {v!r}" for k, v in tolerances.items()) + "}"
    main = _MAIN.format(
        dynamo_config=dict(variant.dynamo_config),
        inductor_config=dict(variant.inductor_config),
        calls="[" + ", ".join(calls) + "]",
        compiled_fn=compiled_fn.format(backend=backend_expr),
        variant=variant.name,
        run=(_RUN_BACKWARD if variant.backward else _RUN_FORWARD).strip("\n"),
    )
    labels = [f"output {i}" for i in range(len(graph.outputs))]
    if variant.backward:
        imports.append("from collections.abc import Callable, Sequence")
        labels += [f"grad of {name}" for name in gradient_names(graph)]
    labels += [f"{name} after the call" for name in graph.mutated_inputs()]
    parts = [
        f'"""{header}\n"""',
        "import sys\n\nimport torch\nimport torch._dynamo\nimport torch._inductor.config\n"
        + "".join(f"{line}\n" for line in imports)
        + backend_import,
        f"# torchfuzz IR of the program:\n{textwrap.indent(graph.text(), '# ')}",
        program,
        reference,
        helper_src,
        inputs,
        f"# Inputs the program writes in place, compared after the call.\nWRITTEN = {written!r}",
        _gradient_code() if variant.backward else "",
        "# Marks these dims of each input dynamic right before the compiled call.\n"
        f"MARKED = {[list(d) for d in marked_dims(graph, seed)]!r}\n{MARKING_SOURCE}"
        if variant.mark_dynamic
        else "",
        _CHECK.format(TOLERANCES=tolerance_text, NAMES=repr(labels)),
        main,
    ]
    return "\n\n".join(p.strip("\n") + "\n" for p in parts if p.strip())

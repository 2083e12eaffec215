"""The python backend: a standalone script that rebuilds the inputs from the seed, runs eager
and each compile variant (a backward variant also compares the input gradients), compares
against an fp64 reference and exits 1 on a finding.  Inputs the program writes in place are
compared after the call; mark_dynamic variants mark the same dims as the runner, and recompile
variants call the compiled program again on the resized program's inputs.

The program code is what `torch.fx` generates from the shared lowering; the input builders and
the comparison rule are copied verbatim from torchfuzz, so the script cannot drift from the
in-process check. It imports only torch and the standard library.
"""

from __future__ import annotations

import ast
import inspect
import math
import re
import textwrap
from collections.abc import Sequence

import torch

from torchfuzz.backends import gradients, oracle, outcome
from torchfuzz.backends.inputs import helper_source, input_call
from torchfuzz.backends.lowering import lower_to_fx
from torchfuzz.backends.runner import gradient_names
from torchfuzz.backends.variants import Variant
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import DTYPE_NAMES
from torchfuzz.passes.resize import marked_dims, resize
from torchfuzz.passes.widen import widen_floats

# Imports for names that FX-generated code may reference.
_FX_GLOBAL_IMPORTS = {
    "inf": "from math import inf",
    "nan": "from math import nan",
    "operator": "import operator",
    "NoneType": "NoneType = type(None)",
    "device": "from torch import device",
    "fx_pytree": "import torch.fx._pytree as fx_pytree",
    "pytree": "import torch.utils._pytree as pytree",
}


def _module_code(graph: Graph, class_name: str) -> tuple[str, set[str]]:
    """The FX code as an nn.Module class, and the global names that code really uses."""
    fx_graph = lower_to_fx(graph)
    code = fx_graph.python_code(root_module="self")
    body = textwrap.indent(code.src.strip("\n"), "    ")
    used = {name for name in code.globals if re.search(rf"\b{re.escape(name)}\b", code.src)}
    return f"class {class_name}(torch.nn.Module):\n{body}\n", used


def _verbatim(module) -> str:
    """A module's source without its `__future__` and torchfuzz imports."""
    source = inspect.getsource(module)
    tree = ast.parse(source)
    drop: set[int] = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and (
            stmt.module == "__future__" or (stmt.module or "").startswith("torchfuzz")
        ):
            drop.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
    lines = source.splitlines()
    return "\n".join(line for n, line in enumerate(lines, 1) if n not in drop)


def _literal(value: object) -> str:
    """Python source evaluating to `value` (literal input data included: nan, inf, complex)."""
    if isinstance(value, torch.dtype):
        return f"torch.{DTYPE_NAMES[value]}"
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, list):
        return "[" + ", ".join(map(_literal, value)) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"  # repr gives a bare `nan`/`inf`
    if isinstance(value, complex):  # repr's `(1-0j)` reads back with +0.0 imaginary part
        return f"complex({_literal(value.real)}, {_literal(value.imag)})"
    return repr(value)


def _inputs_code(graph: Graph, seed: int, name: str = "make_inputs") -> str:
    calls = []
    for inp in graph.inputs:
        fn, args = input_call(inp, seed)
        if fn is None:
            code = _literal(args[0])
        else:
            code = f"{fn.__name__}({', '.join(_literal(a) for a in args)})"
        calls.append(f"        {code},  # {inp.name}")
    return f"def {name}():\n    return [\n" + "\n".join(calls) + "\n    ]\n"


# Both script kinds (this module's and repro.py's) mark dims with this; MARKED is a global
# of the script.
MARKING_SOURCE = """
# Marks the MARKED dims of each input dynamic right before the compiled call.
def marking(compiled):
    def call(*inputs):
        for x, dims in zip(inputs, MARKED):
            if dims and isinstance(x, torch.Tensor):
                torch._dynamo.mark_dynamic(x, dims)
        return compiled(*inputs)

    return call
"""

_MAIN = (
    """
def load_backend(spec):
    if ":" not in spec:
        return spec
    import importlib

    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def as_tuple(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


# The outputs, then (backward) the input gradients of the weighted output sum, then the
# inputs the program writes in place, read after the call.
def run(fn, inputs, backward):
    if not backward:
        values = as_tuple(fn(*inputs))
    else:
        outputs, grads = with_gradients(fn, inputs)
        values = outputs + grads
    return values + tuple(inputs[i] for i in WRITTEN)

"""
    + MARKING_SOURCE
    + """

# One compile; the values of each call: on make_inputs(), then (recompile) on the inputs
# of the resized program.
def run_variant(variant):
    torch._dynamo.reset()
    with torch._dynamo.config.patch(dict(variant["dynamo_config"])), \\
            torch._inductor.config.patch(dict(variant["inductor_config"])):
        compiled = torch.compile(
            Program(),
            backend=load_backend(variant["backend"]),
            dynamic=variant["dynamic"],
            fullgraph=variant["fullgraph"],
        )
        fn = marking(compiled) if variant.get("mark_dynamic", False) else compiled
        builders = [make_inputs, make_resized_inputs][: 2 if variant.get("recompile") else 1]
        return [run(fn, build(), variant.get("backward", False)) for build in builders]


def specializes_marked_dim(exc):
    while exc is not None:
        if isinstance(exc, torch.fx.experimental.symbolic_shapes.ConstraintViolationError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


# (eager, fp64 reference, why these cannot judge a variant or ""), on the inputs `build`
# makes.
def baseline(backward, build):
    try:
        eager = run(Program(), build(), backward)
    except Exception as exc:
        if not backward and build is make_inputs:
            raise
        what = "eager backward" if backward else "eager on the resized inputs"
        return None, None, f"{what} failed ({type(exc).__name__})"
    if backward and not differentiable_outputs(eager[:OUTPUTS]):
        return None, None, "no output requires grad"
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        wide = [x.cdouble() if isinstance(x, torch.Tensor) and x.is_complex()
                else x.double() if isinstance(x, torch.Tensor) and x.is_floating_point() else x
                for x in build()]
        reference = run(Reference(), wide, backward)
    except Exception as exc:
        print(f"no fp64 reference ({type(exc).__name__}): comparing against eager only")
        reference = None
    finally:
        torch.set_default_dtype(previous)
    return eager, reference, ""


def main():
    print(f"torch {torch.__version__}, torchfuzz seed {SEED}")
    baselines = {}
    failed = []
    for variant in VARIANTS:
        backward = variant.get("backward", False)
        builders = [make_inputs]
        if variant.get("recompile", False):
            if make_resized_inputs is None:
                print(f"{variant['name']}: skipped, no input size can grow")
                continue
            builders.append(make_resized_inputs)
        for build in builders:
            if (backward, build) not in baselines:
                baselines[backward, build] = baseline(backward, build)
        skip = next((baselines[backward, b][2] for b in builders if baselines[backward, b][2]), "")
        if skip:
            print(f"{variant['name']}: skipped, {skip}")
            continue
        try:
            calls = run_variant(variant)
        except Exception as exc:
            if variant.get("mark_dynamic", False) and specializes_marked_dim(exc):
                print(f"{variant['name']}: skipped, the program specializes a marked dim")
                continue
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            print(f"{variant['name']}: CRASH {type(exc).__name__}: {message}")
            failed.append(variant["name"])
            continue
        mismatches = []
        for call, (compiled, build) in enumerate(zip(calls, builders)):
            eager, reference, _ = baselines[backward, build]
            found = compare_outputs(
                eager,
                compiled,
                reference,
                gradients_of=GRADIENTS_OF if backward else (),
                written_inputs=WRITTEN_NAMES,
            )
            mismatches += [dataclasses.replace(m, second_call=call == 1) for m in found]
        for m in mismatches:
            print(f"{variant['name']}: MISMATCH {m.summary()}")
        if mismatches:
            failed.append(variant["name"])
        else:
            print(f"{variant['name']}: ok")
    print("FAIL: " + ", ".join(failed) if failed else "all variants agree with eager")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
"""
)


def to_python(graph: Graph, seed: int, variants: Sequence[Variant], header: str = "") -> str:
    """A standalone script checking `graph` with inputs from `seed` under `variants`;
    `header` (e.g. the finding's summary) goes into its docstring."""
    header = header or "Runs the program eagerly and under each variant; exits 1 on a finding."
    program, names = _module_code(graph, "Program")
    reference, ref_names = _module_code(widen_floats(graph), "Reference")
    imports = sorted({_FX_GLOBAL_IMPORTS[n] for n in names | ref_names if n in _FX_GLOBAL_IMPORTS})
    variant_dicts = ",\n    ".join(repr(v.to_dict()) for v in variants)
    mutated = set(graph.mutated_inputs())
    written = [i for i, inp in enumerate(graph.inputs) if inp.name in mutated]
    resized = resize(graph, seed) if any(v.recompile for v in variants) else None
    marked = marked_dims(graph, seed) if any(v.mark_dynamic for v in variants) else ()
    doc = f'"""torchfuzz repro (seed {seed}, torch {torch.__version__}).\n\n{header}\n"""'
    parts = [
        doc,
        "from __future__ import annotations\n\nimport math\nimport random\nimport sys\n",
        "\n".join(
            ["import torch", "import torch._dynamo", "import torch._inductor.config", *imports]
        ),
        f"SEED = {seed}\nVARIANTS = [\n    {variant_dicts},\n]",
        "# Backward variants compare the outputs, then the gradients of these inputs.\n"
        f"OUTPUTS = {len(graph.outputs)}\nGRADIENTS_OF = {list(gradient_names(graph))!r}",
        "# Every variant compares these inputs (positions, names) after the call too: the\n"
        "# program writes them in place.\n"
        f"WRITTEN = {written!r}\nWRITTEN_NAMES = {list(graph.mutated_inputs())!r}",
        "# The dims of each input that mark_dynamic variants mark dynamic.\n"
        f"MARKED = {[list(dims) for dims in marked]!r}",
        f"# The program (torch.fx code of the torchfuzz graph):\n{textwrap.indent(graph.text(), '# ')}",
        program,
        "# The same program with every floating dtype widened to float64 (the reference).",
        reference,
        "# Inputs, rebuilt from the seed.",
        helper_source(),
        _inputs_code(graph, seed),
        "# Recompile variants call the compiled program again on the inputs of the same\n"
        "# program with one size grown (torchfuzz.passes.resize; None: no size can grow).",
        "make_resized_inputs = None\n"
        if resized is None
        else _inputs_code(resized, seed, "make_resized_inputs"),
        "# ---- comparison rule: torchfuzz.backends.outcome and .oracle, verbatim ----",
        _verbatim(outcome),
        _verbatim(oracle),
        "# ---- gradients for backward variants: torchfuzz.backends.gradients, verbatim ----",
        _verbatim(gradients),
        "# ---- main ----",
        _MAIN,
    ]
    return "\n\n".join(p.strip("\n") + "\n" for p in parts)

"""The python backend: a standalone script that rebuilds the inputs from the seed, runs eager
and each compile variant (a backward variant also compares the input gradients), compares
against an fp64 reference and exits 1 on a finding.

The program code is what `torch.fx` generates from the shared lowering; the input builders and
the comparison rule are copied verbatim from torchfuzz, so the script cannot drift from the
in-process check. It imports only torch and the standard library.
"""

from __future__ import annotations

import ast
import inspect
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
    if isinstance(value, torch.dtype):
        return f"torch.{DTYPE_NAMES[value]}"
    if isinstance(value, type):
        return value.__name__
    return repr(value)


def _inputs_code(graph: Graph, seed: int) -> str:
    calls = []
    for inp in graph.inputs:
        fn, args = input_call(inp, seed)
        if fn is None:
            code = _literal(args[0])
        else:
            code = f"{fn.__name__}({', '.join(_literal(a) for a in args)})"
        calls.append(f"        {code},  # {inp.name}")
    return "def make_inputs():\n    return [\n" + "\n".join(calls) + "\n    ]\n"


_MAIN = """
def load_backend(spec):
    if ":" not in spec:
        return spec
    import importlib

    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def as_tuple(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


# The outputs, then (backward) the input gradients of the weighted output sum.
def run(fn, inputs, backward):
    if not backward:
        return as_tuple(fn(*inputs))
    outputs, grads = with_gradients(fn, inputs)
    return outputs + grads


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
        return run(compiled, make_inputs(), variant.get("backward", False))


# (eager, fp64 reference, why these cannot judge a variant or "").
def baseline(backward):
    try:
        eager = run(Program(), make_inputs(), backward)
    except Exception as exc:
        if not backward:
            raise
        return None, None, f"eager backward failed ({type(exc).__name__})"
    if backward and not differentiable_outputs(eager[:OUTPUTS]):
        return None, None, "no output requires grad"
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        wide = [x.double() if isinstance(x, torch.Tensor) and x.is_floating_point() else x
                for x in make_inputs()]
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
        if backward not in baselines:
            baselines[backward] = baseline(backward)
        eager, reference, skip = baselines[backward]
        if skip:
            print(f"{variant['name']}: skipped, {skip}")
            continue
        try:
            compiled = run_variant(variant)
        except Exception as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            print(f"{variant['name']}: CRASH {type(exc).__name__}: {message}")
            failed.append(variant["name"])
            continue
        mismatches = compare_outputs(
            eager, compiled, reference, gradients_of=GRADIENTS_OF if backward else ()
        )
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


def to_python(graph: Graph, seed: int, variants: Sequence[Variant], header: str = "") -> str:
    """A standalone script checking `graph` with inputs from `seed` under `variants`;
    `header` (e.g. the finding's summary) goes into its docstring."""
    header = header or "Runs the program eagerly and under each variant; exits 1 on a finding."
    program, names = _module_code(graph, "Program")
    reference, ref_names = _module_code(widen_floats(graph), "Reference")
    imports = sorted({_FX_GLOBAL_IMPORTS[n] for n in names | ref_names if n in _FX_GLOBAL_IMPORTS})
    variant_dicts = ",\n    ".join(repr(v.to_dict()) for v in variants)
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
        f"# The program (torch.fx code of the torchfuzz graph):\n{textwrap.indent(graph.text(), '# ')}",
        program,
        "# The same program with every floating dtype widened to float64 (the reference).",
        reference,
        "# Inputs, rebuilt from the seed.",
        helper_source(),
        _inputs_code(graph, seed),
        "# ---- comparison rule: torchfuzz.backends.outcome and .oracle, verbatim ----",
        _verbatim(outcome),
        _verbatim(oracle),
        "# ---- gradients for backward variants: torchfuzz.backends.gradients, verbatim ----",
        _verbatim(gradients),
        "# ---- main ----",
        _MAIN,
    ]
    return "\n\n".join(p.strip("\n") + "\n" for p in parts)

"""The python backend: a standalone script that rebuilds the inputs from the seed and judges
the program under each compile variant exactly as :func:`torchfuzz.backends.runner.check`
does, printing one line per variant and exiting 1 on a finding.

The program code is what `torch.fx` generates from the shared lowering (the reference is the
same lowering of the float64 program); the input builders are copied from
:mod:`torchfuzz.backends.inputs`; the per-program data the judge needs (outputs, gradient and
written-input names, the ``computed_in`` precisions, marked dims) is written in as literals.
The verdict procedure is not rewritten: the modules :mod:`~torchfuzz.backends.outcome`,
:mod:`~torchfuzz.backends.oracle`, :mod:`~torchfuzz.backends.gradients`,
:mod:`~torchfuzz.backends.judge` and :mod:`~torchfuzz.backends.standalone` are embedded
verbatim at the bottom of the script (:func:`embedded_judge`), so the script cannot drift
from the in-process check.  Only the crash stage is coarser (no stage classification).
The script imports only torch and the standard library (and a custom backend by name).
"""

from __future__ import annotations

import ast
import functools
import inspect
import math
import re
import textwrap
from collections.abc import Sequence

import torch

from torchfuzz.backends import gradients, judge, oracle, outcome, standalone, structure_helpers
from torchfuzz.backends.inputs import helper_source, input_call
from torchfuzz.backends.lowering import lower_to_fx
from torchfuzz.backends.module_state import bind_state_source, init_code
from torchfuzz.backends.runner import computed_in, gradient_names, written_positions
from torchfuzz.backends.structure import definitions, one_graph
from torchfuzz.backends.variants import Variant
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.structure import Structure
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
    # not an import: the helper that binds a submodule's state (module_state.bind_state)
    "bind_state": bind_state_source().strip("\n"),
}


def _module_code(graph: Graph, class_name: str) -> tuple[str, set[str]]:
    """The FX code as an nn.Module class (after the definitions of the structure functions
    it calls), and the global names that code really uses (``bind_state`` when its
    ``__init__(self, inputs)`` builds submodules: the reference's bound from the widened
    inputs, as the in-memory reference is)."""
    fx_graph = lower_to_fx(graph)
    code = fx_graph.python_code(root_module="self")
    body = textwrap.indent(code.src.strip("\n"), "    ")
    # A global is used when it is a whole word of the code (names are identifiers: all \w).
    used = set(code.globals).intersection(re.findall(r"\w+", code.src))
    names = tuple(inp.name for inp in graph.inputs)
    init = init_code(fx_graph, names, widen=class_name == "Reference")
    if init:
        used.add("bind_state")
    defined = definitions({n: code.globals[n] for n in sorted(used) if n in code.globals})
    defined = f"{defined}\n\n\n" if defined else ""
    return f"{defined}class {class_name}(torch.nn.Module):\n{init}{body}\n", used


def structure_code(graph: Graph, variants: Sequence[Variant]) -> tuple[str, str, set[str]]:
    """The structure helpers (verbatim) when `graph` has structure, "" otherwise; and the
    program as variants needing one graph compile it (and the globals it uses), when one of
    `variants` does."""
    if graph.structure is Structure.NONE:
        return "", "", set()
    helpers = (
        "# Python structure around some calls: torchfuzz.backends.structure_helpers, verbatim.\n"
        + _verbatim(structure_helpers)
    )
    whole = any(v.fullgraph or v.backend in standalone.EXPORT_BACKENDS for v in variants)
    if not whole:
        return helpers, "", set()
    program, names = _module_code(one_graph(graph), "OneGraphProgram")
    note = "# The program less its deliberate graph breaks: what fullgraph and export compile."
    return helpers, f"{note}\n{program}", names


def _lines(node: ast.AST) -> range:
    return range(node.lineno, (node.end_lineno or node.lineno) + 1)


@functools.cache
def _verbatim(module, docstrings: bool = True) -> str:
    """A module's source without its `__future__` and torchfuzz imports (and, unless
    `docstrings`, without its docstrings: the code itself is unchanged). Parsed once per
    process: the source is constant."""
    source = inspect.getsource(module)
    tree = ast.parse(source)
    drop: set[int] = set()
    lines = source.splitlines()
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and (
            stmt.module == "__future__" or (stmt.module or "").startswith("torchfuzz")
        ):
            drop.update(_lines(stmt))
    scopes = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    for node in ast.walk(tree) if not docstrings else ():
        if not isinstance(node, scopes) or ast.get_docstring(node, clean=False) is None:
            continue
        body = node.body
        if len(body) == 1:  # a body of only a docstring keeps a `pass` in its place
            indent = lines[body[0].lineno - 1][: body[0].col_offset]
            lines[body[0].lineno - 1] = indent + "pass"
            drop.update(_lines(body[0])[1:])
        else:
            drop.update(_lines(body[0]))
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


def _tuple_literal(values: Sequence[object]) -> str:
    items = ", ".join(map(_literal, values))
    return f"({items},)" if len(values) == 1 else f"({items})"


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


@functools.cache
def embedded_judge(docstrings: bool = True) -> str:
    """The judge as scripts embed it: outcome, oracle, gradients, judge and standalone,
    verbatim (less their docstrings, for the short repro), under a marker comment. Built
    once per process."""
    what = "verbatim" if docstrings else "verbatim less docstrings"
    return "\n\n".join(
        [
            f"# ---- torchfuzz's judge, {what}: torchfuzz.backends.outcome, .oracle,"
            " .gradients, .judge, .standalone ----",
            *(_verbatim(m, docstrings) for m in (outcome, oracle, gradients, judge, standalone)),
        ]
    )


def subject_code(resized: bool, whole: bool = False) -> str:
    """``main()``'s construction of the judge's Subject from the script's globals."""
    return (
        "Subject(\n"
        "        program=Program,\n"
        "        reference=Reference,\n"
        "        make_inputs=make_inputs,\n"
        f"        make_resized_inputs={'make_resized_inputs' if resized else 'None'},\n"
        "        outputs=OUTPUTS,\n"
        "        written=WRITTEN,\n"
        "        written_names=WRITTEN_NAMES,\n"
        "        gradients_of=GRADIENTS_OF,\n"
        "        computed_in=COMPUTED_IN,\n"
        "        marked=MARKED,\n"
        + ("        one_graph=OneGraphProgram,\n" if whole else "")
        + "    )"
    )


def data_code(graph: Graph, seed: int, marked: bool) -> str:
    """The per-program data the judge needs, as script globals."""
    dims = marked_dims(graph, seed) if marked else ()
    return "\n".join(
        [
            "# What the judge needs to know of the program: the number of outputs; the inputs",
            "# whose gradients backward variants compare; the inputs the program writes in",
            "# place (positions, names), compared after the call; per output, the less precise",
            "# dtype it is computed in (its tolerance row), or None; the dims of each input",
            "# that mark_dynamic variants mark dynamic.",
            f"OUTPUTS = {len(graph.outputs)}",
            f"GRADIENTS_OF = {gradient_names(graph)!r}",
            f"WRITTEN = {written_positions(graph)!r}",
            f"WRITTEN_NAMES = {graph.mutated_inputs()!r}",
            f"COMPUTED_IN = {_tuple_literal(computed_in(graph))}",
            f"MARKED = {tuple(tuple(d) for d in dims)!r}",
        ]
    )


EXITS = (
    "Exit status: 1 when a variant mismatches or crashes; 2 when the program cannot be judged\n"
    "(eager raises: invalid; eager is not bit-reproducible: skipped); else 0."
)

_MAIN = """
def main():
    print(f"torch {torch.__version__}, torchfuzz seed {SEED}")
    subject = SUBJECT_CODE
    outcome = judge(subject, [as_variant(v) for v in VARIANTS], compile_and_call)
    for line in verdict_lines(outcome):
        print(line)
    return exit_status(outcome)
"""


def to_python(graph: Graph, seed: int, variants: Sequence[Variant], header: str = "") -> str:
    """A standalone script checking `graph` with inputs from `seed` under `variants`;
    `header` (e.g. the finding's summary) goes into its docstring."""
    header = header or "Runs the program eagerly and under each variant; exits 1 on a finding."
    program, names = _module_code(graph, "Program")
    reference, ref_names = _module_code(widen_floats(graph), "Reference")
    helpers, whole, whole_names = structure_code(graph, variants)
    names |= ref_names | whole_names
    imports = sorted({_FX_GLOBAL_IMPORTS[n] for n in names if n in _FX_GLOBAL_IMPORTS})
    variant_dicts = ",\n    ".join(repr(v.to_dict()) for v in variants)
    resized = resize(graph, seed) if any(v.recompile for v in variants) else None
    doc = (
        f'"""torchfuzz repro (seed {seed}, torch {torch.__version__}).\n\n{header}\n\n{EXITS}\n"""'
    )
    parts = [
        doc,
        "from __future__ import annotations\n\nimport math\nimport random\nimport sys\n",
        "\n".join(["import torch", "import torch._dynamo", *imports]),
        f"SEED = {seed}\nVARIANTS = [\n    {variant_dicts},\n]",
        data_code(graph, seed, any(v.mark_dynamic for v in variants)),
        f"# The program (torch.fx code of the torchfuzz graph):\n{textwrap.indent(graph.text(), '# ')}",
        helpers,
        program,
        whole,
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
        _MAIN.replace("SUBJECT_CODE", subject_code(resized is not None, bool(whole))),
        embedded_judge(),
        'if __name__ == "__main__":\n    sys.exit(main())\n',
    ]
    return "\n\n".join(p.strip("\n") + "\n" for p in parts if p)

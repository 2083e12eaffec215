"""A compact, standalone repro script for one finding: ready to paste into a bug report.

Header with torch version, variant, config patches, seed and signature; the program as FX
code (and its float64 twin, the reference); inputs inline (literals where the case holds
them); the one compile variant and the data the judge needs; then, at the bottom under a
marker comment, torchfuzz's judge verbatim (the same code as :func:`runner.check
<torchfuzz.backends.runner.check>` and the python backend run, see
:func:`torchfuzz.backends.python.embedded_judge`).  It exits 1 while the bug exists, 0 when
it is fixed, 2 when eager itself fails or is not bit-reproducible.  Only torch (and a custom
backend, if the variant names one) is imported, besides the standard library.

Run as a file, the script judges in a child process (itself, with ``--child``) so that a fault
is a verdict too: a child killed by a signal, or still running after ``TIMEOUT`` seconds
(``--timeout S``; its process group is then killed), prints one ``FAIL`` line and exits 1.
Exec'd in process (no ``__file__``) it judges in place, as its ``main()`` does.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import signal
import subprocess
import sys
import textwrap
import time

import torch

from torchfuzz.backends.inputs import TENSOR_BUILDERS, helper_source, input_call, make_literal
from torchfuzz.backends.python import (
    _FX_GLOBAL_IMPORTS,
    _literal,
    _module_code,
    data_code,
    embedded_judge,
    structure_code,
    subject_code,
)
from torchfuzz.backends.signature import Signature
from torchfuzz.backends.variants import Variant
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import DTYPE_NAMES
from torchfuzz.passes.resize import resize
from torchfuzz.passes.widen import widen_floats

# Seconds the child may judge before it counts as hung: the campaign's default per case.
TIMEOUT = 300.0

_MAIN = """
def main():
    print(f"torch {torch.__version__}", flush=True)
    subject = SUBJECT_CODE
    outcome = judge(subject, [as_variant(VARIANT)], compile_and_call)
    for line in verdict_lines(outcome):
        print(line)
    return exit_status(outcome)


def isolated_main():
    if "__file__" not in globals():  # exec'd in process: no file to re-run in a child
        return main()
    parser = argparse.ArgumentParser(description="Exits 1 while the bug exists, 0 once fixed.")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds (default %(default)s)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
        return main()
    command = [sys.executable, "-u", __file__, "--child"]
    return run_in_child(command, args.timeout, VARIANT["name"])
"""


def exit_with_parent(parent: int) -> None:
    """Kill this child's process group once the script that started it is gone (killed
    by its caller's own timeout, say): a hung child must not outlive it."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os.killpg(0, signal.SIGKILL)


def _kill_group(child: subprocess.Popen) -> None:
    """Kill ``child``'s process group (it leads one): compile workers it started go too."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if hasattr(os, "killpg"):
            os.killpg(child.pid, signal.SIGKILL)
        else:
            child.kill()


def run_in_child(command: list[str], timeout: float, variant: str) -> int:
    """Run ``command`` (the script in child mode) in a new session and pass its output and
    exit status through; its death by a signal, or a run past ``timeout`` seconds, is a
    failure of ``variant``: one ``FAIL`` line and status 1."""
    sys.stdout.flush()
    child = subprocess.Popen(command, start_new_session=True)
    try:
        status = child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(child)
        child.wait()
        print(f"FAIL {variant}: timeout after {timeout:g} s")
        return 1
    except BaseException:  # interrupted: leave no child behind
        _kill_group(child)
        raise
    if status >= 0:
        return status
    _kill_group(child)  # what it started, if still there
    try:
        name = signal.Signals(-status).name
    except ValueError:
        name = f"signal {-status}"
    print(f"FAIL {variant}: killed {name}")
    return 1


@functools.cache
def _child_runner_source() -> str:
    """The script's copy of the functions that judge in a child process (read once)."""
    return "\n\n".join(inspect.getsource(f) for f in (exit_with_parent, _kill_group, run_in_child))


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
    if resized is not None:
        resized_inputs, more = _inputs_code(resized, seed, "make_resized_inputs")
        inputs += "\n\n" + resized_inputs
        helpers |= more
    if helpers & TENSOR_BUILDERS:
        helpers.add("zeros_strided")  # the storage every tensor builder fills
    helper_src = helper_source(tuple(sorted(helpers)))
    backend_import, backend_expr = _backend_code(variant.backend)
    structure, whole, whole_names = structure_code(graph, (variant,))
    names |= ref_names | whole_names
    imports = sorted({_FX_GLOBAL_IMPORTS[n] for n in names if n in _FX_GLOBAL_IMPORTS})
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
            "Exits 1 while the bug exists, 0 once it is fixed (2: eager itself fails or is not",
            "bit-reproducible).  It judges in a child process: a child killed by a signal or",
            "running past TIMEOUT seconds (--timeout S) is a failure too.  The judge at the",
            "bottom is torchfuzz's own, verbatim.",
        ]
    )
    fields = {**variant.to_dict(), "backend": "BACKEND"}
    variant_text = repr(fields).replace("'BACKEND'", backend_expr)
    parts = [
        f'"""{header}\n"""',
        "from __future__ import annotations\n\n"
        "import argparse\nimport contextlib\nimport os\nimport signal\nimport subprocess\n"
        "import sys\nimport threading\nimport time\n\nimport torch\n"
        + "".join(f"{line}\n" for line in imports)
        + backend_import,
        f"# torchfuzz IR of the program:\n{textwrap.indent(graph.text(), '# ')}",
        structure,
        program,
        whole,
        reference,
        helper_src,
        inputs,
        f"# The compile variant.\nVARIANT = {variant_text}",
        data_code(graph, seed, variant.mark_dynamic),
        f"TIMEOUT = {TIMEOUT!r}  # seconds; --timeout S",
        _child_runner_source(),
        _MAIN.replace("SUBJECT_CODE", subject_code(resized is not None, bool(whole))),
        embedded_judge(docstrings=False),
        'if __name__ == "__main__":\n    sys.exit(isolated_main())\n',
    ]
    return "\n\n".join(p.strip("\n") + "\n" for p in parts if p.strip())

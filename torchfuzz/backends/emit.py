"""A case as text in each of the forms `torchfuzz generate --emit` offers."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence

from torchfuzz.backends.lowering import to_fx
from torchfuzz.backends.python import to_python
from torchfuzz.backends.variants import Variant
from torchfuzz.ir.dot import to_dot
from torchfuzz.ir.serialize import Case


class EmitFormat(str, enum.Enum):
    PYTHON = "python"  # a standalone script checking the variants
    FX = "fx"  # the code of the lowered torch.fx graph
    IR = "ir"  # the IR text form
    DOT = "dot"  # Graphviz
    JSON = "json"  # the case file


_EMITTERS: dict[EmitFormat, Callable[[Case, Sequence[Variant]], str]] = {
    EmitFormat.PYTHON: lambda case, variants: to_python(case.graph, case.seed, variants),
    EmitFormat.FX: lambda case, _: to_fx(case.graph).code.strip("\n"),
    EmitFormat.IR: lambda case, _: case.graph.text(),
    EmitFormat.DOT: lambda case, _: to_dot(case.graph),
    EmitFormat.JSON: lambda case, _: case.to_json(),
}


def emit(case: Case, form: EmitFormat, variants: Sequence[Variant] = ()) -> str:
    """`case` as text of the form `form` (`variants` are those a Python script checks)."""
    return _EMITTERS[EmitFormat(form)](case, variants)

"""A synthetic backend with several independent bugs, each in one op pattern (issue 10).

Unlike tests/_bugs.py (whose bugs corrupt every float output of a graph that contains
their trigger), each bug here changes only the value of the node that matches its
pattern, as a real miscompiled kernel would, so a finding can be traced to one op:

- ``mul_broadcast``: a float ``mul`` of two tensors of different shapes is 1 % too large;
- ``where_broadcast``: a float ``where`` whose condition is broadcast is negated;
- ``int_add``: an integer ``add`` of two tensors is off by one;
- ``mm_strided``: a float ``mm`` with a non-contiguous operand is halved;
- ``exp_half``: a float32 ``exp`` is rounded through float16;
- ``cumsum_scaled``: a float ``cumsum`` is 1 % too large (not in ``multi_bug_backend``,
  whose ``cumsum`` aborts);
- ``abort_cumsum``: a ``cumsum`` aborts the process (SIGABRT);
- ``segfault_flip``: a ``flip`` reads address 0 (SIGSEGV);
- ``hang_roll``: a ``roll`` never returns.

``multi_bug_backend`` has all of them; ``backend_with(*names)`` only some.
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from functorch.compile import make_boxed_func
from torch._dynamo.backends.common import aot_autograd

from torchfuzz.backends.signature import root_op

aten = torch.ops.aten


def _val(arg: Any) -> Any:
    return arg.meta.get("val") if isinstance(arg, torch.fx.Node) else arg


def _tensors(node: torch.fx.Node) -> list[torch.Tensor]:
    return [v for v in map(_val, node.args) if isinstance(v, torch.Tensor)]


def _float_out(node: torch.fx.Node) -> bool:
    out = _val(node)
    return isinstance(out, torch.Tensor) and out.is_floating_point()


def _int_out(node: torch.fx.Node) -> bool:
    out = _val(node)
    return isinstance(out, torch.Tensor) and not (
        out.is_floating_point() or out.is_complex() or out.dtype == torch.bool
    )


def _broadcasting(node: torch.fx.Node) -> bool:
    # str(): symbolic sizes (dynamic variants) are not hashable; duck sizing gives equal
    # sizes one symbol, so a broadcast shows in the text as in the numbers
    shapes = {str(tuple(t.shape)) for t in _tensors(node)}
    return len(_tensors(node)) >= 2 and len(shapes) > 1


def _abort(t: torch.Tensor) -> torch.Tensor:
    os.abort()


def _segfault(t: torch.Tensor) -> torch.Tensor:
    ctypes.string_at(0)
    return t


def _hang(t: torch.Tensor) -> torch.Tensor:
    while True:
        time.sleep(1)


@dataclass(frozen=True)
class Bug:
    """Replace the value of every node of `target` for which `applies` holds by `wrong(value)`."""

    name: str
    target: Any
    applies: Callable[[torch.fx.Node], bool]
    wrong: Callable[[torch.Tensor], torch.Tensor]


BUGS: dict[str, Bug] = {
    bug.name: bug
    for bug in (
        Bug(
            "mul_broadcast",
            aten.mul.Tensor,
            lambda n: _float_out(n) and _broadcasting(n),
            lambda t: t * 1.01,
        ),
        Bug(
            "where_broadcast",
            aten.where.self,
            lambda n: (
                _float_out(n) and str(tuple(_val(n.args[0]).shape)) != str(tuple(_val(n).shape))
            ),
            lambda t: -t,
        ),
        Bug(
            "int_add",
            aten.add.Tensor,
            lambda n: len(_tensors(n)) == 2 and _int_out(n),
            lambda t: t + 1,
        ),
        Bug(
            "mm_strided",
            aten.mm.default,
            lambda n: _float_out(n) and not all(t.is_contiguous() for t in _tensors(n)),
            lambda t: t * 0.5,
        ),
        Bug(
            "exp_half",
            aten.exp.default,
            lambda n: _val(n).dtype == torch.float32,
            lambda t: t.half().float(),
        ),
        Bug("cumsum_scaled", aten.cumsum.default, _float_out, lambda t: t * 1.01),
        # Within float32's tolerance (rtol 1e-4): no bug, but a later round can amplify it.
        Bug("mul_tiny", aten.mul.Tensor, _float_out, lambda t: t * (1 + 2e-5)),
        Bug("round_off", aten.round.default, _float_out, lambda t: t + 1),
        Bug("abort_cumsum", aten.cumsum.default, lambda n: True, _abort),
        Bug("segfault_flip", aten.flip.default, lambda n: True, _segfault),
        Bug("hang_roll", aten.roll.default, lambda n: True, _hang),
    )
}


def miscompile(gm: torch.fx.GraphModule, bugs: Sequence[Bug]) -> list[str]:
    """Insert each bug after the nodes it applies to; the names of the bugs inserted."""
    fired = []
    for node in list(gm.graph.nodes):
        for bug in bugs:
            if node.op == "call_function" and node.target is bug.target and bug.applies(node):
                with gm.graph.inserting_after(node):
                    wrong = gm.graph.call_function(bug.wrong, (node,))
                node.replace_all_uses_with(
                    wrong, delete_user_cb=lambda user, wrong=wrong: user is not wrong
                )
                fired.append(bug.name)
    gm.graph.lint()
    gm.recompile()
    return fired


def backend_with(*names: str) -> Callable:
    """An aot_eager-like backend with the named bugs in its forward graph."""
    bugs = [BUGS[name] for name in names]

    def forward(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Callable:
        miscompile(gm, bugs)
        return make_boxed_func(gm.forward)

    return aot_autograd(fw_compiler=forward)


MULTI: tuple[str, ...] = tuple(
    name for name in BUGS if name not in ("cumsum_scaled", "mul_tiny", "round_off")
)
multi_bug_backend = backend_with(*MULTI)
# The wrong-value bugs only (safe to run in the test process).
value_bug_backend = backend_with(
    "mul_broadcast", "where_broadcast", "int_add", "mm_strided", "exp_half"
)


# One op family miscompiled each (issue 11: found by default programs, not only by --ops).
where_bug_backend = backend_with("where_broadcast")
exp_bug_backend = backend_with("exp_half")
cumsum_bug_backend = backend_with("cumsum_scaled")
mul_bug_backend = backend_with("mul_broadcast")
# Not a bug: every float mul 2e-5 off (within tolerance); a round after it amplifies that.
tiny_mul_backend = backend_with("mul_tiny")
round_bug_backend = backend_with("mul_tiny", "round_off")


# The op each bug is in: a finding names the bug when its root cause is that op alone.
BUG_OPS: dict[str, str] = {
    "mul_broadcast": "mul",
    "where_broadcast": "where",
    "int_add": "add",
    "mm_strided": "mm",
    "exp_half": "exp",
    "abort_cumsum": "cumsum",
    "segfault_flip": "flip",
    "hang_roll": "roll",
}


@dataclass(frozen=True)
class TriageScore:
    """Findings of a campaign against some of BUGS, matched to bugs by their op."""

    bugs: tuple[str, ...]  # injected
    found: dict[str, list[str]]  # bug -> ids of the findings that name it
    unmatched: tuple[str, ...]  # findings naming no injected bug

    @property
    def precision(self) -> float:
        findings = sum(map(len, self.found.values())) + len(self.unmatched)
        exact = sum(len(ids) == 1 for ids in self.found.values())
        return exact / findings if findings else 1.0

    @property
    def recall(self) -> float:
        return sum(bool(self.found.get(bug)) for bug in self.bugs) / len(self.bugs)


def score(findings: Sequence[Any], bugs: Sequence[str] = MULTI) -> TriageScore:
    """Match each finding (a FindingRow) to the injected bug its root cause names."""
    by_op = {BUG_OPS[bug]: bug for bug in bugs}
    found: dict[str, list[str]] = {bug: [] for bug in bugs}
    unmatched = []
    for finding in findings:
        bug = by_op.get(root_op(finding.signature))
        if bug is None:
            unmatched.append(finding.signature_id)
        else:
            found[bug].append(finding.signature_id)
    return TriageScore(tuple(bugs), found, tuple(unmatched))


# Programs over the bugs' ops and ops that neither hide a wrong value (no rounding, casts,
# comparisons: issue 11) nor decompose into a bug's op: every bug shows where it fires.
TRIAGE_OPS: tuple[str, ...] = (
    *BUG_OPS.values(),
    *"neg abs sin cos tanh sqrt sub div maximum minimum transpose permute t unsqueeze".split(),
    *"squeeze slice narrow cat sum mean amax relu flatten contiguous expand reshape".split(),
)

"""Spellings against the aten call: the check the per-op tests run, and the derivation of
`torchfuzz/data/spellings.toml` (`python -m tests._spellings` rewrites it).

A spelling agrees with its op on an application when the one-node program spelled both ways
gives equal values (NaNs equal), dtypes, shapes and strides in eager (outputs and the inputs
it writes, random ops from the same RNG state), and the spelled program's result under
FakeTensor has the op's FakeTensor spec."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator

import torch

from tests.ir.test_infer_fast import proposals
from tests.ir.test_ops import _declared, operand_spec
from torchfuzz.backends.inputs import make_inputs
from torchfuzz.backends.lowering import lower_to_fx
from torchfuzz.ir.catalogue import CATALOGUE
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.infer import InferenceError, fake_mode, fake_spec, fake_value, spec_of
from torchfuzz.ir.ops.base import OpDef
from torchfuzz.ir.spellings import NAMESPACES, Spelling, applies, resolve
from torchfuzz.ir.types import Spec

TRIES = 60

# Eager itself segfaults on some of these applications (torch 2.13 CPU: bfloat16 conv2d with
# dilation 2, padding (1, 2) over an input of height 1; oneDNN, likely pytorch#195394): a
# spelling calls the same kernel, so these ops are compared in float32 only.
EAGER_SEGFAULTS = frozenset({"conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"})


class AtenFails(Exception):
    """The aten call itself rejects the application (nothing to compare)."""


def applications(op: OpDef, dtype: torch.dtype, rng: random.Random, most: int) -> Iterator[Graph]:
    """One-node programs of `op` whose operands take `dtype` (when it can), every form of want."""
    if op.name in EAGER_SEGFAULTS and dtype in (torch.bfloat16, torch.float16):
        return
    made = 0
    for proposal in proposals(op, dtype, rng):
        specs = [operand_spec(rng, w) for w in proposal.inputs]
        attrs = dict(proposal.attrs)
        try:
            spec = fake_spec(op, specs, attrs)
        except InferenceError:
            continue
        graph = Graph()
        names = [graph.add_input(s, w.domain) for s, w in zip(specs, proposal.inputs)]
        graph.set_outputs([graph.add_node(op, names, proposal.attrs, spec)])
        yield graph
        made += 1
        if made >= most:
            return


def _same(a: object, b: object) -> str | None:
    if type(a) is not type(b):
        return f"{type(a).__name__} vs {type(b).__name__}"
    if not isinstance(a, torch.Tensor):
        same = a == b or (a != a and b != b)  # NaN equals NaN
        return None if same else f"{a!r} vs {b!r}"
    if spec_of(a) != spec_of(b):
        return f"{spec_of(a)} vs {spec_of(b)}"
    if a.is_conj() != b.is_conj() or a.is_neg() != b.is_neg():
        return "conj/neg bits differ"
    if not torch.equal(a.resolve_conj(), b.resolve_conj()):
        nan = a.is_floating_point() or a.is_complex()
        both = torch.isnan(a) & torch.isnan(b) if nan else None
        if both is None or not torch.equal(
            torch.where(both, 0, a.resolve_conj()), torch.where(both, 0, b.resolve_conj())
        ):
            return "values differ"
    return None


def _run(graph: Graph, speller, seed: int) -> tuple[tuple, list]:
    module = torch.fx.GraphModule(torch.nn.Module(), lower_to_fx(graph, speller))
    inputs = make_inputs(graph, seed)
    torch.manual_seed(0)
    return tuple(module.forward(*inputs)), inputs  # forward: no traceback printed


def disagreement(graph: Graph, spelling: Spelling, seed: int = 0) -> str | None:
    """None when `spelling` computes what the aten call of `graph`'s one node computes;
    else why not ('does not apply' when it does not apply). Raises `AtenFails`."""
    node = graph.nodes[0]
    try:
        expected, expected_inputs = _run(graph, lambda *_: None, seed)
    except Exception as exc:  # noqa: BLE001 - any eager error: no application to compare
        raise AtenFails(str(exc)) from exc
    applied: list[bool] = []

    def speller(node, operands, attrs, specs):
        applied.append(applies(spelling, operands, attrs, specs))
        return spelling if applied[-1] else None

    lower_to_fx(graph, speller)
    if not all(applied):
        return "does not apply"
    try:
        got, got_inputs = _run(graph, speller, seed)
    except Exception as exc:  # noqa: BLE001 - the spelling rejects what aten takes
        return f"eager: {type(exc).__name__}: {str(exc)[:200]}"
    for what, a, b in [
        *(("output", x, y) for x, y in zip(expected, got)),
        *(("input", x, y) for x, y in zip(expected_inputs, got_inputs)),
    ]:
        why = _same(a, b)
        if why is not None:
            return f"eager {what}: {why}"
    try:
        _fake_run(graph, lambda *_: None)
    except Exception:  # noqa: BLE001 - FakeTensor cannot run the op (`.item()`): no spec
        return None
    try:
        fake = _fake_run(graph, speller)
    except Exception as exc:  # noqa: BLE001
        return f"FakeTensor: {type(exc).__name__}: {str(exc)[:200]}"
    return None if fake == node.spec else f"FakeTensor: {fake} vs {node.spec}"


def _fake_run(graph: Graph, speller) -> Spec:
    module = torch.fx.GraphModule(torch.nn.Module(), lower_to_fx(graph, speller))
    fakes = [fake_value(i.spec) for i in graph.inputs]
    with fake_mode():
        return spec_of(module.forward(*fakes)[0])


# --- derivation of the same-argument table ---------------------------------------------------
def aten_name(op: OpDef) -> str | None:
    schema = getattr(op.target, "_schema", None)
    return None if schema is None else schema.name.split("::")[1]


def candidate_paths(op: OpDef) -> tuple[str, ...]:
    """The public names that may call `op` with the aten call's own arguments."""
    name = aten_name(op)
    if name is None or name.startswith("_"):
        return ()
    # The name each namespace would use: `special_i0e` is torch.special.i0e, not torch.i0e.
    wanted = {owner: name for owner in NAMESPACES}
    wanted["torch.special"] = name.removeprefix("special_") if name.startswith("special_") else None
    wanted["torch.linalg"] = name.removeprefix("linalg_") if name.startswith("linalg_") else None
    if name.startswith("special_"):
        wanted["torch"] = None
    return tuple(
        f"{owner}.{attr}"
        for owner, attr in wanted.items()
        if attr is not None and hasattr(NAMESPACES[owner][0], attr)
    )


def derive_op(op: OpDef, most: int = 6) -> tuple[tuple[str, ...], dict[str, str]]:
    """The candidate paths that agree on every sampled application, and why the others don't."""
    kept: list[str] = []
    rejected: dict[str, str] = {}
    for path in candidate_paths(op):
        spelling = resolve(path)
        applied, why = 0, None
        for dtype in _declared(op):
            rng = random.Random(f"spell:{op.name}:{dtype}")
            for graph in applications(op, dtype, rng, most):
                try:
                    reason = disagreement(graph, spelling)
                except AtenFails:
                    continue
                if reason == "does not apply":
                    continue
                if reason is not None:  # FX names its code <eval_with_key>.N: leave N out
                    why = re.sub(
                        r"<eval_with_key>\.\d+", "<fx code>", f"{graph.nodes[0]}: {reason}"
                    )
                    break
                applied += 1
            if why:
                break
        if why is None and applied:
            kept.append(path)
        else:
            rejected[path] = why or "never applies"
    return tuple(kept), rejected


def _derive(name: str) -> tuple[str, tuple[str, ...], dict[str, str]]:
    return (name, *derive_op(CATALOGUE.get(name)))


def write_table(path: str) -> None:
    import concurrent.futures

    names = [op.name for op in CATALOGUE if candidate_paths(op)]
    same: dict[str, tuple[str, ...]] = {}
    rejected: dict[str, dict[str, str]] = {}
    with concurrent.futures.ProcessPoolExecutor() as pool:
        for name, kept, why in pool.map(_derive, names):
            if kept:
                same[name] = kept
            if why:
                rejected[name] = why
    lines = [
        "# Spellings that take the aten call's own arguments: op name -> `torch.X`,",
        "# `torch.special.X`, `torch.linalg.X`, `F.X` (torch.nn.functional) or `Tensor.X` (a method).",
        "#",
        "# Written by `python -m tests._spellings`, which tries those names for each op of the",
        "# catalogue and keeps the ones that agree with the aten call on every sampled application",
        "# (values, dtype, shape and strides in eager; the spec under FakeTensor). [rejected] keeps",
        "# why each other name was left out; tests/ir/test_spellings.py checks both again.",
        "",
        "[same_args]",
        *(f"{k} = {json.dumps(list(v))}" for k, v in sorted(same.items())),
        "",
    ]
    for k, v in sorted(rejected.items()):
        lines.append(f"[rejected.{k}]")
        lines += [f"{json.dumps(p)} = {json.dumps(why[:160])}" for p, why in sorted(v.items())]
        lines.append("")
    with open(path, "w") as handle:
        handle.write("\n".join(lines))


if __name__ == "__main__":
    write_table("torchfuzz/data/spellings.toml")

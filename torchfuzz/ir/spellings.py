"""User-level spellings of catalogue ops: how a person writing PyTorch would call them.

The IR names each node's op by its aten overload; the lowering may write the call instead as
a torch function (`torch.sin(x)`), a Tensor method (`x.sin()`, `x.add_(y)`), a Python
operator (`x + y`, `-x`, `x @ y`, `x[1:3, ::2]`, `x[idx]`, `x += y`) or a
`torch.nn.functional` call, so that Dynamo's Python front end sees what user programs give
it. A spelling computes what the aten call computes (values, dtype, shape and strides):
tests/ir/test_spellings.py runs each against the aten form in eager and under FakeTensor.

Which spelling a node gets is the graph's :class:`Surface`: ``aten`` (every call through
``torch.ops.aten``), ``torch`` (a user-level spelling wherever the op has one) or ``mixed``
(the aten form and the op's spellings, one drawn per node). The draw is a hash of the
surface's salt and the node's name, so a node keeps its spelling through every pass, the
minimizer included, and the IR and the oracle know nothing of it.
"""

from __future__ import annotations

import enum
import importlib.resources
import operator
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from torchfuzz.ir.types import Spec, TensorSpec

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

# The spellings that take the aten call's own arguments, derived by `python -m
# tests._spellings` (op name -> `torch.X`, `Tensor.X`, `F.X` ...), and the names it left out.
_TABLE = tomllib.loads(
    importlib.resources.files("torchfuzz.data").joinpath("spellings.toml").read_text()
)
SAME_ARGS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _TABLE["same_args"].items()}
REJECTED: dict[str, dict[str, str]] = _TABLE["rejected"]

# From (operands, attributes, operand specs) to the spelled call's (args, kwargs); None: the
# spelling does not apply to this application (e.g. a method on a Python number).
SpellArgs = Callable[[Sequence[Any], Mapping[str, Any], Sequence[Spec]], "tuple | None"]


class Form(str, enum.Enum):
    TORCH = "torch"  # torch.sin(x), torch.special.i0e(x)
    METHOD = "method"  # x.sin()
    OPERATOR = "operator"  # x + y, -x, x[...], x += y
    FUNCTIONAL = "functional"  # torch.nn.functional.relu(x)


@dataclass(frozen=True, slots=True)
class Spelling:
    """One way of writing an op's call. ``target`` is the callable (for a method, its name);
    ``args`` builds the call from the node's operands and attributes (None: the aten call's
    own arguments, as ``OpDef.args`` makes them)."""

    form: Form
    target: Callable[..., Any] | str
    args: SpellArgs | None = None

    def __str__(self) -> str:
        name = self.target if isinstance(self.target, str) else _qualified(self.target)
        return f"{self.form.value}:{name}"


def _qualified(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None) or ""
    return f"{module}.{fn.__name__}" if module not in ("", "builtins", "_operator") else fn.__name__


class SurfaceMode(str, enum.Enum):
    ATEN = "aten"
    TORCH = "torch"
    MIXED = "mixed"


@dataclass(frozen=True, slots=True)
class Surface:
    """How a graph's calls are spelled: the mode, and the salt of the per-node draw."""

    mode: SurfaceMode = SurfaceMode.ATEN
    salt: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", SurfaceMode(self.mode))
        if self.mode is SurfaceMode.ATEN:  # nothing is drawn: one aten surface
            object.__setattr__(self, "salt", 0)

    def __str__(self) -> str:
        return (
            self.mode.value if self.mode is SurfaceMode.ATEN else f"{self.mode.value}:{self.salt}"
        )

    @staticmethod
    def parse(text: str) -> Surface:
        """The inverse of ``str``: ``aten``, ``torch:SALT`` or ``mixed:SALT``."""
        mode, _, salt = text.partition(":")
        return Surface(SurfaceMode(mode), int(salt) if salt else 0)


ATEN_SURFACE = Surface()


# --- argument builders -----------------------------------------------------------------------
def _is_tensor(spec: Spec) -> bool:
    return isinstance(spec, TensorSpec)


def _method_args(operands, attrs, specs):
    """A method needs a tensor `self`; the aten call's own arguments otherwise."""
    return None if not specs or not _is_tensor(specs[0]) else ()


def _infix(swap: bool = False) -> SpellArgs:
    """`a OP b` (or `b OP a`): two operands, no attributes, at least one a tensor."""

    def build(operands, attrs, specs):
        if attrs or len(operands) != 2 or not any(map(_is_tensor, specs)):
            return None
        return (operands[1], operands[0]) if swap else tuple(operands), {}

    return build


def _prefix(operands, attrs, specs):
    if attrs or len(operands) != 1 or not _is_tensor(specs[0]):
        return None
    return tuple(operands), {}


def _all_dims(rank: int, dim: int, index: Any) -> tuple:
    """The subscript taking `index` in dim `dim` and every element of the others."""
    return (*(slice(None),) * (dim % rank), index)


def _slice_subscript(operands, attrs, specs):
    rank = len(specs[0].shape)
    cut = slice(attrs.get("start"), attrs.get("end"), attrs.get("step", 1))
    return (operands[0], _all_dims(rank, attrs["dim"], cut)), {}


def _select_subscript(operands, attrs, specs):
    rank = len(specs[0].shape)
    return (operands[0], _all_dims(rank, attrs["dim"], attrs["index"])), {}


def _index_subscript(operands, attrs, specs):
    # A 0-dim index tensor would be read as a Python int (`.item()`): that is select.
    if not specs[1].shape:
        return None
    rank = len(specs[0].shape)
    return (operands[0], _all_dims(rank, attrs["dim"], operands[1])), {}


def _dim_only(operands, attrs, specs):
    """softmax/log_softmax: `half_to_float` is an aten detail (always False here)."""
    if attrs.get("half_to_float"):
        return None
    return (operands[0], attrs["dim"]), {}


_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _loss(keywords: tuple[str, ...] = (), positional: int = 2) -> SpellArgs:
    """A functional loss: the first `positional` operands positional, the rest as
    `keywords`, the attributes as keywords with `reduction` by name ('none', 'mean', 'sum')."""

    def build(operands, attrs, specs):
        kwargs = {k: _REDUCTIONS[v] if k == "reduction" else v for k, v in attrs.items()}
        kwargs.update(zip(keywords, operands[positional:]))
        return tuple(operands[:positional]), kwargs

    return build


def _embedding(operands, attrs, specs):
    # aten.embedding(weight, indices); F.embedding(indices, weight)
    return (operands[1], operands[0]), dict(attrs)


def _cast(operands, attrs, specs):
    # `copy=True`: aten._to_copy copies even to its own dtype (`.to` would alias).
    if set(attrs) != {"dtype"} or not _is_tensor(specs[0]):
        return None
    return (operands[0], attrs["dtype"]), {"copy": True}


def _pad(mode: str) -> SpellArgs:
    return lambda operands, attrs, specs: ((operands[0], list(attrs["padding"])), {"mode": mode})


def _spread(operands, attrs, specs):
    return tuple(operands), dict(attrs)


def _with_indices(operands, attrs, specs):
    return (operands[0], attrs["output_size"]), {"return_indices": True}


def _operator(target: Callable[..., Any], args: SpellArgs) -> Spelling:
    return Spelling(Form.OPERATOR, target, args)


_BINARY = {
    operator.add: ("add", "add_scalar"),
    operator.sub: ("sub", "sub_scalar"),
    operator.mul: ("mul", "mul_scalar"),
    operator.truediv: ("div", "div_scalar", "true_divide"),
    operator.floordiv: ("floor_divide",),
    operator.mod: ("remainder", "remainder_scalar"),
    operator.pow: ("pow", "pow_scalar"),
    operator.matmul: ("matmul",),
    operator.eq: ("eq", "eq_scalar"),
    operator.ne: ("ne", "ne_scalar"),
    operator.lt: ("lt", "lt_scalar"),
    operator.le: ("le", "le_scalar"),
    operator.gt: ("gt", "gt_scalar"),
    operator.ge: ("ge", "ge_scalar"),
    operator.and_: ("bitwise_and",),
    operator.or_: ("bitwise_or",),
    operator.xor: ("bitwise_xor",),
    operator.lshift: ("bitwise_left_shift",),
    operator.rshift: ("bitwise_right_shift",),
    # in place: `x += y` (the lowering writes through the view first, as for the aten call)
    operator.iadd: ("add_",),
    operator.imul: ("mul_",),
}
_UNARY = {operator.neg: "neg", operator.invert: "bitwise_not", operator.pos: "positive", abs: "abs"}

_HAND_WRITTEN: dict[str, tuple[Spelling, ...]] = {
    "rsub": (_operator(operator.sub, _infix(swap=True)),),
    "rsub_scalar": (_operator(operator.sub, _infix(swap=True)),),
    "slice": (_operator(operator.getitem, _slice_subscript),),
    "select": (_operator(operator.getitem, _select_subscript),),
    "index": (_operator(operator.getitem, _index_subscript),),
    "softmax": (
        Spelling(Form.FUNCTIONAL, F.softmax, _dim_only),
        Spelling(Form.TORCH, torch.softmax, _dim_only),
        Spelling(Form.METHOD, "softmax", _dim_only),
    ),
    "log_softmax": (
        Spelling(Form.FUNCTIONAL, F.log_softmax, _dim_only),
        Spelling(Form.TORCH, torch.log_softmax, _dim_only),
        Spelling(Form.METHOD, "log_softmax", _dim_only),
    ),
    "embedding": (Spelling(Form.FUNCTIONAL, F.embedding, _embedding),),
    "cast": (Spelling(Form.METHOD, "to", _cast),),
    "reflection_pad1d": (Spelling(Form.FUNCTIONAL, F.pad, _pad("reflect")),),
    "reflection_pad2d": (Spelling(Form.FUNCTIONAL, F.pad, _pad("reflect")),),
    "replication_pad1d": (Spelling(Form.FUNCTIONAL, F.pad, _pad("replicate")),),
    "replication_pad2d": (Spelling(Form.FUNCTIONAL, F.pad, _pad("replicate")),),
    "block_diag": (Spelling(Form.TORCH, torch.block_diag, _spread),),
    "log_sigmoid": (Spelling(Form.FUNCTIONAL, F.logsigmoid),),
    "adaptive_max_pool2d": (Spelling(Form.FUNCTIONAL, F.adaptive_max_pool2d, _with_indices),),
    "nll_loss": (Spelling(Form.FUNCTIONAL, F.nll_loss, _loss(("weight",))),),
    "cross_entropy": (Spelling(Form.FUNCTIONAL, F.cross_entropy, _loss(("weight",))),),
    "multi_margin_loss": (Spelling(Form.FUNCTIONAL, F.multi_margin_loss, _loss(("weight",))),),
    "margin_ranking_loss": (Spelling(Form.FUNCTIONAL, F.margin_ranking_loss, _loss(positional=3)),),
    "mse_loss": (Spelling(Form.FUNCTIONAL, F.mse_loss, _loss()),),
    "l1_loss": (Spelling(Form.FUNCTIONAL, F.l1_loss, _loss()),),
    "smooth_l1_loss": (Spelling(Form.FUNCTIONAL, F.smooth_l1_loss, _loss()),),
    "huber_loss": (Spelling(Form.FUNCTIONAL, F.huber_loss, _loss()),),
    "soft_margin_loss": (Spelling(Form.FUNCTIONAL, F.soft_margin_loss, _loss()),),
    "poisson_nll_loss": (Spelling(Form.FUNCTIONAL, F.poisson_nll_loss, _loss()),),
    "binary_cross_entropy_with_logits": (
        Spelling(
            Form.FUNCTIONAL, F.binary_cross_entropy_with_logits, _loss(("weight", "pos_weight"))
        ),
    ),
}


# Where the same-argument names of the table live, and the form each gives.
NAMESPACES: dict[str, tuple[Any, Form]] = {
    "torch": (torch, Form.TORCH),
    "torch.special": (torch.special, Form.TORCH),
    "torch.linalg": (torch.linalg, Form.TORCH),
    "F": (F, Form.FUNCTIONAL),
    "Tensor": (torch.Tensor, Form.METHOD),
}


def resolve(path: str) -> Spelling:
    """A table entry: `torch.X`, `torch.special.X`, `torch.linalg.X`, `F.X` or `Tensor.X`."""
    owner, _, name = path.rpartition(".")
    namespace, form = NAMESPACES[owner]
    if form is Form.METHOD:
        return Spelling(form, name, _method_args)
    return Spelling(form, getattr(namespace, name))


def _build() -> dict[str, tuple[Spelling, ...]]:
    table: dict[str, list[Spelling]] = {}
    for op_name, paths in SAME_ARGS.items():
        table.setdefault(op_name, []).extend(map(resolve, paths))
    for target, op_names in _BINARY.items():
        for op_name in op_names:
            table.setdefault(op_name, []).append(_operator(target, _infix()))
    for target, op_name in _UNARY.items():
        table.setdefault(op_name, []).append(_operator(target, _prefix))
    for op_name, spellings in _HAND_WRITTEN.items():
        table.setdefault(op_name, []).extend(spellings)
    return {name: tuple(found) for name, found in table.items()}


SPELLINGS: dict[str, tuple[Spelling, ...]] = _build()


def spelled_call(
    spelling: Spelling,
    aten_call: tuple[tuple, dict],
    operands: Sequence[Any],
    attrs: Mapping[str, Any],
    specs: Sequence[Spec],
) -> tuple[tuple, dict] | None:
    """The spelled call's (args, kwargs) for this application (`aten_call` is the aten
    call's own), or None when the spelling does not apply to it."""
    if spelling.args is None:
        return aten_call
    built = spelling.args(operands, attrs, specs)
    if built == ():  # applies, with the aten call's own arguments
        return aten_call
    return built


def applies(
    spelling: Spelling, operands: Sequence[Any], attrs: Mapping[str, Any], specs: Sequence[Spec]
) -> bool:
    """Whether `spelling` can write this application of its op."""
    return spelling.args is None or spelling.args(operands, attrs, specs) is not None


def applicable(
    op_name: str, operands: Sequence[Any], attrs: Mapping[str, Any], specs: Sequence[Spec]
) -> tuple[Spelling, ...]:
    """The spellings of `op_name` that apply to this application, in table order."""
    return tuple(s for s in SPELLINGS.get(op_name, ()) if applies(s, operands, attrs, specs))


def choose(surface: Surface, node_name: str, candidates: Sequence[Spelling]) -> Spelling | None:
    """The spelling `surface` gives node `node_name` among its `candidates` (None: aten)."""
    if surface.mode is SurfaceMode.ATEN or not candidates:
        return None
    draw = zlib.crc32(f"{surface.salt}/{node_name}".encode())
    if surface.mode is SurfaceMode.TORCH:
        return candidates[draw % len(candidates)]
    choices = (None, *candidates)
    return choices[draw % len(choices)]


# Ops that keep their one form, and why (tests/ir/test_spellings.py checks the list is exact).
WITHOUT_SPELLING: dict[str, str] = {
    **dict.fromkeys(
        ("to_float", "to_int", "to_bool", "scalar_round", "scalar_add", "scalar_sub"),
        "already Python: float(x), int(x), bool(x), round(x), x + y, x - y",
    ),
    **dict.fromkeys(("scalar_mul", "scalar_truediv"), "already Python: x * y, x / y"),
    "constant": "a literal, not a call",
    **dict.fromkeys(
        ("arange_item", "full_item", "narrow_item"),
        "already torch functions (torch.arange, torch.full, torch.narrow) on .item() values",
    ),
    **dict.fromkeys(
        ("index_put", "index_put_accumulate", "index_put_", "index_put_accumulate_"),
        "its index list holds None for the dims before the indexed one: no public call takes it",
    ),
    "unique": "torch.unique returns a lone tensor, not _unique2's triple, unless asked for more",
}

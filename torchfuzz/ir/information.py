"""What of an operand's value an op's result keeps: the information flow of a program.

A wrong value is only found when it reaches a judged output with its error intact
(issue 11, ORACLE_NOTES "Masking by lossy sinks").  :func:`keeps` says, per edge of the
program, whether a wrong operand makes a wrong result, by these rules (ops as data):

- an operand the op reads only for its shape and dtype, or overwrites, keeps nothing
  (``zeros_like``, ``new_full``, ``fill``, the destination of ``copy_``), nor one some of
  whose elements it overwrites (``masked_fill``, ``index_copy``, the ``*_scatter`` ops);
- a *lossy* op keeps little: rounding to an integer value, signs, functions blind to an
  operand's sign (``abs``, ``square``, ``var`` ... a negated value passes them), saturating
  ones (``clamp``, ``hardtanh``, ``relu``), selecting ones (``where``, ``maximum``,
  ``amax``, ``median``, ``topk``: a wrong element that is not selected is lost),
  normalizations blind to a scale or shift (``layer_norm``, ``softmax``), and Python
  float sums (a small wrong term is absorbed by a large one);
- a cast to a coarser dtype (fewer mantissa bits, a narrower or other-signed integer)
  rounds small errors away;
- a result that is ``bool`` keeps little of an operand that is not (comparisons, tests), nor
  does an integer result of a floating or complex operand (casts, indices of ``argmax``);
- an op that reads one value twice keeps nothing of it (``v - v``, ``v == v``,
  ``l1_loss(v, v)``), unless it is one of :data:`TWICE_KEEPS` (``v + v``, ``v @ v``).

The rules err on the side of "lossy": their use (:mod:`torchfuzz.passes.observe`) makes a
value an output when none of its paths keeps it, and an extra output costs little.
"""

from __future__ import annotations

import types

import torch

from torchfuzz.ir.graph import Graph, Node
from torchfuzz.ir.write_view import VIEW_KEY

# Operand positions read for their shape and dtype only, or overwritten.
SHAPE_ONLY = types.MappingProxyType(
    {
        "zeros_like": (0,),
        "ones_like": (0,),
        "full_like": (0,),
        "new_zeros": (0,),
        "new_ones": (0,),
        "new_full": (0,),
        "fill": (0,),
        "fill_tensor": (0,),
        "copy_": (0,),
    }
)

# Ops whose result keeps little of any operand: integer-valued rounding, signs, and
# functions blind to their operand's sign.
LOSSY = frozenset(
    {
        "floor",
        "ceil",
        "round",
        "trunc",
        "sign",
        "sgn",
        "signbit",
        "floor_divide",
        "bitwise_and",
        "logical_and",
        "tril",
        "triu",
        "scalar_round",
        "heaviside",
        "abs",
        "square",
        "cosh",
        "var",
        "std",
        "var_mean",
        "std_mean",
        "norm",
        # Saturating: a narrow range keeps few of the operand's values.
        "clamp",
        "clamp_tensor",
        "clamp_min",
        "clamp_max",
        "clamp_min_tensor",
        "clamp_max_tensor",
        "hardtanh",
        "hardsigmoid",
        "threshold",
        "threshold_int",
        # Selecting: one operand's value (or one element) in place of the others.
        "maximum",
        "minimum",
        "fmax",
        "fmin",
        "where",
        "where_scalar_self",
        "where_scalar_other",
        "amax",
        "amin",
        "max_all",
        "median_all",
        "nanmedian_all",
        "max_dim",
        "min_dim",
        "median",
        "nanmedian",
        "kthvalue",
        "topk",
        "mode",
        "cummax",
        "cummin",
        "aminmax",
        "aminmax_all",
        # Zeroing part of the range.
        "relu",
        "softshrink",
        "hardshrink",
        # Blind to a scale (normalizations) or a shift (softmax) of their operand.
        "layer_norm",
        "group_norm",
        "instance_norm",
        "batch_norm",
        "rms_norm",
        "cosine_similarity",
        "softmax",
        "log_softmax",
        "cross_entropy",
        "scaled_dot_product_attention",
        # Python float sums: a small value added to a large one is absorbed.
        "scalar_add",
        "scalar_sub",
    }
)

# Operands some elements of which the op overwrites (partly or, for some indices, wholly).
OVERWRITTEN = types.MappingProxyType(
    {
        name: (0,)
        for name in (
            "masked_fill",
            "masked_fill_tensor",
            "index_fill",
            "index_copy",
            "index_put",
            "put",
            "scatter",
            "scatter_value",
            "masked_scatter",
            "select_scatter",
            "slice_scatter",
            "diagonal_scatter",
            "as_strided_scatter",
            "index_put_",
        )
    }
)

# Operands whose value only their sign is read of.
SIGN_ONLY = types.MappingProxyType({"copysign": (1,)})

# Ops that keep a value they read twice (x + x, cat((x, x)), x @ x).
TWICE_KEEPS = frozenset(
    {"add", "add_alpha", "copysign", "cat", "stack", "mm", "bmm", "matmul", "einsum", "kron"}
    | {"block_diag", "addmm", "baddbmm", "linear", "addcmul", "addcdiv", "lerp_tensor"}
)


def _exact(dtype: torch.dtype) -> bool:
    return not (dtype.is_floating_point or dtype.is_complex)


def _coarser(result: torch.dtype, source: torch.dtype) -> bool:
    if result.is_complex or source.is_complex or result == torch.bool:
        return False
    if result.is_floating_point and source.is_floating_point:
        return torch.finfo(result).eps > torch.finfo(source).eps
    if _exact(result) and _exact(source) and source != torch.bool:
        return result.itemsize < source.itemsize or result.is_signed != source.is_signed
    return False


def keeps(graph: Graph, node: Node, position: int) -> bool:
    """Whether ``node``'s value keeps its operand at ``position`` (see the module docstring)."""
    op = node.op
    for table in (SHAPE_ONLY, SIGN_ONLY, OVERWRITTEN):
        if position in table.get(op.name, ()):
            return False
    if op.name in LOSSY:
        return False
    name = node.inputs[position]
    source, result = graph.spec(name).dtype, node.spec.dtype
    if result == torch.bool and source != torch.bool:
        return False
    if _exact(result) and not _exact(source):
        return False
    if _coarser(result, source):  # a cast to fewer bits rounds small errors away
        return False
    return node.inputs.count(name) == 1 or op.name in TWICE_KEEPS


def overwritten(graph: Graph, name: str) -> bool:
    """Whether value ``name`` is wholly overwritten before anything reads it (the
    destination of a ``copy_`` not through a view): a compiler need not compute it, and no
    program can tell a wrong value of it."""
    users = graph.users(name)
    if len(users) != 1:
        return False
    node = graph.node(users[0])
    return (
        node.op.mutates is not None
        and node.op.mutates in SHAPE_ONLY.get(node.op.name, ())
        and VIEW_KEY not in node.attr_map
    )


def reach(graph: Graph, names: list[str], seen: set[str]) -> None:
    """Add to ``seen`` the values ``names`` read along edges that keep their information,
    transitively (``names`` themselves included)."""
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in seen and name not in names:
            continue
        seen.add(name)
        if graph.is_input(name):
            continue
        node = graph.node(name)
        for position, operand in enumerate(node.inputs):
            if operand not in seen and keeps(graph, node, position):
                stack.append(operand)


def observed(graph: Graph, outputs: tuple[str, ...] | None = None) -> set[str]:
    """The values whose information reaches one of ``outputs`` (default: the graph's) along
    edges that keep it."""
    seen: set[str] = set()
    reach(graph, list(graph.outputs if outputs is None else outputs), seen)
    return seen

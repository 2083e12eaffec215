"""The ``nn.Module`` spelling: a node's call written as the call of a submodule that holds the
op's weights as module state (``self.linear_3(x)`` for ``aten.linear(x, w, b)``).

A :class:`ModuleCall` says which ``torch.nn`` class to build (constructor keywords from the
node's attributes and operand specs), which operands become its parameters or buffers and
which it is called with. The state's values are the graph inputs the operands name: the
program factory binds them from the same seed's inputs (the float64 reference from the widened
ones), so the module call computes what the aten call computes, bit for bit.

The spelling applies only when every state operand is a tensor graph input that this node
alone reads, once, and nothing writes or returns (a *free* input): the input's placeholder
stays in the signature, unused. Whether a node is module-spelled is a draw of its own (salt,
node name), taken before the other spellings' draw: a node drawn for the module form whose
state is not free (e.g. after the minimizer cut its weight's producer into an input, or the
reverse) gets the very spelling it would get without module spellings, deterministically.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from torchfuzz.ir.graph import Graph, Node
from torchfuzz.ir.spellings import Surface, SurfaceMode
from torchfuzz.ir.types import Spec, TensorSpec

nn = torch.nn


@dataclass(frozen=True, slots=True)
class ModuleCall:
    """``cls(**kwargs)`` with operand ``i``'s value as attribute ``name`` for each
    ``(i, name)`` of ``state`` (the ``absent`` optional parameters set to None), called with
    the operands at positions ``inputs``."""

    cls: type[nn.Module]
    kwargs: tuple[tuple[str, Any], ...]
    inputs: tuple[int, ...]
    state: tuple[tuple[int, str], ...]
    absent: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"module:torch.nn.{self.cls.__name__}"


# From (attributes of the call, operand specs) to the module call; None: no module computes
# this application exactly.
ModuleBuilder = Callable[[Mapping[str, Any], Sequence[Spec]], "ModuleCall | None"]


def _affine(first: int, count: int) -> tuple[tuple[tuple[int, str], ...], tuple[str, ...]]:
    """State of optional weight, then bias, operands from position `first` (`count` given)."""
    state = tuple(zip(range(first, first + count), ("weight", "bias")))
    return state, ("bias",) if count == 1 else ()


def _linear(attrs, specs):
    out, k = specs[1].shape
    kwargs = {"in_features": k, "out_features": out, "bias": len(specs) == 3}
    return _call(nn.Linear, kwargs, specs, (0,), ((1, "weight"), (2, "bias")))


def _conv(k: int, transposed: bool) -> ModuleBuilder:
    classes = {
        (1, False): nn.Conv1d,
        (2, False): nn.Conv2d,
        (1, True): nn.ConvTranspose1d,
        (2, True): nn.ConvTranspose2d,
    }

    def build(attrs, specs):
        weight = specs[1].shape
        groups = attrs["groups"]
        c_in = specs[0].shape[-k - 1]
        c_out = weight[1] * groups if transposed else weight[0]
        kwargs = {"in_channels": c_in, "out_channels": c_out, "kernel_size": tuple(weight[2:])}
        kwargs |= {key: tuple(attrs[key]) for key in ("stride", "padding", "dilation")}
        if transposed:
            kwargs["output_padding"] = tuple(attrs["output_padding"])
        kwargs |= {"groups": groups, "bias": len(specs) == 3}
        return _call(classes[k, transposed], kwargs, specs, (0,), ((1, "weight"), (2, "bias")))

    return build


def _layer_norm(attrs, specs):
    affine = len(specs) - 1
    kwargs = {"normalized_shape": tuple(attrs["normalized_shape"]), "eps": attrs.get("eps", 1e-5)}
    kwargs |= {"elementwise_affine": affine > 0, "bias": affine == 2}
    return _call(nn.LayerNorm, kwargs, specs, (0,), _affine(1, affine)[0])


def _rms_norm(attrs, specs):
    kwargs = {"normalized_shape": tuple(attrs["normalized_shape"]), "eps": attrs.get("eps")}
    kwargs["elementwise_affine"] = len(specs) == 2
    return _call(nn.RMSNorm, kwargs, specs, (0,), ((1, "weight"),))


def _group_norm(attrs, specs):
    # F.group_norm rejects one value per group (aten does not): the module does not apply.
    n, c, *spatial = specs[0].shape
    if n * c // attrs["num_groups"] * math.prod(spatial) == 1:
        return None
    kwargs = {"num_groups": attrs["num_groups"], "num_channels": specs[0].shape[1]}
    kwargs |= {"eps": attrs.get("eps", 1e-5), "affine": len(specs) > 1}
    return _call(nn.GroupNorm, kwargs, specs, (0,), *_affine(1, len(specs) - 1))


_BATCH_NORMS = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}
_INSTANCE_NORMS = {3: nn.InstanceNorm1d, 4: nn.InstanceNorm2d, 5: nn.InstanceNorm3d}


def _batch_norm(attrs, specs):
    """Eval form only: normalized by the running statistics, which the module holds as its
    buffers (an eval-mode module never updates them)."""
    cls = _BATCH_NORMS.get(len(specs[0].shape))
    if cls is None or attrs.get("training"):
        return None
    kwargs = {"num_features": specs[0].shape[1], "eps": attrs["eps"]}
    kwargs |= {"momentum": attrs["momentum"], "affine": len(specs) > 3}
    state, absent = _affine(3, len(specs) - 3)
    stats = ((1, "running_mean"), (2, "running_var"))
    return _call(cls, kwargs, specs, (0,), stats + state, absent)


def _instance_norm(attrs, specs):
    """Input statistics only (no running statistics): ``track_running_stats=False``."""
    cls = _INSTANCE_NORMS.get(len(specs[0].shape))
    if cls is None or not attrs.get("use_input_stats") or len(specs) > 3:
        return None
    if math.prod(specs[0].shape[2:]) == 1:  # F.instance_norm rejects it, aten does not
        return None
    kwargs = {"num_features": specs[0].shape[1], "eps": attrs["eps"]}
    kwargs |= {"momentum": attrs["momentum"], "affine": len(specs) > 1}
    return _call(cls, kwargs, specs, (0,), *_affine(1, len(specs) - 1))


def _embedding(attrs, specs):
    # nn.Embedding's weight is a Parameter that requires grad: floating dtypes only.
    if attrs or not specs[0].dtype.is_floating_point:
        return None
    rows, dim = specs[0].shape
    kwargs = {"num_embeddings": rows, "embedding_dim": dim}
    return _call(nn.Embedding, kwargs, specs, (1,), ((0, "weight"),))


def _prelu(attrs, specs):
    kwargs = {"num_parameters": specs[1].shape[0]}
    return _call(nn.PReLU, kwargs, specs, (0,), ((1, "weight"),))


def _call(cls, kwargs, specs, inputs, state, absent=()) -> ModuleCall:
    """The module call, its state kept to the operands given, in the state's dtype."""
    state = tuple((i, name) for i, name in state if i < len(specs))
    dtype = specs[state[0][0] if state else inputs[0]].dtype
    kwargs = tuple(kwargs.items()) + (("dtype", dtype),)
    return ModuleCall(cls, kwargs, tuple(inputs), state, tuple(absent))


MODULES: dict[str, ModuleBuilder] = {
    "linear": _linear,
    "conv1d": _conv(1, False),
    "conv2d": _conv(2, False),
    "conv_transpose1d": _conv(1, True),
    "conv_transpose2d": _conv(2, True),
    "layer_norm": _layer_norm,
    "rms_norm": _rms_norm,
    "group_norm": _group_norm,
    "batch_norm": _batch_norm,
    "instance_norm": _instance_norm,
    "embedding": _embedding,
    "prelu": _prelu,
}

# Ops with a torch.nn module that are not module-spelled, and why (checked by the tests).
WITHOUT_MODULE: dict[str, str] = {
    **dict.fromkeys(
        ("nll_loss", "cross_entropy", "multi_margin_loss", "binary_cross_entropy_with_logits"),
        "a weighted loss: its weight is a buffer, not learned state; left to a later change",
    ),
    "scaled_dot_product_attention": "nn.MultiheadAttention adds projections: not the same op",
}


def free_inputs(graph: Graph) -> frozenset[str]:
    """Tensor graph inputs read by one node, once, never written in place nor returned: the
    inputs a module may hold as its state."""
    reads: dict[str, int] = {}
    for node in graph.nodes:
        for name in node.inputs:
            reads[name] = reads.get(name, 0) + 1
    taken = set(graph.mutated_inputs()) | set(graph.outputs)
    return frozenset(
        inp.name
        for inp in graph.inputs
        if isinstance(inp.spec, TensorSpec) and reads.get(inp.name) == 1 and inp.name not in taken
    )


def module_call(
    surface: Surface,
    node: Node,
    specs: Sequence[Spec],
    free: frozenset[str],
    others: int,
) -> ModuleCall | None:
    """The module call `surface` gives `node` (None: another spelling), when the op has a
    module form for this application and its state operands are `free` inputs. It is drawn
    as often as the `others` spellings that apply together (and as the aten form, under
    mixed): few nodes have free state, and the module form is the one Dynamo sees least."""
    build = MODULES.get(node.op.name)
    if build is None or surface.mode is SurfaceMode.ATEN:
        return None
    choices = (others > 0) + 1 + (surface.mode is SurfaceMode.MIXED)
    if zlib.crc32(f"{surface.salt}/module/{node.name}".encode()) % choices:
        return None
    call = build(node.attr_map, specs)
    if call is None or any(node.inputs[i] not in free for i, _ in call.state):
        return None
    return call

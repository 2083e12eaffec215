"""Module state of a lowered program: the submodules its ``call_module`` nodes call, built and
bound to input values (:mod:`torchfuzz.ir.modules`).

The in-memory program builds each module without initializing it (``skip_init``: no global
RNG draw) and binds its state from the inputs of the same seed; a script writes the plain
constructor and binds the same values in ``__init__`` (:func:`init_code`). State is bound as
parameters that do not require grad, as the program's inputs do not until a backward variant
makes them leaves: :func:`torchfuzz.backends.gradients.state_parameters` then makes the
floating-point parameters require grad too, and their gradients follow the inputs' ones
(named by :func:`state_gradient_names`).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import torch
import torch.fx

from torchfuzz.ir.modules import ModuleCall

STATE = "torchfuzz_state"  # FX node meta: (ModuleCall, ((attribute, input name), ...))


def bind_state(module, state, absent=()):
    """`module` in eval mode holding the tensors of `state` (attribute name -> value) as its
    parameters (not requiring grad) and buffers, its `absent` optional parameters None."""
    for name, value in state.items():
        if name in module._parameters:
            value = torch.nn.Parameter(value, requires_grad=False)
        setattr(module, name, value)
    for name in absent:
        setattr(module, name, None)
    return module.eval()


def module_calls(fx_graph: torch.fx.Graph) -> list[tuple[torch.fx.Node, ModuleCall, tuple]]:
    """The graph's module calls in order: (FX node, call, ((attribute, input name), ...))."""
    return [(n, *n.meta[STATE]) for n in fx_graph.nodes if n.op == "call_module"]


def _unbound(call: ModuleCall) -> torch.nn.Module:
    module = torch.nn.utils.skip_init(call.cls, **dict(call.kwargs))
    for buffer in module.buffers():  # those no operand binds (num_batches_tracked): as built
        buffer.zero_()
    return module


def build_root(fx_graph: torch.fx.Graph, values: Mapping[str, object]) -> torch.nn.Module:
    """A root module holding the graph's submodules, their state bound from `values` (graph
    input name -> value)."""
    root = torch.nn.Module()
    for node, call, names in module_calls(fx_graph):
        state = {attr: values[name] for attr, name in names}
        root.add_module(node.target, bind_state(_unbound(call), state, call.absent))
    return root


def state_gradient_names(fx_graph: torch.fx.Graph) -> tuple[str, ...]:
    """The names of the state parameters whose gradients a backward variant compares after
    the inputs' ones, in the program's parameter order: ``target.attribute (input)``."""
    found = []
    for node, call, names in module_calls(fx_graph):
        bound = dict(names)
        module = bind_state(_unbound(call), {}, call.absent)
        for attr, param in module.named_parameters():
            if param.is_floating_point():
                found.append(f"{node.target}.{attr} ({bound[attr]})")
    return tuple(found)


def _literal_kwargs(call: ModuleCall) -> str:
    # A dtype's str is its source (`torch.float32`); the other keywords are literals.
    text = {key: str(v) if isinstance(v, torch.dtype) else repr(v) for key, v in call.kwargs}
    return ", ".join(f"{key}={value}" for key, value in text.items())


def init_code(fx_graph: torch.fx.Graph, input_names: tuple[str, ...], widen: bool) -> str:
    """A script's ``__init__(self, inputs=None)`` building and binding the submodules from
    the list of input values, by default the script's ``make_inputs()`` (`widen`: widened as
    the reference's inputs are, by the judge's ``_widen``); empty when the program calls no
    module."""
    lines = []
    for node, call, names in module_calls(fx_graph):
        values = ", ".join(
            f"{attr!r}: {'_widen(' if widen else ''}inputs[{input_names.index(name)}]"
            f"{')' if widen else ''}"
            for attr, name in names
        )
        absent = f", {call.absent!r}" if call.absent else ""
        constructor = f"torch.nn.{call.cls.__name__}({_literal_kwargs(call)})"
        lines.append(f"self.{node.target} = bind_state({constructor}, {{{values}}}{absent})")
    if not lines:
        return ""
    body = "\n".join(f"        {line}" for line in lines)
    head = "    def __init__(self, inputs=None):\n        super().__init__()\n"
    head += "        inputs = make_inputs() if inputs is None else inputs\n"
    return f"{head}{body}\n\n"


def bind_state_source() -> str:
    """The source of :func:`bind_state`, for scripts."""
    return inspect.getsource(bind_state)

"""The Python structure a lowered program may wrap around one call: graph breaks, a print,
a call Dynamo does not trace, a branch on an `.item()` value, a loop over a range, operands
and results passed through dicts and tuples, a closure over the call's constants.

Each element is a factory: given the call (a callable, or a Tensor method's name), it
returns a function taking the call's own arguments and returning the call's result, the same
value whichever way it gets there. :mod:`torchfuzz.backends.structure` makes the FX graph call
these functions; scripts embed this module verbatim (it imports only torch and the standard
library) and rebuild the functions by calling the factories.
"""

from __future__ import annotations

import torch
import torch._dynamo


class StructureSink:
    """Where the structure's prints go: counts characters, keeps nothing (not stdout)."""

    def __init__(self) -> None:
        self.written = 0

    def write(self, text: str) -> int:
        self.written += len(text)
        return len(text)

    def flush(self) -> None:
        pass


STRUCTURE_SINK = StructureSink()


def _structure_invoke(call, args, kwargs):
    """The call itself: a function, or a method of the first argument."""
    if isinstance(call, str):
        return getattr(args[0], call)(*args[1:], **kwargs)
    return call(*args, **kwargs)


def _structure_unpack_call(call, packed):
    """Unpacks a dict of operands, calls, returns the result in a dict."""
    args = [packed[f"arg{i}"] for i in range(packed["count"])]
    return {"result": _structure_invoke(call, args, packed["kwargs"]), "calls": 1}


def _structure_listed_call(call, args, kwargs):
    """Calls with a list of operands, returns a tuple holding the result."""
    return (_structure_invoke(call, tuple(args), dict(kwargs)), len(args))


def with_graph_break(call):
    """A deliberate graph break before the call."""

    def structured(*args, **kwargs):
        torch._dynamo.graph_break()
        return _structure_invoke(call, args, kwargs)

    return structured


def with_print(call):
    """The operands printed (to a sink) before the call: Dynamo breaks the graph there."""

    def structured(*args, **kwargs):
        print("operands:", *args, file=STRUCTURE_SINK)
        return _structure_invoke(call, args, kwargs)

    return structured


def with_disable(call):
    """The call made in a function Dynamo is told not to trace."""

    @torch._dynamo.disable
    def structured(*args, **kwargs):
        return _structure_invoke(call, args, kwargs)

    return structured


def with_item_branch(call):
    """A branch on the first element of the first non-empty real tensor operand (an
    `.item()` value): both arms make the same call, one directly, one through a list."""

    def structured(*args, **kwargs):
        pivot = None
        for arg in args:
            if isinstance(arg, torch.Tensor) and arg.numel() > 0 and not arg.is_complex():
                pivot = arg
                break
        if pivot is not None and pivot.flatten()[0].item() > 0:
            return _structure_invoke(call, args, kwargs)
        return _structure_listed_call(call, list(args), kwargs)[0]

    return structured


def with_loop(call):
    """A loop over a Python range that makes the call once, on a branch of the counter."""

    def structured(*args, **kwargs):
        result = None
        for step in range(3):
            if step == 1:
                result = _structure_invoke(call, args, kwargs)
        return result

    return structured


def with_dict(call):
    """The operands packed in a dict; a helper unpacks them, calls, returns a dict."""

    def structured(*args, **kwargs):
        packed = {f"arg{i}": arg for i, arg in enumerate(args)}
        packed["count"] = len(args)
        packed["kwargs"] = kwargs
        return _structure_unpack_call(call, packed)["result"]

    return structured


def with_tuple(call):
    """The operands passed as a list to a helper that returns a tuple."""

    def structured(*args, **kwargs):
        result, _ = _structure_listed_call(call, list(args), kwargs)
        return result

    return structured


def with_closure(call):
    """A nested function, made at each call, closing over the call's constants (its
    non-tensor arguments and keyword arguments) and taking only the tensors."""

    def structured(*args, **kwargs):
        constants = {i: arg for i, arg in enumerate(args) if not isinstance(arg, torch.Tensor)}
        count = len(args)

        def bound(*tensors):
            rest = iter(tensors)
            full = [constants[i] if i in constants else next(rest) for i in range(count)]
            return _structure_invoke(call, full, kwargs)

        return bound(*[arg for arg in args if isinstance(arg, torch.Tensor)])

    return structured

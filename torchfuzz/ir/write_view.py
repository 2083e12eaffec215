"""The view an in-place node writes through, as a typed attribute value.

An in-place node (see `torchfuzz.ir.ops.inplace`) writes its operand whole, or through a view
of it: attribute `view` holds a `WriteView`, the view's kind and its int arguments after the
tensor. The text form and the JSON case spell it as two plain attributes,
`view='narrow', view_args=(1, 1, 3)`; `spell_attrs` and `read_attrs` convert between the two.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

aten = torch.ops.aten
Shape = tuple[int, ...]
Attrs = tuple[tuple[str, Any], ...]

# The attribute holding a node's `WriteView`, and the key of its arguments in the spelled form.
VIEW_KEY = "view"
VIEW_ARGS_KEY = "view_args"


class ViewKind(str, enum.Enum):
    """A view an in-place op writes through (its value is the text form and JSON)."""

    NARROW = "narrow"
    SELECT = "select"
    TRANSPOSE = "transpose"
    DIAGONAL = "diagonal"
    SLICE = "slice"  # a stepped slice

    def __str__(self) -> str:
        return self.value


# The aten view each kind calls, as `target(base, *args)`.
VIEW_TARGETS: Mapping[ViewKind, Callable[..., Any]] = types.MappingProxyType(
    {
        ViewKind.NARROW: aten.narrow.default,
        ViewKind.SELECT: aten.select.int,
        ViewKind.TRANSPOSE: aten.transpose.int,
        ViewKind.DIAGONAL: aten.diagonal.default,
        ViewKind.SLICE: aten.slice.Tensor,
    }
)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class WriteView:
    """The view `kind` of the written operand with `args` after the tensor."""

    kind: ViewKind
    args: tuple[int, ...]

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", ViewKind(self.kind))
        except ValueError:
            known = [kind.value for kind in ViewKind]
            raise ValueError(f"unknown view {self.kind!r} (known: {known})") from None
        if not isinstance(self.args, tuple) or not all(map(_is_int, self.args)):
            raise TypeError(f"{VIEW_ARGS_KEY} of a {self.kind.value} view must be a tuple of ints")

    @property
    def target(self) -> Callable[..., Any]:
        return VIEW_TARGETS[self.kind]

    def apply(self, base: Any, call: Callable[[Callable[..., Any], tuple, dict], Any]) -> Any:
        """The view of `base`, made through `call(target, args, kwargs)`."""
        return call(self.target, (base, *self.args), {})

    def shape(self, base: Shape) -> Shape:
        """The view's shape, as PyTorch computes it (on a meta tensor: no data)."""
        return tuple(self.target(torch.empty(base, device="meta"), *self.args).shape)

    def pairs(self) -> Attrs:
        """The plain attributes spelling this view in the text form and JSON."""
        return ((VIEW_KEY, self.kind.value), (VIEW_ARGS_KEY, self.args))


def spell_attrs(attrs: Attrs) -> Attrs:
    """`attrs` with each `WriteView` spelled as its plain attributes."""
    return tuple(
        pair
        for key, value in attrs
        for pair in (value.pairs() if isinstance(value, WriteView) else ((key, value),))
    )


def read_attrs(attrs: Attrs) -> Attrs:
    """The inverse of `spell_attrs`: `view` and the `view_args` after it become one
    `WriteView`. Raises ValueError (or TypeError) for a malformed view."""
    result: list[tuple[str, Any]] = []
    pairs = iter(attrs)
    for key, value in pairs:
        if key == VIEW_ARGS_KEY:
            raise ValueError(f"attribute {VIEW_ARGS_KEY!r} without {VIEW_KEY!r} before it")
        if key == VIEW_KEY:
            args_key, args = next(pairs, (None, None))
            if args_key != VIEW_ARGS_KEY:
                raise ValueError(f"attribute {VIEW_KEY!r} without {VIEW_ARGS_KEY!r} after it")
            value = WriteView(value, args)
        result.append((key, value))
    return tuple(result)


def written_view(attrs: Mapping[str, Any]) -> WriteView | None:
    """The view a node writes through; None when it writes the operand whole."""
    return attrs.get(VIEW_KEY)


def op_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """A node's attributes without its view: what the op itself is called with."""
    return {k: v for k, v in attrs.items() if not isinstance(v, WriteView)}

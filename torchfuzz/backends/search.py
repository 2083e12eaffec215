"""Bisection for the first failing prefix, shared by the two localizations (IR nodes in
:mod:`torchfuzz.backends.localize`, aten nodes in :mod:`torchfuzz.backends.decompose`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["first_failing"]

T = TypeVar("T")


def first_failing(chain: Sequence[T], fails: Callable[[T], bool]) -> T:
    """The first element of ``chain`` whose prefix fails, by bisection: ``fails`` is
    assumed monotone along the chain, and its last element fails (not asked)."""
    lo, hi = -1, len(chain) - 1  # chain[hi] fails; chain[lo] passes (-1: the inputs)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fails(chain[mid]):
            hi = mid
        else:
            lo = mid
    return chain[hi]

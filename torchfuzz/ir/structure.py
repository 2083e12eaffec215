"""How much Python structure the lowering writes around a graph's calls.

Structure (graph breaks, prints, calls Dynamo may not trace, branches and loops, containers
passed to helpers, closures) changes how a program is written for Dynamo's front end, never
what it computes: the IR and the oracle know nothing of it beyond this mark, which a graph
carries like its surface (:mod:`torchfuzz.backends.structure` draws the elements per node).
"""

from __future__ import annotations

import enum


class Structure(str, enum.Enum):
    NONE = "none"  # a straight line of calls
    ALL = "all"  # the drawn elements around the calls of some nodes
    # The drawn elements less those that end a single graph (graph breaks, prints, calls
    # Dynamo does not trace, branches on `.item()`): what fullgraph and export variants
    # compile. Never stored: made from ALL for those variants.
    UNBROKEN = "unbroken"

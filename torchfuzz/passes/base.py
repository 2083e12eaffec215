"""The pass protocol: a small named object with options as fields and one pure `run`.

Shaped like xDSL's `ModulePass` and `torch.fx.passes.infra.pass_base.PassResult`: a pass takes
a graph and returns a new one plus whether anything changed; it never edits its input.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from torchfuzz.ir.graph import Graph

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PassResult:
    """What a pass returns: the resulting graph and whether it differs from the input."""

    graph: Graph
    modified: bool


class PassError(Exception):
    """A pass met a graph it cannot handle: names the pass, the node, the rule and the graph."""

    def __init__(self, pass_name: str, rule: str, graph_text: str, node: str | None = None) -> None:
        super().__init__(pass_name, rule, graph_text, node)
        self.pass_name = pass_name
        self.rule = rule
        self.graph_text = graph_text
        self.node = node

    def headline(self) -> str:
        """One line: which pass, which node, which rule."""
        where = f"node {self.node}: " if self.node is not None else ""
        return f"[{self.pass_name}] {where}{self.rule}"

    def __str__(self) -> str:
        return f"{self.headline()}\n{_mark_node(self.graph_text, self.node)}"


def _mark_node(graph_text: str, node: str | None) -> str:
    """The graph text with the offending node's line flagged, so the eye finds it at once."""
    if node is None:
        return graph_text
    prefix = f"  {node}: "
    return "\n".join(
        f"{line}    # <-- {node}" if line.startswith(prefix) else line
        for line in graph_text.splitlines()
    )


@dataclass(frozen=True)
class Pass(abc.ABC):
    """A named graph transformation. Subclasses are frozen dataclasses whose fields are options.

    `run` must not mutate its argument: the minimizer keeps many candidate graphs alive.
    """

    name: ClassVar[str] = "pass"

    @abc.abstractmethod
    def run(self, graph: Graph) -> PassResult:
        """Transform `graph` into a new graph."""

    def __call__(self, graph: Graph) -> PassResult:
        return self.run(graph)

    def error(self, rule: str, graph: Graph, node: str | None = None) -> PassError:
        """A `PassError` attributed to this pass."""
        return PassError(self.name, rule, graph.text(), node)


class PipelineError(PassError):
    """A pass of a pipeline raised (or its output failed verification); `error` is the cause.

    The graph shown is the one the inner `PassError` saw (it holds the node it names), else
    `graph_text`: the graph the failing pass was given.
    """

    def __init__(self, pass_name: str, stage: str, error: Exception, graph_text: str) -> None:
        if isinstance(error, PassError):
            inner, node, graph_text = error.headline(), error.node, error.graph_text
        else:
            inner, node = f"{type(error).__name__}: {error}", None
        super().__init__(pass_name, f"{stage}: {inner}", graph_text, node)
        self.stage = stage
        self.error = error

    def headline(self) -> str:
        return f"[{self.pass_name}] {self.rule}"  # the inner headline already names the node

    def __reduce__(self) -> tuple:  # the constructor differs from PassError's: keep pickling
        return (PipelineError, (self.pass_name, self.stage, self.error, self.graph_text))


@dataclass(frozen=True)
class Pipeline:
    """Passes run in order; with `verify_each` (a verifier such as `passes.verify`), the graph
    is checked after every pass.

    A failure is re-raised as a `PipelineError` naming the pass that failed.
    """

    passes: tuple[Pass, ...]
    verify_each: Callable[[Graph], None] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "passes", tuple(self.passes))  # accept any iterable
        for p in self.passes:
            if not isinstance(p, Pass):
                raise TypeError(f"pipeline stage {p!r} is not a Pass")

    def run(self, graph: Graph) -> Graph:
        """Run every pass in order and return the final graph."""
        verify = self.verify_each
        for p in self.passes:
            try:
                result = p.run(graph)
            except Exception as exc:
                raise PipelineError(p.name, "pass raised", exc, graph.text()) from exc
            if not isinstance(result, PassResult):
                raise PipelineError(
                    p.name,
                    "pass broke its contract",
                    TypeError(f"run returned {type(result).__name__}, not PassResult"),
                    graph.text(),
                )
            log.debug("pass %s: modified=%s, %d nodes", p.name, result.modified, len(result.graph))
            if verify is not None:
                try:
                    verify(result.graph)
                except Exception as exc:
                    raise PipelineError(
                        p.name, "output failed verification", exc, result.graph.text()
                    ) from exc
            graph = result.graph
        return graph

    def __call__(self, graph: Graph) -> Graph:
        return self.run(graph)

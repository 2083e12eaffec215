"""What a standalone script adds to the judge: compiling under a variant given as plain
data, and the verdict as printed lines and an exit status.

The scripts of :mod:`~torchfuzz.backends.python` and :mod:`~torchfuzz.backends.repro`
embed this module verbatim after :mod:`~torchfuzz.backends.judge`.  It imports only torch
and the standard library (and names from the modules embedded before it).

:func:`compile_and_call` is the scripts' ``compile_and_call`` hook.  It does what
:func:`torchfuzz.backends.variants.run_compiled_calls` does, less the stage
classification: a compile failure is a ``backend compile`` crash, a failure while
computing gradients a ``backward`` one, any other a ``run`` one.

Exit status: 1 when some variant mismatched or crashed (a finding), 2 when the program
cannot be judged at all (eager raises: ``invalid``; eager is not bit-reproducible:
``skipped``), else 0 (every variant agreed with eager or was skipped).
"""

from __future__ import annotations

import contextlib
import importlib
import traceback
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch._dynamo
import torch.fx.experimental.symbolic_shapes

from torchfuzz.backends.gradients import input_gradients, requiring_grad, state_parameters
from torchfuzz.backends.outcome import Crash, Outcome, OutcomeKind, Stage

__all__ = [
    "EXPORT_BACKENDS",
    "CompiledCalls",
    "as_variant",
    "compile_and_call",
    "exit_status",
    "verdict_lines",
]


@dataclass(frozen=True)
class CompiledCalls:
    """What the calls of one compiled program gave (as ``variants.CompiledRun``)."""

    calls: tuple = ()
    crash: Crash | None = None
    skip: str = ""


def as_variant(data: Mapping[str, object]) -> types.SimpleNamespace:
    """A variant from its ``Variant.to_dict()`` form (``backend`` may be a callable)."""
    defaults = {"dynamo_config": (), "inductor_config": (), "backward": False}
    defaults |= {"mark_dynamic": False, "recompile": False, "dynamic": False}
    return types.SimpleNamespace(**{"fullgraph": False, **defaults, **data})


def _backend(spec: object) -> object:
    if not isinstance(spec, str) or ":" not in spec:
        return spec
    module, _, attr = spec.partition(":")
    target = importlib.import_module(module)
    for name in attr.split("."):
        target = getattr(target, name)
    return target


def exception_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (``inner_exception``, cause, context), in order."""
    chain: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or any(current is seen for seen in chain):
            continue
        chain.append(current)
        pending += [getattr(current, "inner_exception", None), current.__cause__]
        pending.append(current.__context__)
    return chain


def _crash(stage: Stage, exc: BaseException) -> Crash:
    inner = getattr(exc, "inner_exception", None)  # unwrap Dynamo's BackendCompilerFailed
    origin = inner if isinstance(inner, BaseException) else exc
    if stage is Stage.RUN and origin is not exc:
        stage = Stage.BACKEND
    cls = type(origin)
    name = cls.__qualname__
    if cls.__module__ != "builtins":
        name = f"{cls.__module__}.{name}"
    text = "".join(traceback.format_exception(origin, limit=-30, chain=False))
    return Crash(stage=stage, exc_type=name, message=str(origin)[:4000], traceback=text)


_SPECIALIZED = torch.fx.experimental.symbolic_shapes.ConstraintViolationError
# Variants that do not go through torch.compile: `torch.export.export` (non-strict), then
# the exported program's module (`export`) or its AOTInductor package (`aoti`).
EXPORT_BACKENDS = ("export", "aoti")
# What export cannot trace is the program's limit, not a bug: a data-dependent guard (a
# branch or size on an `.item()` value).
_UNTRACEABLE = (torch.fx.experimental.symbolic_shapes.GuardOnDataDependentSymNode,)


def _exported(fn: Callable[..., object], inputs: Sequence[object], variant: object) -> Callable:
    """`fn` exported on `inputs` (every tensor dim dynamic for a dynamic variant), as the
    exported module or, for `aoti`, as the loaded AOTInductor package."""
    shapes = None
    if variant.dynamic:
        auto = torch.export.Dim.AUTO
        shapes = tuple(
            {d: auto for d in range(x.dim())} if isinstance(x, torch.Tensor) else None
            for x in inputs
        )
    program = torch.export.export(fn, tuple(inputs), dynamic_shapes=shapes, strict=False)
    module = program.module()
    if variant.backend == "export":
        return module
    # AOTInductor returns a 0-dim tensor where the program returns a Python number; the
    # exported module, run once on copies of the inputs, says which outputs are numbers.
    copies = [x.clone() if isinstance(x, torch.Tensor) else x for x in inputs]
    kinds = [type(v) for v in module(*copies)]
    import tempfile

    directory = tempfile.mkdtemp(prefix="torchfuzz-aoti-")
    path = torch._inductor.aoti_compile_and_package(
        program, package_path=f"{directory}/program.pt2"
    )
    package = torch._inductor.aoti_load_package(path)

    def call(*args: object) -> tuple:
        values = package(*args)
        return tuple(
            kind(v.item()) if kind in (bool, int, float) and isinstance(v, torch.Tensor) else v
            for kind, v in zip(kinds, values)
        )

    return call


def compile_and_call(
    fn: Callable[..., object],
    calls: Sequence[Sequence[object]],
    variant: types.SimpleNamespace,
    marked: Sequence[Sequence[int]] = (),
    backend: object = None,
    crash: Callable[[Stage, BaseException], Crash] = _crash,
) -> CompiledCalls:
    """Compile ``fn`` once under ``variant`` from a fresh Dynamo state and call it on each
    input list of ``calls``, the ``marked`` dims of the inputs marked dynamic; a backward
    variant's values end with the input gradients.  ``backend`` replaces the variant's
    (torchfuzz passes a tracking wrapper) and ``crash`` turns an exception raised while
    calling (``RUN``) or differentiating (``BACKWARD``) into a :class:`Crash`."""
    torch._dynamo.reset()
    values = []
    params = state_parameters(fn) if variant.backward else []  # before compiling
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch._dynamo.config.patch(**dict(variant.dynamo_config)))
        if variant.inductor_config:
            config = importlib.import_module("torch._inductor.config")  # loaded when needed
            stack.enter_context(config.patch(**dict(variant.inductor_config)))
        if variant.backend in EXPORT_BACKENDS:
            crash = _crash  # no torch.compile stages to tell apart
            try:
                compiled = _exported(fn, calls[0], variant)
            except Exception as exc:
                if any(isinstance(e, _UNTRACEABLE) for e in exception_chain(exc)):
                    first = next(iter(str(exc).strip().splitlines()), "")
                    return CompiledCalls(skip=f"export cannot trace the program: {first}")
                return CompiledCalls(crash=_crash(Stage.BACKEND, exc))
        else:
            compiled = torch.compile(
                fn,
                backend=_backend(variant.backend) if backend is None else backend,
                dynamic=variant.dynamic,
                fullgraph=variant.fullgraph,
                mode=getattr(variant, "mode", None),
            )
        if variant.backward:
            stack.enter_context(torch.enable_grad())
        for inputs in calls:
            if variant.backward:
                inputs = requiring_grad(inputs)
            for x, dims in zip(inputs, marked):
                if dims and isinstance(x, torch.Tensor):
                    torch._dynamo.mark_dynamic(x, list(dims))
            try:
                outputs = compiled(*inputs)
            except Exception as exc:
                if any(isinstance(e, _SPECIALIZED) for e in exception_chain(exc)):
                    first = next(iter(str(exc).strip().splitlines()), "")
                    return CompiledCalls(skip=f"the program specializes a marked dim: {first}")
                return CompiledCalls(crash=crash(Stage.RUN, exc))
            if variant.backward:
                outputs = tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)
                try:
                    outputs = outputs + input_gradients(outputs, [*inputs, *params])
                except Exception as exc:
                    return CompiledCalls(crash=crash(Stage.BACKWARD, exc))
            values.append(outputs)
    return CompiledCalls(calls=tuple(values))


def verdict_lines(outcome: Outcome) -> list[str]:
    """One line per variant (one per mismatch), then a conclusion line."""
    if not outcome.results and outcome.kind in (OutcomeKind.INVALID, OutcomeKind.SKIPPED):
        reason = next(iter(outcome.reason.strip().splitlines()), "")
        return [f"{outcome.kind.value}: {reason}; nothing to judge"]
    lines = []
    for result in outcome.results:
        name = result.variant
        if result.crash is not None:
            crash = result.crash
            first = next(iter(crash.message.strip().splitlines()), "")
            lines.append(f"{name}: CRASH {crash.exc_type.rpartition('.')[2]}: {first}")
        elif result.mismatches:
            lines += [f"{name}: MISMATCH {m.summary()}" for m in result.mismatches]
        elif result.kind is OutcomeKind.SKIPPED:
            lines.append(f"{name}: skipped, {result.reason}")
        else:
            lines.append(f"{name}: {result.kind.value}")
    failing = [r.variant for r in outcome.failing]
    lines.append("FAIL: " + ", ".join(failing) if failing else "all variants agree with eager")
    return lines


def exit_status(outcome: Outcome) -> int:
    """1 on a finding, 2 when nothing could be judged (see the module docstring), else 0."""
    if outcome.failing:
        return 1
    return 2 if not outcome.results else 0

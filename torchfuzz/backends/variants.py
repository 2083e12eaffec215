"""Compile variants, backend resolution, and running a callable under one variant.

A :class:`Variant` names one way to ``torch.compile`` a program (backend, dynamic
shapes, fullgraph, config patches, and whether gradients are checked too).
:func:`run_compiled` compiles and runs a callable under a variant from a fresh Dynamo
state and returns its outputs (followed, for a backward variant, by the input
gradients of :mod:`torchfuzz.backends.gradients`), or a
:class:`~torchfuzz.backends.outcome.Crash` naming the stage that failed.

Stages of a crash are classified in :mod:`torchfuzz.backends.stages`.

Errors in the variant itself (unknown backend, unknown config key) are fuzzer bugs and
raise instead of becoming a crash.  Kernels compiled lazily on the first call would be
classified ``RUN``.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch._dynamo
import torch.fx.experimental.symbolic_shapes

from torchfuzz.backends.outcome import Crash, Stage
from torchfuzz.backends.stages import TrackingBackend, backward_crash, crash_from
from torchfuzz.backends.standalone import EXPORT_BACKENDS, CompiledCalls, compile_and_call

log = logging.getLogger(__name__)

__all__ = [
    "BUILTIN_VARIANTS",
    "CompiledRun",
    "DEFAULT_VARIANTS",
    "UnknownBackendError",
    "UnknownVariantError",
    "Variant",
    "get_variant",
    "resolve_backend",
    "run_compiled",
    "run_compiled_calls",
]

_INDUCTOR = "inductor"
_ALWAYS_KNOWN_BACKENDS = frozenset({"eager", "aot_eager", _INDUCTOR, *EXPORT_BACKENDS})


class UnknownVariantError(KeyError, ValueError):
    """A variant name that is not in :data:`BUILTIN_VARIANTS`."""

    def __str__(self) -> str:
        # KeyError.__str__ would repr() the message.
        return str(self.args[0]) if self.args else ""


class UnknownBackendError(ValueError):
    """A backend spec that is neither a registered name nor ``pkg.mod:attr``."""


def _config_pairs(items: Any, what: str) -> tuple[tuple[str, object], ...]:
    pairs = tuple((str(key), value) for key, value in items)
    if len({key for key, _ in pairs}) != len(pairs):
        raise ValueError(f"duplicate {what} keys in {pairs}")
    return pairs


@dataclass(frozen=True, slots=True)
class Variant:
    """One way of compiling a program with ``torch.compile``.

    ``backend`` is a registered backend name or an importable ``pkg.mod:attr``
    spec; config entries are ``(name, value)`` patches applied while compiling and
    running, with JSON-safe values.  A ``backward`` variant also differentiates the
    compiled program and compares the input gradients.  A ``mark_dynamic`` variant
    calls ``torch._dynamo.mark_dynamic`` on the input dims the runner chooses
    (:func:`torchfuzz.passes.resize.marked_dims`) before each compiled call.  A
    ``recompile`` variant calls the compiled program a second time, on the inputs of
    the resized program (:func:`torchfuzz.passes.resize.resize`), and judges both calls.
    ``mode`` is ``torch.compile``'s (e.g. ``max-autotune-no-cudagraphs``). Written as specs
    (``inductor,fullgraph=true``) by :mod:`torchfuzz.backends.variant_spec`.
    """

    name: str
    backend: str
    dynamic: bool | None = False
    fullgraph: bool = False
    dynamo_config: tuple[tuple[str, object], ...] = ()
    inductor_config: tuple[tuple[str, object], ...] = ()
    backward: bool = False
    mark_dynamic: bool = False
    recompile: bool = False
    mode: str | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.backend:
            got = f"{self.name!r}, {self.backend!r}"
            raise ValueError(f"Variant needs a name and a backend, got {got}")
        if not (self.dynamic is None or isinstance(self.dynamic, bool)):
            raise ValueError(f"Variant.dynamic must be a bool or None: {self.dynamic!r}")
        for flag in ("backward", "mark_dynamic", "recompile"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"Variant.{flag} must be a bool: {getattr(self, flag)!r}")
            if getattr(self, flag) and self.backend in EXPORT_BACKENDS:
                raise ValueError(f"an {self.backend} variant compiles once, without {flag}")
        object.__setattr__(
            self, "dynamo_config", _config_pairs(self.dynamo_config, "dynamo_config")
        )
        object.__setattr__(
            self,
            "inductor_config",
            _config_pairs(self.inductor_config, "inductor_config"),
        )

    def with_backend(self, backend: str) -> Variant:
        """This variant with ``backend`` in place of Inductor (others are unchanged)."""
        if self.backend != _INDUCTOR:
            return self
        return dataclasses.replace(self, backend=backend)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; inverse of :meth:`from_dict`."""
        return {
            "name": self.name,
            "backend": self.backend,
            "dynamic": self.dynamic,
            "fullgraph": self.fullgraph,
            "dynamo_config": [[key, value] for key, value in self.dynamo_config],
            "inductor_config": [[key, value] for key, value in self.inductor_config],
            "backward": self.backward,
            "mark_dynamic": self.mark_dynamic,
            "recompile": self.recompile,
            "mode": self.mode,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Variant:
        """Rebuild a :class:`Variant` from :meth:`to_dict` output."""
        return cls(
            name=str(data["name"]),
            backend=str(data["backend"]),
            dynamic=data.get("dynamic", False),
            fullgraph=bool(data.get("fullgraph", False)),
            dynamo_config=tuple((k, v) for k, v in data.get("dynamo_config", ())),
            inductor_config=tuple((k, v) for k, v in data.get("inductor_config", ())),
            backward=bool(data.get("backward", False)),
            mark_dynamic=bool(data.get("mark_dynamic", False)),
            recompile=bool(data.get("recompile", False)),
            mode=data.get("mode"),
        )


# Inductor keeps float16/bfloat16 intermediates in float32 unless told to round like eager;
# without this, a rounding step that eager does (e.g. before a float->int cast or `round`)
# is skipped and every such program reports a false mismatch (ORACLE_NOTES "Low precision").
_EAGER_ROUNDING = (("emulate_precision_casts", True),)

BUILTIN_VARIANTS: Mapping[str, Variant] = types.MappingProxyType(
    {
        "eager": Variant("eager", backend="eager"),
        "aot_eager": Variant("aot_eager", backend="aot_eager"),
        "inductor": Variant("inductor", backend=_INDUCTOR, inductor_config=_EAGER_ROUNDING),
        "inductor_dynamic": Variant(
            "inductor_dynamic", backend=_INDUCTOR, dynamic=True, inductor_config=_EAGER_ROUNDING
        ),
        "inductor_dynamic_capture": Variant(
            "inductor_dynamic_capture",
            backend=_INDUCTOR,
            dynamic=True,
            dynamo_config=(
                ("capture_scalar_outputs", True),
                ("capture_dynamic_output_shape_ops", True),
            ),
            inductor_config=_EAGER_ROUNDING,
        ),
        # Gradients too; not in DEFAULT_VARIANTS (a backward compile roughly doubles the cost).
        "aot_eager_backward": Variant("aot_eager_backward", backend="aot_eager", backward=True),
        "inductor_backward": Variant(
            "inductor_backward", backend=_INDUCTOR, inductor_config=_EAGER_ROUNDING, backward=True
        ),
        # Chosen input dims marked dynamic, the others static; not in DEFAULT_VARIANTS.
        "inductor_mark_dynamic": Variant(
            "inductor_mark_dynamic",
            backend=_INDUCTOR,
            inductor_config=_EAGER_ROUNDING,
            mark_dynamic=True,
        ),
        "aot_eager_mark_dynamic": Variant(
            "aot_eager_mark_dynamic", backend="aot_eager", mark_dynamic=True
        ),
        # Automatic dynamic: the second call, on inputs of new sizes, recompiles.
        "inductor_recompile": Variant(
            "inductor_recompile",
            backend=_INDUCTOR,
            dynamic=None,
            inductor_config=_EAGER_ROUNDING,
            recompile=True,
        ),
        "aot_eager_recompile": Variant(
            "aot_eager_recompile", backend="aot_eager", dynamic=None, recompile=True
        ),
        # torch.export, then the exported module / the AOTInductor package; not default.
        "export": Variant("export", backend="export"),
        "aoti": Variant("aoti", backend="aoti", inductor_config=_EAGER_ROUNDING),
    }
)
DEFAULT_VARIANTS: tuple[str, ...] = (
    "inductor",
    "inductor_dynamic",
    "inductor_dynamic_capture",
)


def get_variant(name: str) -> Variant:
    """The builtin variant called ``name``; raises :class:`UnknownVariantError`."""
    try:
        return BUILTIN_VARIANTS[name]
    except KeyError:
        known = ", ".join(sorted(BUILTIN_VARIANTS))
        raise UnknownVariantError(f"unknown variant {name!r}; known: {known}") from None


def resolve_backend(spec: str) -> str | Callable[..., Any]:
    """A registered backend name as is, or the callable named by ``pkg.mod:attr``."""
    if ":" in spec:
        module_name, _, attr_path = spec.partition(":")
        try:
            target: Any = importlib.import_module(module_name)
            for attr in attr_path.split("."):
                target = getattr(target, attr)
        except (ImportError, AttributeError, ValueError) as exc:
            raise UnknownBackendError(f"cannot import backend {spec!r}: {exc}") from exc
        if not callable(target):
            raise UnknownBackendError(
                f"backend {spec!r} is a {type(target).__name__}, not callable"
            )
        return target
    if spec in _ALWAYS_KNOWN_BACKENDS or spec in torch._dynamo.list_backends(exclude_tags=()):
        return spec
    raise UnknownBackendError(
        f"unknown backend {spec!r}: not a registered name nor 'package.module:attr'"
    )


# What the calls of one compiled program gave: each call's outputs (followed, for a backward
# variant, by the input gradients), or the crash that ended them, or why they cannot be
# judged (``skip``: a dim marked dynamic that the program specializes).
CompiledRun = CompiledCalls


def run_compiled(
    fn: Callable[..., Any], inputs: Sequence[object], variant: Variant
) -> tuple[object, Crash | None]:
    """Compile ``fn`` under ``variant``, call it on ``inputs``; return (outputs, crash).

    For a backward variant the floating-point tensor inputs become leaves requiring
    grad, and the outputs are followed by the input gradients (the backward is
    compiled and run while the variant's config patches are active).  Dynamo state is
    reset first.  ``inputs`` are passed as is: a caller that reuses them must pass
    clones, since the program may mutate its inputs.
    """
    run = run_compiled_calls(fn, [inputs], variant)
    return (None, run.crash) if run.crash is not None else (run.calls[0], None)


def run_compiled_calls(
    fn: Callable[..., Any],
    calls: Sequence[Sequence[object]],
    variant: Variant,
    marked: Sequence[Sequence[int]] = (),
) -> CompiledRun:
    """Compile ``fn`` once under ``variant`` and call it on each input list of ``calls``
    in turn (as :func:`run_compiled` does for one), from a fresh Dynamo state.

    ``marked`` gives, per input position, the dims to ``torch._dynamo.mark_dynamic``
    on the tensors of every call right before it (after they became leaves requiring
    grad, which are new tensor objects).  A program that specializes a marked dim makes
    Dynamo raise ``ConstraintViolationError``: that is the program's fault (it has a
    literal shape, or guards the size against another static size), so the run is
    ``skip``-ped, not a crash.
    """
    if variant.backend in EXPORT_BACKENDS:  # no torch.compile backend: nothing to track
        return compile_and_call(fn, calls, variant, marked)
    backend = resolve_backend(variant.backend)
    real = torch._dynamo.lookup_backend(backend) if isinstance(backend, str) else backend
    name = backend if isinstance(backend, str) else getattr(backend, "__name__", variant.backend)
    tracker = TrackingBackend(real, name)

    def crash(stage: Stage, exc: BaseException) -> Crash:
        found = backward_crash(exc) if stage is Stage.BACKWARD else crash_from(exc, tracker)
        log.debug("variant %s crashed: %s", variant.name, found.summary())
        return found

    log.debug("running %s under variant %s", getattr(fn, "__name__", fn), variant.name)
    # The scripts' loop (one source), with the stage of a crash told by the tracking backend.
    return compile_and_call(fn, calls, variant, marked, backend=tracker, crash=crash)

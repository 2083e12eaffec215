"""A stable signature per finding, for deduplication and for the minimizer's predicate.

Two runs of the same bug must give the same :class:`Signature`, even when the program
that triggers it is a different one (another seed, or a reduced candidate) or the
variant is another one (the same bug under ``dynamic=True`` is still the same bug; a
finding lists the variants it was seen in); different bugs should differ.  A signature
is the failure kind and a few size-independent ``parts``.

What one run says (the *cheap* signature, :func:`failure_signature`):

* crash: the exception type, its :func:`normalize_message` form, and the innermost
  PyTorch frames of its traceback (:func:`torch_frames`);
* mismatch: the :class:`~torchfuzz.backends.outcome.MismatchKind` of the first mismatch
  (the output index is left out: it moves when outputs are dropped), then ``gradient``,
  ``written input`` or ``second call`` when it is of an input gradient, of an input
  written in place, or of a recompile variant's second call;
* killed: the signal name (``SIGABRT``, ``SIGSEGV``);
* timeout: nothing.

A cheap mismatch, killed or timeout signature says little about the bug (every wrong
value is ``mismatch: value``), so a campaign replaces it by a *root-cause* signature
(:func:`root_signature`): the culprit's op pattern (from localization, or the ops of the
minimized program) in place of the mismatch kind (one wrong kernel may give a wrong
value in one program and a wrong dtype in another), after the signal of a killed or
hung run.  A crash keeps its cheap signature: its message and frames name the failing
code already.

This module depends only on the standard library: the torch install is located with
``importlib.util.find_spec`` without importing torch, so a supervising process that only
reads outcomes stays light.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torchfuzz.backends.outcome import (
    FAILING_KINDS,
    CaseKind,
    Outcome,
    OutcomeKind,
    ProcessFate,
    VariantResult,
    case_kind,
)

log = logging.getLogger(__name__)

__all__ = [
    "SIGNATURE_KINDS",
    "Signature",
    "failure_signature",
    "killed_signature",
    "normalize_message",
    "process_signature",
    "functional_op",
    "mismatch_flags",
    "result_signature",
    "root_op",
    "root_signature",
    "timeout_signature",
    "torch_frames",
]

# A signature is of a failing case: a crash, a mismatch, a killed or a hung worker.
SIGNATURE_KINDS: frozenset[CaseKind] = FAILING_KINDS

_ID_CHARS = 12
_MESSAGE_CHARS = 200
_DEFAULT_FRAMES = 3


@dataclass(frozen=True, slots=True)
class Signature:
    """What identifies a finding: ``kind`` (crash, mismatch, killed, timeout) and
    kind-specific, size-independent ``parts`` (not the variant: see the module docstring)."""

    kind: CaseKind
    parts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        try:
            kind = case_kind(self.kind)
        except ValueError:
            kind = None
        if kind not in SIGNATURE_KINDS:
            known = ", ".join(sorted(kind.value for kind in SIGNATURE_KINDS))
            raise ValueError(f"Signature.kind must be one of {known}, got {self.kind!r}")
        object.__setattr__(self, "kind", kind)
        parts = tuple(self.parts)
        if not all(isinstance(part, str) for part in parts):
            raise ValueError(f"Signature.parts must be strings, got {parts!r}")
        object.__setattr__(self, "parts", parts)

    @property
    def id(self) -> str:
        """First 12 hex chars of the SHA-256 of the canonical JSON; stable across processes."""
        canonical = json.dumps(
            self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True
        )
        return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:_ID_CHARS]

    def text(self) -> str:
        """One line such as ``3f2a... crash: RuntimeError | msg | frame``."""
        head = f"{self.id} {self.kind.value}"
        return f"{head}: {' | '.join(self.parts)}" if self.parts else head

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; inverse of :meth:`from_dict`."""
        return {"kind": self.kind.value, "parts": list(self.parts)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        """Rebuild a :class:`Signature` from :meth:`to_dict` output."""
        return cls(kind=str(data["kind"]), parts=tuple(str(part) for part in data.get("parts", ())))


# --- message normalization -------------------------------------------------------------

_ITEM = r"(?:<num>|<sym>)"
_EXPR = rf"-?{_ITEM}(?:\s*(?://|[-+*/%])\s*{_ITEM})*"

# (pattern, replacement) applied in order; each rule has its reason on the line above it.
_MESSAGE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # file paths (source, extensions, generated code under /tmp) differ between machines/runs
    (re.compile(r"(?:[\w.~-]*/)+[\w.-]+\.(?:py|pyi|so|cpp|cc|c|h|hpp|cu)\b"), "<path>"),
    (re.compile(r"/tmp/[^\s'\",:)\]]*"), "<path>"),
    # memory addresses (object reprs, pointers) differ on every run
    (re.compile(r"\b0x[0-9a-fA-F]{6,}\b"), "<addr>"),
    # Inductor kernel names embed the fused op list, which reduction changes
    (re.compile(r"\b(?:cpp|triton)_\w+"), "<kernel>"),
    # Inductor buffers/temporaries and AOT placeholders are numbered per program
    (re.compile(r"\b(?:buf|tmp|primals_|tangents_|arg\d+_)\d+\b"), "<buf>"),
    # value names of our IR (x0 inputs, v12 intermediates, also in l_x0_) are per program
    (re.compile(r"(?<![^\W_])[vx]\d+(?![^\W_])"), "<value>"),
    # symbolic sizes: backed (s0), unbacked (u3, zuf0), precomputed (ps0), kernel args (ks1)
    (re.compile(r"\b(?:s|u|ps|ks|zf|zuf)\d+\b"), "<sym>"),
    # FX/AOT node names such as add_3 or getitem_12 are numbered per graph
    (re.compile(r"\b[A-Za-z_]\w*?_\d+\b"), "<name>"),
    # other quoted generated identifiers ending in digits (dtype names excepted, see below)
    (re.compile(r"(['\"])(?!(?:b?float|u?int|complex)\d+\1)[A-Za-z_]\w*?\d+\1"), r"\1<name>\1"),
    # remaining hex literals are numbers
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<num>"),
    # numbers (ints, floats, scientific) scale with the program; digits inside names stay
    (re.compile(r"(?<![\w.])(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"), "<num>"),
    # shapes as lists [2, 3], [] or [s0, 3] vary in rank and size
    (re.compile(rf"\[\s*(?:{_EXPR}(?:\s*,\s*{_EXPR})*\s*,?\s*)?\]"), "<shape>"),
    # shapes as tuples (2, 3) or (2,) (at least one comma, so calls like f(3) are kept)
    (re.compile(rf"\(\s*{_EXPR}\s*,(?:\s*{_EXPR}\s*,)*(?:\s*{_EXPR})?\s*\)"), "<shape>"),
    # torch.Size(...) around a shape is the same shape
    (re.compile(r"torch\.Size\(\s*<shape>\s*\)"), "<shape>"),
    # runs of whitespace (indentation, alignment padding) carry no meaning
    (re.compile(r"\s+"), " "),
)


def normalize_message(message: str) -> str:
    """The first non-empty line of ``message`` with run- and size-dependent parts
    (paths, addresses, numbers, shapes, symbols, generated names) replaced by
    placeholders, whitespace collapsed and capped at 200 characters."""
    line = next((line for line in message.splitlines() if line.strip()), "")
    for pattern, replacement in _MESSAGE_RULES:
        line = pattern.sub(replacement, line)
    return line.strip()[:_MESSAGE_CHARS]


# --- traceback frames ------------------------------------------------------------------


def _torch_dir() -> str | None:
    """Directory of the installed torch package, found without importing torch."""
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return None
    return os.path.dirname(os.path.realpath(spec.origin))


_TORCH_DIR = _torch_dir()
_FRAME_LINE = re.compile(r'^\s*File "(?P<file>[^"]+)", line \d+, in (?P<func>.+?)\s*$')
# A torch install elsewhere (an outcome stored on another machine): keep from "torch/" on.
_FOREIGN_TORCH = re.compile(r"[/\\](?:site|dist)-packages[/\\](?P<rel>torch[/\\].+)$")
# Code generated at run time: FX forward (<eval_with_key>), Inductor output code in /tmp.
_GENERATED = re.compile(r"^<|[/\\]torchinductor_")


def _torch_relative(filename: str) -> str | None:
    """``torch/...`` path of a file inside a torch install, or None."""
    if _GENERATED.search(filename):
        return None
    if _TORCH_DIR is not None:
        real = os.path.realpath(filename)
        if real.startswith(_TORCH_DIR + os.sep):
            rel = os.path.relpath(real, os.path.dirname(_TORCH_DIR))
            return rel.replace(os.sep, "/")
    foreign = _FOREIGN_TORCH.search(filename)
    return foreign.group("rel").replace("\\", "/") if foreign else None


def torch_frames(traceback_text: str, limit: int = _DEFAULT_FRAMES) -> tuple[str, ...]:
    """The innermost ``limit`` frames of ``traceback_text`` that are inside torch, as
    ``torch/_inductor/codegen/cpp.py:codegen_node`` (no line numbers), innermost last.

    Frames of generated code (FX ``<eval_with_key>``, Inductor output code) and of
    anything outside torch (torchfuzz, a user backend) are skipped.
    """
    frames = []
    for line in traceback_text.splitlines():
        match = _FRAME_LINE.match(line)
        if match is None:
            continue
        rel = _torch_relative(match.group("file"))
        if rel is not None:
            frames.append(f"{rel}:{match.group('func')}")
    return tuple(frames[-limit:]) if limit > 0 else ()


# --- signatures ------------------------------------------------------------------------


def _crash_signature(result: VariantResult) -> Signature:
    crash = result.crash
    if crash is None:  # VariantResult guarantees a crash for kind CRASH
        raise ValueError(f"crash result without a crash: {result!r}")
    parts = (crash.exc_type, normalize_message(crash.message), *torch_frames(crash.traceback))
    return Signature(OutcomeKind.CRASH, parts)


def _mismatch_signature(result: VariantResult) -> Signature:
    # A wrong gradient, a wrong in-place write to an input, a wrong forward output and a
    # wrong result after recompiling for new sizes are different bugs (not the input's name:
    # that changes from program to program).
    first = result.mismatches[0]
    parts = [first.kind.value]
    if first.gradient_of:
        parts.append("gradient")
    if first.written_input:
        parts.append("written input")
    if first.second_call:
        parts.append("second call")
    return Signature(OutcomeKind.MISMATCH, tuple(parts))


_SIGNATURE_OF: Mapping[OutcomeKind, Callable[[VariantResult], Signature]] = {
    OutcomeKind.CRASH: _crash_signature,
    OutcomeKind.MISMATCH: _mismatch_signature,
}


def result_signature(result: VariantResult) -> Signature:
    """The cheap signature of one failing variant's result (a crash or a mismatch)."""
    return _SIGNATURE_OF[result.kind](result)


def failure_signature(outcome: Outcome) -> Signature | None:
    """Signature of the first failing variant of ``outcome``; None when nothing failed."""
    failing = outcome.failing
    if not failing:
        return None
    signature = result_signature(failing[0])
    log.debug("signature %s", signature.text())
    return signature


# Parts of a cheap mismatch signature that a root cause keeps: what was wrong (a forward
# output, a gradient, an input written in place, a second call), not how (value, dtype).
_MISMATCH_FLAGS = frozenset({"gradient", "written input", "second call"})


def mismatch_flags(signature: Signature) -> tuple[str, ...]:
    """What was wrong in a mismatch: ``gradient``, ``written input``, ``second call``."""
    return tuple(part for part in signature.parts if part in _MISMATCH_FLAGS)


# The root of a killed or hung case that did not fail again when triaged (a run slowed down by
# a loaded machine, or a heisenbug): one finding for all such, reported as not reproduced.
NOT_REPRODUCED = "not reproduced"
# The root of a wrong value that no node makes beyond tolerance: the first diverging node
# computes right from its operands, whose compiled values are within tolerance of eager's,
# and turns their difference into a large one (a round, a comparison, a cast to an integer;
# backends/amplified.py).  One finding for all such, reported as no bug.
AMPLIFIED = "amplified within tolerance"

# Roots that name no bug, and how a report says so.
NO_BUG: Mapping[str, str] = {
    NOT_REPRODUCED: "not reproduced in triage",
    AMPLIFIED: "within tolerance, amplified downstream",
}


def reproduced(signature: Signature) -> bool:
    """False for the root-cause signature of a case that did not fail again in triage."""
    return signature.parts[-1:] != (NOT_REPRODUCED,)


def no_bug(signature: Signature) -> str | None:
    """Why a root-cause signature names no bug (:data:`NO_BUG`), or None: it may."""
    return next((NO_BUG[part] for part in signature.parts if part in NO_BUG), None)


def root_signature(cheap: Signature, root: str, flags: tuple[str, ...] | None = None) -> Signature:
    """The root-cause signature of a finding whose cheap signature is ``cheap``: ``root``
    (a culprit's op pattern, or the op pattern of the minimized program) replaces the
    mismatch kind, or follows the signal of a killed or hung run; a mismatch keeps the
    ``flags`` of the culprit's own failure (default: ``cheap``'s, which may only show
    where the program exposed a wrong value, e.g. through an input written in place).
    A crash keeps ``cheap``."""
    if cheap.kind is OutcomeKind.CRASH:
        return cheap
    if cheap.kind is OutcomeKind.MISMATCH:
        flags = mismatch_flags(cheap) if flags is None else flags
        return Signature(cheap.kind, (root, *flags))
    return Signature(cheap.kind, (*cheap.parts, root))


def _signal_parts(signal_number: int | None) -> tuple[str, ...]:
    """The signal's name (``SIGABRT``); a negative ``returncode`` is accepted too."""
    number = abs(signal_number or 0)
    try:
        return (signal.Signals(number).name,)
    except ValueError:
        return (f"SIG{number}",)


# The parts of a process failure's signature, per fate, from the signal that ended it.
_FATE_PARTS: Mapping[ProcessFate, Callable[[int | None], tuple[str, ...]]] = {
    ProcessFate.KILLED: _signal_parts,
    ProcessFate.TIMEOUT: lambda signal_number: (),
}


def functional_op(name: str) -> str:
    """An op name without its in-place ``_`` (``add_`` -> ``add``: the same kernel and a
    copy), as root causes name ops."""
    return name[:-1] if name.endswith("_") and not name.startswith("_") else name


def root_op(signature: Signature) -> str | None:
    """The op a root-cause signature names (``mul`` of ``mismatch: mul -> float``, ``flip``
    of ``killed: SIGSEGV | flip``); None for a crash, a cheap signature or several ops."""
    if signature.kind is OutcomeKind.CRASH or not signature.parts:
        return None
    part = signature.parts[0] if signature.kind is OutcomeKind.MISMATCH else signature.parts[-1]
    op = part.split(" -> ")[0]
    if signature.kind is OutcomeKind.MISMATCH and op == part:
        return None  # a cheap mismatch signature: "value", "dtype", ...
    return None if " + " in op or op.startswith("SIG") else op


def process_signature(fate: ProcessFate, signal_number: int | None = None) -> Signature:
    """Signature of a worker that gave no outcome: killed by ``signal_number``, or timed
    out (the signal is then not part of it)."""
    return Signature(fate, _FATE_PARTS[ProcessFate(fate)](signal_number))


def killed_signature(signal_number: int) -> Signature:
    """Signature of a run killed by a signal; a negative ``returncode`` is accepted too."""
    return process_signature(ProcessFate.KILLED, signal_number)


def timeout_signature() -> Signature:
    """Signature of a run that did not finish in time."""
    return process_signature(ProcessFate.TIMEOUT)

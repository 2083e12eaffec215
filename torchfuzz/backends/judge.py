"""The verdict procedure: one copy, used by the runner and embedded in the standalone scripts.

:func:`judge` decides what a program does under each compile variant:

1. Eager runs twice on fresh inputs; it raising makes the program ``INVALID`` (a fuzzer
   bug), results that are not bit-identical make it ``SKIPPED`` (the determinism gate).
2. Each variant needs a baseline per (forward or backward, first or second call): eager
   (run twice, bit-identical) and the float64 reference on the same inputs, computed once,
   when a variant first needs it.  A baseline that cannot be had (eager backward raises,
   no output requires grad, the resized program cannot run) skips the variant.
3. The program is compiled once per variant and called by the injected ``compile_and_call``
   hook (the runner's classifies crash stages, the scripts' is plain), on the inputs and,
   for a recompile variant, then on the resized program's inputs.  Every evaluation ends
   with the values of the inputs the program writes in place, read after the call.
4. Each call is compared with :func:`compare_outputs`, with the gradient names (backward),
   written-input names, per-output ``computed_in`` precisions; mismatches of the second
   call are marked ``second_call``.
5. Before a mismatch is reported, eager is run :data:`CONFIRM_RUNS` more times with other
   allocations in between; an answer that differs makes the program ``SKIPPED``.

The program is described by a :class:`Subject`: plain data and callables, no torchfuzz
type.  This module imports only torch, the standard library and its siblings
:mod:`~torchfuzz.backends.outcome`, :mod:`~torchfuzz.backends.oracle` and
:mod:`~torchfuzz.backends.gradients`, which are embedded next to it in the scripts.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from torchfuzz.backends.gradients import differentiable_outputs, with_gradients
from torchfuzz.backends.oracle import DEFAULT_POLICY, ComparisonPolicy, compare_outputs
from torchfuzz.backends.outcome import Mismatch, Outcome, OutcomeKind, VariantResult
from torchfuzz.backends.standalone import EXPORT_BACKENDS

log = logging.getLogger(__name__)

__all__ = ["CONFIRM_RUNS", "Subject", "evaluate", "identical", "judge", "reference_values"]

CONFIRM_RUNS = 4  # extra eager runs before a mismatch is reported


@dataclass(frozen=True)
class Subject:
    """What the judge needs to know about one program.

    ``program()`` and ``reference()`` build fresh callables computing the program and
    the same program with every floating dtype widened to float64; ``make_inputs()``
    (and ``make_resized_inputs()``, None when no size can grow) build fresh inputs.
    ``written`` are the positions of the inputs the program writes in place and
    ``written_names`` their names; ``gradients_of`` names the inputs that get a gradient
    in a backward variant; ``computed_in`` gives per output the less precise dtype it was
    computed in, or None; ``marked`` per input the dims a mark_dynamic variant marks.
    ``one_graph()`` (None: ``program()``) builds the program as variants that need one
    graph (fullgraph, export) compile it: without its deliberate graph breaks.
    """

    program: Callable[[], Callable[..., object]]
    reference: Callable[[], Callable[..., object]]
    make_inputs: Callable[[], list]
    make_resized_inputs: Callable[[], list] | None
    outputs: int
    written: tuple[int, ...] = ()
    written_names: tuple[str, ...] = ()
    gradients_of: tuple[str, ...] = ()
    computed_in: tuple[torch.dtype | None, ...] = ()
    marked: tuple[tuple[int, ...], ...] = ()
    one_graph: Callable[[], Callable[..., object]] | None = None

    def compiled_program(self, variant: object) -> Callable[..., object]:
        """A fresh program for ``variant`` to compile (the same values either way)."""
        whole = getattr(variant, "fullgraph", False)
        whole = whole or getattr(variant, "backend", None) in EXPORT_BACKENDS
        return self.one_graph() if whole and self.one_graph is not None else self.program()


def identical(a: object, b: object) -> bool:
    """Bitwise the same, NaNs included."""
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.is_floating_point:
            both_nan = torch.isnan(a) & torch.isnan(b)
            return bool(torch.where(both_nan, True, a == b).all())
        return torch.equal(a, b)
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return type(a) is type(b) and a == b


def _all_identical(a: Sequence[object], b: Sequence[object]) -> bool:
    return len(a) == len(b) and all(map(identical, a, b))


def _as_tuple(values: object) -> tuple:
    return tuple(values) if isinstance(values, (tuple, list)) else (values,)


def evaluate(
    fn: Callable[..., object], inputs: Sequence[object], backward: bool, written: Sequence[int]
) -> tuple:
    """The outputs of ``fn(*inputs)``, then (``backward``) the input gradients, then the
    inputs at positions ``written`` (read after the call)."""
    if not backward:
        values = _as_tuple(fn(*inputs))
    else:
        outputs, grads = with_gradients(fn, inputs)
        values = outputs + grads
    return values + tuple(inputs[i] for i in written)


def _widen(value: object) -> object:
    if isinstance(value, torch.Tensor) and value.is_complex():
        return value.to(torch.complex128)
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.to(torch.float64)
    return value


def reference_values(
    fn: Callable[..., object], inputs: Sequence[object], backward: bool, written: Sequence[int]
) -> tuple | None:
    """:func:`evaluate` of the float64 program ``fn`` on ``inputs`` widened to float64,
    with float64 as the default dtype; None when float64 cannot run it."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return evaluate(fn, [_widen(x) for x in inputs], backward, written)
    except Exception as exc:  # some op lacks a float64 kernel: judge against eager alone
        log.info("no fp64 reference: %s: %s", type(exc).__name__, exc)
        return None
    finally:
        torch.set_default_dtype(previous)


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {next(iter(str(exc).strip().splitlines()), '')}"


@dataclass(frozen=True)
class _Baseline:
    """What compiled results are judged against in one mode (forward, or backward)."""

    eager: tuple = ()
    reference: tuple | None = None
    skip: str = ""  # why this mode cannot be judged


class _Judge:
    """Runs the variants of one subject, computing each baseline (forward or backward, of
    the first or the second call's inputs) once, when a variant first needs it."""

    def __init__(self, subject: Subject, policy: ComparisonPolicy, eager: tuple) -> None:
        self.subject, self.policy = subject, policy
        reference = self._reference(subject.make_inputs, False)
        self._baselines = {(False, False): _Baseline(eager, reference)}

    def _eager(self, make: Callable[[], list], backward: bool) -> tuple:
        s = self.subject
        return evaluate(s.program(), make(), backward, s.written)

    def _reference(self, make: Callable[[], list], backward: bool) -> tuple | None:
        s = self.subject
        return reference_values(s.reference(), make(), backward, s.written)

    def _compute(self, make: Callable[[], list], backward: bool) -> _Baseline:
        what = "eager backward" if backward else "eager"
        try:
            eager = self._eager(make, backward)
            again = self._eager(make, backward)
        except Exception as exc:  # e.g. an op without a derivative: not the compiler's fault
            return _Baseline(skip=f"{what} failed: {_first_line(exc)}")
        if backward and not differentiable_outputs(eager[: self.subject.outputs]):
            return _Baseline(skip="no output requires grad")
        if not all(map(identical, eager, again)):
            return _Baseline(skip=f"{what} is not bit-reproducible")
        return _Baseline(eager, self._reference(make, backward))

    def baseline(self, backward: bool, second: bool) -> _Baseline:
        key = (backward, second)
        if key not in self._baselines:
            make = self.subject.make_resized_inputs if second else self.subject.make_inputs
            if make is None:
                baseline = _Baseline(skip="not resizable: no input size can grow")
            else:
                baseline = self._compute(make, backward)
                if second and baseline.skip:
                    baseline = _Baseline(skip=f"resized program: {baseline.skip}")
            self._baselines[key] = baseline
        return self._baselines[key]

    def run(self, variant: object, compile_and_call: Callable[..., object]) -> VariantResult:
        """The verdict of one variant: compiled once, called on the program's inputs and
        (a recompile variant) then on the resized program's inputs."""
        s, name = self.subject, variant.name
        makers = [s.make_inputs, s.make_resized_inputs] if variant.recompile else [s.make_inputs]
        baselines = [self.baseline(variant.backward, i == 1) for i in range(len(makers))]
        skip = next((b.skip for b in baselines if b.skip), "")
        marked = s.marked if variant.mark_dynamic else ()
        if variant.mark_dynamic and not any(marked):
            skip = skip or "no input dim of size >= 2 to mark dynamic"
        if skip:
            return VariantResult(name, OutcomeKind.SKIPPED, reason=skip)
        calls = [make() for make in makers]
        start = time.perf_counter()
        run = compile_and_call(s.compiled_program(variant), calls, variant, marked)
        seconds = time.perf_counter() - start
        if run.crash is not None:
            return VariantResult(name, OutcomeKind.CRASH, crash=run.crash, seconds=seconds)
        if run.skip:
            return VariantResult(name, OutcomeKind.SKIPPED, reason=run.skip)
        gradients_of = s.gradients_of if variant.backward else ()
        mismatches: list[Mismatch] = []
        for second, (values, inputs, base) in enumerate(zip(run.calls, calls, baselines)):
            values = _as_tuple(values) + tuple(inputs[i] for i in s.written)
            found = compare_outputs(
                base.eager,
                values,
                base.reference,
                self.policy,
                gradients_of,
                s.written_names,
                s.computed_in,
            )
            mismatches += [dataclasses.replace(m, second_call=bool(second)) for m in found]
        kind = OutcomeKind.MISMATCH if mismatches else OutcomeKind.OK
        return VariantResult(name, kind, mismatches=tuple(mismatches), seconds=seconds)

    def reproducible(self, results: Sequence[VariantResult]) -> bool:
        """Whether eager gives its baseline again, after other work: on the program's
        inputs, and on the resized program's when a second call mismatched."""
        second = any(m.second_call for r in results for m in r.mismatches)
        pairs = [(self.subject.make_inputs, self._baselines[False, False].eager)]
        if second and self.subject.make_resized_inputs is not None:
            pairs.append((self.subject.make_resized_inputs, self.baseline(False, True).eager))
        for make, eager in pairs:
            for _ in range(CONFIRM_RUNS):
                self._reference(make, False)  # other allocations in between, as in a campaign
                if not _all_identical(eager, self._eager(make, False)):
                    return False
        return True


def judge(
    subject: Subject,
    variants: Sequence[object],
    compile_and_call: Callable[..., object],
    policy: ComparisonPolicy = DEFAULT_POLICY,
) -> Outcome:
    """The verdict on ``subject`` under each variant (see the module docstring).

    A variant is an object with ``name``, ``backward``, ``recompile`` and ``mark_dynamic``
    attributes, handed on to ``compile_and_call(fn, calls, variant, marked)``, which
    compiles ``fn`` once from a fresh Dynamo state, calls it on each input list of
    ``calls`` (marking the ``marked`` dims dynamic) and returns an object with ``calls``
    (per call, the outputs followed, for a backward variant, by the input gradients),
    ``crash`` (a :class:`Crash` or None) and ``skip`` (why the run cannot be judged, or "").
    """
    try:
        eager = evaluate(subject.program(), subject.make_inputs(), False, subject.written)
        again = evaluate(subject.program(), subject.make_inputs(), False, subject.written)
    except Exception as exc:
        return Outcome(OutcomeKind.INVALID, reason=f"eager failed: {type(exc).__name__}: {exc}")
    if not _all_identical(eager, again):
        return Outcome(OutcomeKind.SKIPPED, reason="eager is not bit-reproducible")
    state = _Judge(subject, policy, eager)
    results = tuple(state.run(variant, compile_and_call) for variant in variants)
    if any(r.kind is OutcomeKind.MISMATCH for r in results) and not state.reproducible(results):
        # Eager that is only sometimes nondeterministic (seen: garbage read under memory
        # reuse) can pass the two-run gate; a wrong answer is confirmed before it is reported.
        return Outcome(OutcomeKind.SKIPPED, reason="eager is not bit-reproducible")
    return Outcome.from_results(results)

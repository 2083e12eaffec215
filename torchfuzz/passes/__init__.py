"""Graph -> Graph passes: validation, type promotion, dead code elimination, observability."""

from torchfuzz.passes.base import Pass, PassError, PassResult, Pipeline, PipelineError
from torchfuzz.passes.dce import DeadCodeElimination, live_values
from torchfuzz.passes.observe import ObserveValues
from torchfuzz.passes.type_promotion import TypePromotion, natural_spec, promoted_dtype
from torchfuzz.passes.validate import Validate, ValidationError, spec_mismatch, verify


def default_pipeline(observe: bool = True, fake: bool = True) -> Pipeline:
    """The passes every generated graph goes through: promote types, drop dead code, make
    every value observable (unless not `observe`), verify (running every node on FakeTensors
    if `fake`, else against the fast inference path)."""
    middle = (ObserveValues(),) if observe else ()
    return Pipeline((TypePromotion(), DeadCodeElimination(), *middle, Validate(fake)))


__all__ = [
    "DeadCodeElimination",
    "Pass",
    "PassError",
    "PassResult",
    "Pipeline",
    "ObserveValues",
    "PipelineError",
    "TypePromotion",
    "Validate",
    "ValidationError",
    "default_pipeline",
    "live_values",
    "natural_spec",
    "promoted_dtype",
    "spec_mismatch",
    "verify",
]

"""Graph -> Graph passes: validation, type promotion, dead code elimination."""

from torchfuzz.passes.base import Pass, PassError, PassResult, Pipeline, PipelineError
from torchfuzz.passes.dce import DeadCodeElimination, live_values
from torchfuzz.passes.type_promotion import TypePromotion, natural_spec, promoted_dtype
from torchfuzz.passes.validate import Validate, ValidationError, spec_mismatch, verify


def default_pipeline() -> Pipeline:
    """The passes every generated graph goes through: promote types, drop dead code, verify."""
    return Pipeline((TypePromotion(), DeadCodeElimination(), Validate()))


__all__ = [
    "DeadCodeElimination",
    "Pass",
    "PassError",
    "PassResult",
    "Pipeline",
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

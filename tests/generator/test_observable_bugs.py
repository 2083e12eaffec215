"""Issue 11: a backend that miscomputes one op family is found by default programs.

Each synthetic backend of tests/_multibugs.py below breaks one pattern of one op (a negated
``where`` with a broadcast condition, a float32 ``exp`` through float16, a float ``cumsum``
1 % too large).  Default-options programs of seeds 0-199 are checked by the campaign's judge
(a program without the op cannot show the bug and is not run); the first failing seed must
come within the 200 (without the extra outputs of ``--observe``, the ``where`` and ``exp`` bugs
were found in none of them: README, Observability).
"""

from __future__ import annotations

import warnings

import pytest

from torchfuzz.backends.outcome import OutcomeKind
from torchfuzz.backends.runner import check, resolve_variants
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions

# bug backend -> the op it miscomputes
BUGS = {"where_bug_backend": "where", "exp_bug_backend": "exp", "cumsum_bug_backend": "cumsum"}
SEEDS = range(200)


def first_failing_seed(backend: str, op: str, options: GeneratorOptions) -> int | None:
    variants = resolve_variants(["inductor"], f"tests._multibugs:{backend}")
    for seed in SEEDS:
        graph = generate(seed, options)
        if op not in {n.op.name for n in graph.nodes}:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcome = check(graph, seed, variants)
        if outcome.kind is OutcomeKind.MISMATCH:
            return seed
    return None


@pytest.mark.slow
@pytest.mark.parametrize("backend", sorted(BUGS))
def test_a_single_miscompiled_op_family_is_found_within_200_default_seeds(backend):
    seed = first_failing_seed(backend, BUGS[backend], GeneratorOptions())
    assert seed is not None, f"{backend}: not found in seeds 0-199"

"""Finding signatures: equal for the same bug across programs and runs, different otherwise."""

import json
import os
import subprocess
import sys

import pytest
import torch

from tests._core_ops import CORE_OPTIONS
from torchfuzz.backends.outcome import (
    CASE_KINDS,
    FAILING_KINDS,
    Crash,
    Mismatch,
    MismatchKind,
    Outcome,
    OutcomeKind,
    ProcessFate,
    Stage,
    VariantResult,
    case_kind,
)
from torchfuzz.backends.runner import check, resolve_variants
from torchfuzz.backends.signature import (
    Signature,
    failure_signature,
    killed_signature,
    normalize_message,
    process_signature,
    root_op,
    root_signature,
    timeout_signature,
    torch_frames,
)
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions

SPEC = "tests.backends._backends:"
FLOAT32 = GeneratorOptions(dtypes=(torch.float32,), **CORE_OPTIONS)
TORCH_DIR = os.path.dirname(torch.__file__)


def _traceback(frames, exc_line, line_offset=0):
    """Traceback text in ``traceback.format_exception`` layout; frames are (file, func)."""
    lines = ["Traceback (most recent call last):"]
    for number, (filename, func) in enumerate(frames):
        lines.append(f'  File "{filename}", line {100 + number + line_offset}, in {func}')
        lines.append("    do_something()")
    lines.append(exc_line)
    return "\n".join(lines) + "\n"


def _torch_file(rel):
    return os.path.join(TORCH_DIR, *rel.split("/"))


INDUCTOR_FRAMES = (
    (_torch_file("_dynamo/output_graph.py"), "_call_user_compiler"),
    ("/work/main/torchfuzz/backends/variants.py", "__call__"),
    (_torch_file("_inductor/scheduler.py"), "codegen"),
    (_torch_file("_inductor/codegen/cpp.py"), "codegen_node"),
    ("<eval_with_key>.3", "forward"),
    (_torch_file("_inductor/codegen/common.py"), "indexing"),
)


def _crash_outcome(exc_type, message, frames, line_offset=0, variant="inductor"):
    crash = Crash(
        stage=Stage.BACKEND,
        exc_type=exc_type,
        message=message,
        traceback=_traceback(frames, f"{exc_type}: {message}", line_offset),
    )
    ok = VariantResult("aot_eager", OutcomeKind.OK)
    return Outcome.from_results([ok, VariantResult(variant, OutcomeKind.CRASH, crash=crash)])


def _mismatch_outcome(*indices_and_kinds, variant="inductor"):
    mismatches = tuple(Mismatch(i, kind, "differs") for i, kind in indices_and_kinds)
    result = VariantResult(variant, OutcomeKind.MISMATCH, mismatches=mismatches)
    return Outcome.from_results([result])


# --- synthetic crashes -----------------------------------------------------------------


def test_crashes_differing_only_in_run_and_size_details_share_a_signature():
    first = _crash_outcome(
        "AssertionError",
        "bad index 2*s0 + 7 for buf12 of shape torch.Size([2, 3]) (x3, v7) at 0x7f3a2b4c5d60"
        " in /tmp/torchinductor_root/ab/cab12.py, strides (3, 1), 'getitem_3'\nmore details 5",
        INDUCTOR_FRAMES,
    )
    second = _crash_outcome(
        "AssertionError",
        "bad index 4*s12 + 31 for buf3 of shape torch.Size([5, 6, 7]) (x0, v19) at 0x55d1e0a4b2f0"
        " in /tmp/torchinductor_ci/zz/czz9.py, strides (42, 7, 1), 'getitem_11'\nother 9",
        INDUCTOR_FRAMES,
        line_offset=57,
    )
    a, b = failure_signature(first), failure_signature(second)
    assert a == b and a.id == b.id
    assert a.kind == "crash"
    assert a.parts == (
        "AssertionError",
        "bad index <num>*<sym> + <num> for <buf> of shape <shape> (<value>, <value>) at <addr>"
        " in <path>, strides <shape>, '<name>'",
        "torch/_inductor/scheduler.py:codegen",
        "torch/_inductor/codegen/cpp.py:codegen_node",
        "torch/_inductor/codegen/common.py:indexing",
    )


def test_different_exception_type_gives_a_different_signature():
    a = failure_signature(_crash_outcome("AssertionError", "boom", INDUCTOR_FRAMES))
    b = failure_signature(_crash_outcome("RuntimeError", "boom", INDUCTOR_FRAMES))
    assert a != b and a.id != b.id


def test_different_innermost_frame_gives_a_different_signature():
    other = (*INDUCTOR_FRAMES[:-1], (_torch_file("_inductor/lowering.py"), "make_pointwise"))
    a = failure_signature(_crash_outcome("AssertionError", "boom", INDUCTOR_FRAMES))
    b = failure_signature(_crash_outcome("AssertionError", "boom", other))
    assert a != b and a.id != b.id


def test_different_message_gives_a_different_signature_another_variant_the_same():
    base = failure_signature(_crash_outcome("RuntimeError", "boom", INDUCTOR_FRAMES))
    other_message = _crash_outcome("RuntimeError", "bang", INDUCTOR_FRAMES)
    other_variant = _crash_outcome("RuntimeError", "boom", INDUCTOR_FRAMES, variant="x")
    assert base != failure_signature(other_message)
    assert base == failure_signature(other_variant)  # one bug, seen in two variants


# --- normalize_message and torch_frames ------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("size 3 vs 4.5e-3 vs 0x1f", "size 12 vs 7.25 vs 0xff"),
        ("shape [2, 3]", "shape [7]"),
        ("shape torch.Size([2, 3])", "shape torch.Size([])"),
        ("sizes (2, 3) and (4,)", "sizes (5, 6, 7) and (s0, 2*s1 + 1)"),
        ("symbols s0 u3 zuf0 ps0", "symbols s12 u0 zuf7 ps3"),
        ("object at 0x7f3a2b4c5d60", "object at 0x55d1e0a4b2f0"),
        ("in /usr/lib/python3/torch/x.py:12", "in /home/me/torch/y.py:99"),
        ("libtorch/a.so and /tmp/torchinductor_a/b", "libtorch/b.so and /tmp/other/c"),
        ("buf12 tmp3 in cpp_fused_add_0", "buf0 tmp17 in cpp_fused_mul_sin_3"),
        ("values x0 v12 L['x3'] l_x3_", "values x7 v1 L['x0'] l_x10_"),
        ("node 'getitem_3' add_5", "node 'getitem_12' add_0"),
        ("  spaced \t out  ", "spaced out"),
        ("\n\nfirst line\nsecond 1", "first line\nsecond 2"),
    ],
)
def test_normalize_message_removes_what_varies(first, second):
    assert normalize_message(first) == normalize_message(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("expected float32", "expected float64"),
        ("dtype 'float32'", "dtype 'int64'"),
        ("index out of bounds", "division by zero"),
        ("ToFloat(False)", "ToInt(False)"),
    ],
)
def test_normalize_message_keeps_what_identifies_the_bug(first, second):
    assert normalize_message(first) != normalize_message(second)


def test_normalize_message_caps_length():
    assert len(normalize_message("word " * 200)) <= 200


def test_torch_frames_keeps_innermost_torch_frames_innermost_last():
    text = _traceback(INDUCTOR_FRAMES, "RuntimeError: boom")
    assert torch_frames(text, limit=2) == (
        "torch/_inductor/codegen/cpp.py:codegen_node",
        "torch/_inductor/codegen/common.py:indexing",
    )
    assert torch_frames(text, limit=10)[0] == "torch/_dynamo/output_graph.py:_call_user_compiler"
    assert len(torch_frames(text, limit=10)) == 4
    assert torch_frames(text, limit=0) == ()


def test_torch_frames_skips_generated_and_foreign_code():
    frames = (
        (_torch_file("_inductor/graph.py"), "compile_to_module"),
        ("/tmp/torchinductor_root/ab/cabc.py", "call"),
        ("<eval_with_key>.8", "forward"),
        ("/work/main/tests/backends/_backends.py", "broken_backend"),
    )
    assert torch_frames(_traceback(frames, "E: x")) == (
        "torch/_inductor/graph.py:compile_to_module",
    )


def test_torch_frames_reads_a_torch_install_from_another_machine():
    frames = (("/opt/py/lib/python3.12/site-packages/torch/_inductor/ir.py", "realize"),)
    assert torch_frames(_traceback(frames, "E: x")) == ("torch/_inductor/ir.py:realize",)


# --- real outcomes from cheap custom backends ------------------------------------------


def _check(seed, backend):
    return check(generate(seed, FLOAT32), seed, resolve_variants(["inductor"], SPEC + backend))


def test_compile_time_crash_has_the_same_signature_across_programs():
    first, second = _check(1, "broken_backend"), _check(4, "broken_backend")
    assert first.kind is OutcomeKind.CRASH and second.kind is OutcomeKind.CRASH
    a, b = failure_signature(first), failure_signature(second)
    assert a == b and a.id == b.id
    assert a.kind == "crash"
    assert a.parts[0] == "RuntimeError"
    assert a.parts[1] == "broken_backend refuses to compile"
    frames = torch_frames(first.failing[0].crash.traceback, limit=50)
    assert frames and a.parts[2:] == frames[-3:]
    for frame in frames:
        rel, _, func = frame.rpartition(":")
        assert rel.startswith("torch/") and func
        assert os.path.isfile(os.path.join(os.path.dirname(TORCH_DIR), rel))


def test_wrong_values_give_a_value_mismatch_signature_across_programs():
    first, second = _check(0, "off_by_backend"), _check(2, "off_by_backend")
    assert first.kind is OutcomeKind.MISMATCH and second.kind is OutcomeKind.MISMATCH
    a, b = failure_signature(first), failure_signature(second)
    assert a == b
    assert (a.kind, a.parts) == ("mismatch", ("value",))


# --- mismatches, killed, timeout, no failure -------------------------------------------


def test_mismatch_signature_ignores_output_index_and_later_mismatches():
    a = failure_signature(_mismatch_outcome((0, MismatchKind.VALUE)))
    b = failure_signature(_mismatch_outcome((3, MismatchKind.VALUE), (0, MismatchKind.NAN)))
    c = failure_signature(_mismatch_outcome((0, MismatchKind.NAN)))
    assert a == b and a.parts == ("value",)
    assert a != c and c.parts == ("nan",)


def test_signature_comes_from_the_first_failing_variant():
    crash = _crash_outcome("RuntimeError", "boom", INDUCTOR_FRAMES, variant="inductor_dynamic")
    mismatch = VariantResult(
        "inductor", OutcomeKind.MISMATCH, mismatches=(Mismatch(0, MismatchKind.SHAPE, "d"),)
    )
    outcome = Outcome.from_results([mismatch, *crash.results])
    assert failure_signature(outcome) == Signature("mismatch", ("shape",))


@pytest.mark.parametrize(
    "outcome",
    [
        Outcome.from_results([VariantResult("inductor", OutcomeKind.OK)]),
        Outcome(OutcomeKind.INVALID, reason="eager failed"),
        Outcome(OutcomeKind.SKIPPED, reason="eager is not bit-reproducible"),
    ],
)
def test_no_failure_has_no_signature(outcome):
    assert failure_signature(outcome) is None


def test_killed_and_timeout_signatures():
    assert killed_signature(6) == Signature("killed", ("SIGABRT",))
    assert killed_signature(-11).parts == ("SIGSEGV",)
    assert killed_signature(6) != killed_signature(11)
    timeout = timeout_signature()
    assert (timeout.kind, timeout.parts) == ("timeout", ())
    assert timeout.text() == f"{timeout.id} timeout"


def test_root_signature_names_the_culprit_not_how_it_was_wrong():
    value = Signature("mismatch", ("value",))
    dtype = Signature("mismatch", ("dtype",))
    assert root_signature(value, "mm -> float") == root_signature(dtype, "mm -> float")
    assert root_signature(value, "mm -> float").parts == ("mm -> float",)
    assert root_signature(value, "mm -> float") != root_signature(value, "add -> int")
    gradient = Signature("mismatch", ("value", "gradient"))
    assert root_signature(gradient, "mm -> float").parts == ("mm -> float", "gradient")
    assert root_signature(killed_signature(6), "cumsum").parts == ("SIGABRT", "cumsum")
    assert root_signature(timeout_signature(), "roll").parts == ("roll",)
    crash = Signature("crash", ("RuntimeError", "boom"))
    assert root_signature(crash, "mm -> float") == crash


def test_signature_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        Signature("hang")
    with pytest.raises(ValueError, match="kind"):
        Signature(OutcomeKind.OK)  # a case kind, but no failure


@pytest.mark.parametrize("kind", CASE_KINDS)
def test_case_kinds_are_stored_as_their_text(kind):
    assert case_kind(kind.value) is kind and case_kind(kind) is kind
    assert json.loads(json.dumps(kind)) == kind.value


def test_case_kind_text_is_unique_and_unknown_text_raises():
    assert len({kind.value for kind in CASE_KINDS}) == len(CASE_KINDS)
    with pytest.raises(ValueError, match="hang"):
        case_kind("hang")


@pytest.mark.parametrize("fate", list(ProcessFate))
def test_every_process_fate_gives_a_failing_signature(fate):
    signature = process_signature(fate, -6)
    assert signature.kind is fate and fate in FAILING_KINDS
    assert Signature.from_dict(json.loads(json.dumps(signature.to_dict()))) == signature
    assert f"{fate}" == fate.value  # formats as its stored text


# --- serialization and id --------------------------------------------------------------

SIGNATURES = [
    Signature("crash", ("RuntimeError", "boom <num>", "torch/x.py:f")),
    Signature("mismatch", ("value",)),
    Signature("killed", ("SIGABRT",)),
    Signature("timeout"),
]


@pytest.mark.parametrize("signature", SIGNATURES)
def test_dict_round_trip_through_json(signature):
    data = json.loads(json.dumps(signature.to_dict()))
    again = Signature.from_dict(data)
    assert again == signature and again.id == signature.id
    assert len(signature.id) == 12 and int(signature.id, 16) >= 0
    assert signature.id in signature.text() and "\n" not in signature.text()


@pytest.mark.slow
def test_id_is_stable_across_processes():
    code = (
        "import json, sys\n"
        "from torchfuzz.backends.signature import Signature\n"
        "print(json.dumps([Signature.from_dict(d).id for d in json.load(sys.stdin)]))\n"
    )
    payload = json.dumps([s.to_dict() for s in SIGNATURES])
    ids = []
    for hash_seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", code],
            input=payload,
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=60,
        )
        ids.append(json.loads(done.stdout))
    assert ids[0] == ids[1] == [s.id for s in SIGNATURES]


def test_root_op_is_the_op_a_root_cause_names():
    assert root_op(Signature("mismatch", ("mul -> float", "gradient"))) == "mul"
    assert root_op(Signature("killed", ("SIGSEGV", "flip"))) == "flip"
    assert root_op(Signature("timeout", ("roll",))) == "roll"
    assert root_op(Signature("killed", ("SIGSEGV", "cumsum + flip"))) is None
    assert root_op(Signature("mismatch", ("value",))) is None  # a cheap signature
    assert root_op(killed_signature(6)) is None
    assert root_op(timeout_signature()) is None
    assert root_op(Signature("crash", ("RuntimeError", "boom"))) is None

"""Shape inference with FakeTensors from several threads at once (a campaign's triage
threads verify candidates while its driver generates programs)."""

import threading

import pytest

from torchfuzz.generator.case import generate_case
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.infer import fake_mode
from torchfuzz.passes.validate import verify


def test_each_thread_has_its_own_fake_mode():
    modes = []
    thread = threading.Thread(target=lambda: modes.append(fake_mode()))
    thread.start()
    thread.join()
    assert modes[0] is not fake_mode() and fake_mode() is fake_mode()


@pytest.mark.slow
def test_generating_and_verifying_in_four_threads_at_once():
    # With one mode per process this failed within 200 seeds: "False, True" assertions
    # and "Mixing fake modes" errors from FakeTensor, as GeneratorBug or ValidationError.
    errors = []

    def work(first):
        try:
            for seed in range(first, 120, 4):
                verify(generate_case(seed, GeneratorOptions()).graph)
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

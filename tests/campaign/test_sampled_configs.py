"""Campaigns that sample configurations: each case runs the configurations its seed draws,
and the store, the finding's repro, minimization and replay all use the one that failed;
one bug under two configurations is one finding listing both."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests._cli import ENV, run_cli
from torchfuzz.backends.config_space import ConfigSpace, Dimension, default_space
from torchfuzz.backends.runner import resolve_variants
from torchfuzz.backends.signature import Signature
from torchfuzz.campaign.config import CampaignConfig, CaseVariants, finding_files
from torchfuzz.campaign.replay import ReplayVerdict, replay_findings
from torchfuzz.findings.layout import CampaignDir, FindingDir
from torchfuzz.findings.merge import MergeError, merge_stores
from torchfuzz.findings.store import FindingsStore
from torchfuzz.generator.case import generate_case
from torchfuzz.generator.options import GeneratorOptions

BACKEND = "tests._multibugs:value_bug_backend"  # integer adds give wrong values
WRAPPER = ConfigSpace((Dimension.declare("inductor.cpp_wrapper", [True]),), keep=0.0)


def _config(tmp_path, space=WRAPPER, names=("inductor", "aot_eager")):
    return CampaignConfig(
        out=tmp_path, variants=resolve_variants(names, None), seeds=range(1), space=space
    )


def test_case_variants_remember_each_sampled_configuration_by_name(tmp_path):
    table = CaseVariants(_config(tmp_path))
    sampled, aot_eager = table.of(7)
    assert sampled.name == "inductor[cpp_wrapper]" and aot_eager.name == "aot_eager"
    assert dict(sampled.inductor_config)["cpp_wrapper"] is True
    assert table[sampled.name] == sampled and set(table) == {"inductor", "aot_eager", sampled.name}
    # a known issue of the campaign's variant is one of its configurations too
    assert table.with_origins([sampled.name]) == (sampled.name, "inductor")
    assert CaseVariants(_config(tmp_path, space=None)).of(7) == resolve_variants(
        ("inductor", "aot_eager"), None
    )


def test_a_findings_files_run_the_configuration_that_failed(tmp_path):
    sampled, _ = CaseVariants(_config(tmp_path)).of(3)
    case = generate_case(3, GeneratorOptions(num_nodes=4))
    signature = Signature("crash", ("RuntimeError", "boom"))
    repro = finding_files(case, signature, sampled)[FindingDir.REPRO]
    assert "'name': 'inductor[cpp_wrapper]'" in repro and "['cpp_wrapper', True]" in repro


def test_stores_of_other_spaces_do_not_merge(tmp_path):
    for name, space in (("a", WRAPPER), ("b", default_space())):
        with FindingsStore.open(tmp_path / name) as store:
            store.set_meta("config_space", space.to_dict())
    with pytest.raises(MergeError, match="other config_space"):
        merge_stores(tmp_path / "all", [tmp_path / "a", tmp_path / "b"])


def _run(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, env=ENV, timeout=120
    )


@pytest.mark.slow
def test_one_bug_under_two_sampled_configurations_is_one_finding(tmp_path, capsys):
    # seeds 5 and 8 add integers (value_bug_backend's bug), 6 and 7 pass
    out = tmp_path / "out"
    argv = ["fuzz", "--seeds", "5:9", "--variants", "inductor", "--backend", BACKEND]
    argv += ["--sample-configs", "--workers", "2", "--out", str(out), "--timeout", "60"]
    code, stdout, _ = run_cli(capsys, *argv, "--run-timeout-floor", "5")
    assert code == 1, stdout
    (variant,) = resolve_variants(["inductor"], BACKEND)
    ran = {seed: default_space().sample(variant, seed) for seed in (5, 8)}
    assert ran[5].name != ran[8].name and ran[5].name.startswith("inductor[")
    with FindingsStore.open(out) as store:
        summary = store.summary()
        assert store.get_meta("config_space") == default_space().to_dict()
    (finding,) = summary.findings
    assert finding.count == 2 and finding.variants == (ran[5].name, ran[8].name)
    assert ran[5].name in stdout and ran[8].name in stdout  # the listing shows both
    with sqlite3.connect(CampaignDir(out).db) as db:
        rows = dict(db.execute("SELECT seed, variant FROM cases WHERE outcome = 'mismatch'"))
    assert rows == {5: ran[5].name, 8: ran[8].name}
    patches = [repr([key, value]) for key, value in ran[5].inductor_config]
    example = FindingDir(Path(finding.example_dir))
    for repro in (example.repro, Path(finding.repro_path)):  # as found, and minimized
        text = repro.read_text()
        assert all(patch in text for patch in patches), (patches, text[:2000])
        result = _run(repro)
        assert result.returncode == 1 and f"FAIL: {ran[5].name}" in result.stdout, result
    (replayed,) = replay_findings(out, timeout=60)
    assert replayed.verdict is ReplayVerdict.STILL_FAILS

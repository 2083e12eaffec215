"""Merging shard stores: union by seed, counts recomputed, idempotence, example and minimized
directories carried atomically, status rule, refusals (settings, lock, paths), the CLI."""

import contextlib
import json
import shutil
import sqlite3

import pytest

from torchfuzz.backends.signature import Signature, killed_signature
from torchfuzz.cli import main
from torchfuzz.findings.atomic import write_files_atomically
from torchfuzz.findings.layout import CampaignBusyError, CampaignDir
from torchfuzz.findings.merge import MergeError, merge_stores
from torchfuzz.findings.store import FindingsStore

BOOM = Signature("crash", ("RuntimeError", "boom <num>", "torch/x.py:f"))
BANG = Signature("crash", ("AssertionError", "bang", "torch/y.py:g"))
KILL = killed_signature(11)
OPTIONS = {"num_nodes": 10, "dtypes": ["float32"]}
VARIANTS = [{"name": "inductor"}, {"name": "inductor_dynamic"}]


def make_shard(directory, cases, minimized=(), options=OPTIONS, status=None):
    """A campaign store as the driver leaves it: ``cases`` maps seed -> signature or None;
    the first seed recorded with a signature gets the example directory (tagged with the
    shard and seed); ``minimized`` maps signature -> minimized node count."""
    with FindingsStore.open(directory) as store:
        store.set_meta("variants", VARIANTS)
        store.set_meta("options", options)
        for seed, signature in cases.items():
            outcome = "ok" if signature is None else signature.kind
            variants = () if signature is None else ("inductor",)
            record = store.record(seed, options, outcome, variants, signature, 0.5)
            if record.is_new:
                example = directory / "findings" / signature.id
                tag = json.dumps({"shard": directory.name, "seed": seed})
                write_files_atomically(example, {"case.json": tag, "repro.py": "", "graph.dot": ""})
                store.set_example_dir(signature.id, example)
        for signature, nodes in dict(minimized).items():
            target = directory / "findings" / signature.id / "minimized"
            write_files_atomically(target, {"repro.py": f"# {directory.name} {nodes}"})
            store.set_minimized(signature.id, 30, nodes, target / "repro.py")
        for signature, (value, link) in (status or {}).items():
            store.set_status(signature.id, value, link)
    return directory


def finding(directory, signature):
    with FindingsStore.open(directory) as store:
        return store.finding(signature.id)


def example_tag(row):
    with open(f"{row.example_dir}/case.json") as handle:
        return json.load(handle)


def assert_counts_match_cases(directory):
    conn = sqlite3.connect(directory / CampaignDir.DB)
    wrong = conn.execute(
        "SELECT id FROM signatures s WHERE s.count !="
        " (SELECT COUNT(*) FROM cases c WHERE c.signature_id = s.id)"
    ).fetchall()
    conn.close()
    assert wrong == []


@pytest.fixture
def shards(tmp_path):
    a = make_shard(tmp_path / "a", {0: None, 1: BOOM, 2: None, 3: BOOM, 4: BANG}, {BOOM: 4})
    b = make_shard(tmp_path / "b", {5: BOOM, 6: None, 7: KILL, 8: BOOM, 9: None})
    return a, b


def test_union_of_disjoint_shards(tmp_path, shards):
    dest = tmp_path / "all"
    report = merge_stores(dest, shards)
    assert [(s.cases_added, s.duplicates, s.new_signatures) for s in report.sources] == [
        (5, 0, 2),
        (5, 0, 1),
    ]
    with FindingsStore.open(dest) as store:
        assert store.done_seeds() == set(range(10))
        assert store.get_meta("options") == OPTIONS and store.get_meta("variants") == VARIANTS
    summary = report.summary
    assert summary.total_cases == 10 and summary.counts["crash"] == 5
    counts = {f.signature_id: (f.count, f.first_seed) for f in summary.findings}
    assert counts == {BOOM.id: (4, 1), BANG.id: (1, 4), KILL.id: (1, 7)}
    assert_counts_match_cases(dest)
    for row in summary.findings:  # every path points into dest
        assert row.example_dir == str((dest / "findings" / row.signature_id).resolve())
    assert example_tag(finding(dest, KILL)) == {"shard": "b", "seed": 7}


def test_merging_a_shard_again_changes_nothing(tmp_path, shards):
    dest = tmp_path / "all"
    first = merge_stores(dest, shards)
    files = sorted(p.relative_to(dest) for p in dest.rglob("*") if ".lock" not in p.name)
    again = merge_stores(dest, [shards[0]])
    assert [(s.cases_added, s.duplicates, s.new_signatures) for s in again.sources] == [(0, 5, 0)]
    assert again.summary == first.summary
    assert sorted(p.relative_to(dest) for p in dest.rglob("*") if ".lock" not in p.name) == files


def test_overlapping_seeds_are_kept_once_and_not_double_counted(tmp_path, caplog):
    a = make_shard(tmp_path / "a", {1: BOOM, 2: BOOM, 3: None})
    b = make_shard(tmp_path / "b", {2: BOOM, 3: BANG, 4: BOOM})  # 3 flaked into BANG here
    report = merge_stores(tmp_path / "all", [a, b])
    assert [(s.cases_added, s.duplicates) for s in report.sources] == [(3, 0), (1, 2)]
    assert "2 seeds already merged" in caplog.text
    assert {f.signature_id: f.count for f in report.summary.findings} == {BOOM.id: 3}
    assert_counts_match_cases(tmp_path / "all")


def test_example_from_the_smallest_first_seed_and_the_smallest_minimized(tmp_path):
    dest = make_shard(tmp_path / "dest", {50: BOOM, 51: BANG}, {BOOM: 3, BANG: 3})
    src = make_shard(tmp_path / "src", {7: BOOM, 60: BANG}, {BANG: 2})
    merge_stores(dest, [src])
    boom, bang = finding(dest, BOOM), finding(dest, BANG)
    # BOOM: the source's example (seed 7 < 50), dest's minimized result kept beside it
    assert (boom.first_seed, boom.count, example_tag(boom)) == (7, 2, {"shard": "src", "seed": 7})
    assert (boom.original_nodes, boom.minimized_nodes) == (30, 3)
    assert boom.repro_path == str(dest.resolve() / "findings" / BOOM.id / "minimized" / "repro.py")
    with open(boom.repro_path) as handle:
        assert handle.read() == "# dest 3"
    # BANG: dest's example (seed 51 < 60), the source's smaller minimized result
    assert (bang.first_seed, example_tag(bang)) == (51, {"shard": "dest", "seed": 51})
    assert bang.minimized_nodes == 2
    with open(bang.repro_path) as handle:
        assert handle.read() == "# src 2"
    leftovers = [p.name for p in (dest / "findings").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_shard_without_an_example_directory_keeps_the_other(tmp_path):
    a = make_shard(tmp_path / "a", {3: BOOM})
    b = make_shard(tmp_path / "b", {1: BOOM})
    shutil.rmtree(b / "findings" / BOOM.id)  # b was killed before writing it
    row = merge_stores(tmp_path / "all", [a, b]).summary.findings[0]
    assert (row.first_seed, example_tag(row)) == (1, {"shard": "a", "seed": 3})


@pytest.mark.parametrize(
    "statuses, expected",
    [
        (("new", "fixed"), ("new", None)),
        (("fixed", "new"), ("new", None)),
        (("fixed", "fixed"), ("fixed", None)),
        (("known", "new"), ("known", "https://a")),
        (("fixed", "known"), ("known", "https://b")),
    ],
)
def test_status_known_beats_new_beats_fixed(tmp_path, statuses, expected):
    shards = []
    for name, status in zip("ab", statuses):
        link = f"https://{name}" if status == "known" else None
        shard = tmp_path / name
        seed = 1 if name == "a" else 2
        shards.append(make_shard(shard, {seed: BOOM}, status={BOOM: (status, link)}))
    row = merge_stores(tmp_path / "all", shards).summary.findings[0]
    assert (row.status, row.known_link) == expected


def test_mismatching_settings_are_refused_before_writing(tmp_path):
    a = make_shard(tmp_path / "a", {1: BOOM})
    b = make_shard(tmp_path / "b", {2: BOOM}, options={**OPTIONS, "num_nodes": 20})
    with pytest.raises(MergeError, match=r"other options .*num_nodes 20 vs 10"):
        merge_stores(tmp_path / "all", [a, b])
    assert not (tmp_path / "all").exists()
    merge_stores(tmp_path / "all", [a])
    with pytest.raises(MergeError, match="other options"):  # dest's settings count too
        merge_stores(tmp_path / "all", [b])
    assert finding(tmp_path / "all", BOOM).count == 1


def test_refusals_missing_store_destination_as_source_and_running_campaign(tmp_path, shards):
    with pytest.raises(MergeError, match="no findings.db"):
        merge_stores(tmp_path / "all", [shards[0], tmp_path / "nope"])
    with pytest.raises(MergeError, match="is the destination"):
        merge_stores(shards[0], [shards[1], tmp_path / "a" / ".." / "a"])
    with pytest.raises(MergeError, match="at least one source"):
        merge_stores(tmp_path / "all", [])
    with CampaignDir(tmp_path / "all").exclusive(), pytest.raises(CampaignBusyError):
        merge_stores(tmp_path / "all", shards)
    assert not (tmp_path / "all" / CampaignDir.DB).exists()


def test_a_merge_failing_midway_keeps_whole_sources(tmp_path, shards, monkeypatch):
    calls = []
    real = FindingsStore.import_rows

    def import_rows(self, *args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed while merging the second source
        return real(self, *args)

    monkeypatch.setattr(FindingsStore, "import_rows", import_rows)
    with pytest.raises(KeyboardInterrupt):
        merge_stores(tmp_path / "all", shards)
    monkeypatch.undo()
    with FindingsStore.open(tmp_path / "all") as store:
        assert store.done_seeds() == {0, 1, 2, 3, 4}
        assert store.finding(KILL.id) is None
    report = merge_stores(tmp_path / "all", shards)  # running it again finishes the job
    assert [s.cases_added for s in report.sources] == [0, 5]
    assert report.summary.total_cases == 10
    assert_counts_match_cases(tmp_path / "all")


def test_cli_merge_prints_a_line_per_source_and_the_summary(capsys, tmp_path, shards):
    dest = tmp_path / "all"
    assert main(["merge", str(dest), *map(str, shards)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{shards[0]}: 5 cases added, 0 duplicates, 2 new signatures"
    assert out[1] == f"{shards[1]}: 5 cases added, 0 duplicates, 1 new signatures"
    assert out[2].startswith("cases: 10 in 5.0 s")
    assert any(BOOM.id in line and " 4 " in line for line in out)
    assert main(["report", str(dest), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_cases"] == 10


@pytest.mark.parametrize("problem", ["missing", "mismatch", "dest-is-source", "busy", "no-src"])
def test_cli_merge_bad_input_is_one_line_and_exit_2(capsys, tmp_path, shards, problem):
    dest, sources = tmp_path / "all", [str(s) for s in shards]
    if problem == "missing":
        sources.append(str(tmp_path / "nope"))
    elif problem == "mismatch":
        other = make_shard(tmp_path / "c", {20: BOOM}, options={**OPTIONS, "max_rank": 2})
        sources.append(str(other))
    elif problem == "dest-is-source":
        dest = shards[1]
    elif problem == "no-src":
        sources = []
    with (
        CampaignDir(tmp_path / "all").exclusive() if problem == "busy" else contextlib.nullcontext()
    ):
        code = main(["merge", str(dest), *sources])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err

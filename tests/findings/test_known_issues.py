"""Known issues: TOML/JSON loading, matching, one-line errors, the shipped default file."""

import json

import pytest

from torchfuzz.backends.signature import Signature, normalize_message
from torchfuzz.findings.known_issues import (
    KnownIssuesError,
    default_known_issues_path,
    load_known_issues,
    parse_known_issues,
)

BOOM = Signature("crash", ("RuntimeError", "boom <num>", "torch/x.py:f"))

TOML = """
[[issue]]
pattern = 'RuntimeError \\| boom'
link = "https://example.org/boom"
note = "the boom bug"

[[issue]]
pattern = "bang"
link = "https://example.org/bang"
variant = "inductor_dynamic"
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_toml_loads_and_matches(tmp_path):
    issues = load_known_issues(_write(tmp_path, "known.toml", TOML))
    assert len(issues) == 2
    issue = issues.match(BOOM)
    assert issue is not None
    assert (issue.link, issue.note, issue.variant) == (
        "https://example.org/boom",
        "the boom bug",
        None,
    )


def test_json_list_and_table_forms_load(tmp_path):
    entries = [{"pattern": "boom", "link": "https://example.org/j"}]
    for data in (entries, {"issue": entries}):
        issues = load_known_issues(_write(tmp_path, "known.json", json.dumps(data)))
        assert issues.match(BOOM).link == "https://example.org/j"


def test_no_match(tmp_path):
    issues = load_known_issues(_write(tmp_path, "known.toml", TOML))
    other = Signature("crash", ("ValueError", "something else"))
    assert issues.match(other) is None
    assert issues.match(Signature("mismatch", ("value",))) is None


def test_variant_filter():
    issues = parse_known_issues([{"pattern": "bang", "link": "L", "variant": "inductor_dynamic"}])
    assert issues.match(Signature("crash", ("E", "bang")), ("inductor_dynamic",)).link == "L"
    assert issues.match(Signature("crash", ("E", "bang")), ("inductor",)) is None
    both = ("inductor", "inductor_dynamic")
    assert issues.match(Signature("crash", ("E", "bang")), both).link == "L"


def test_first_match_wins():
    issues = parse_known_issues(
        [{"pattern": "boom", "link": "first"}, {"pattern": "RuntimeError", "link": "second"}]
    )
    assert issues.match(BOOM).link == "first"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"pattern": "ToFloat(", "link": "L"}, r"entry 2: bad regular expression 'ToFloat\('"),
        ({"link": "L"}, "entry 2: missing field 'pattern'"),
        ({"pattern": "x"}, "entry 2: missing field 'link'"),
        ({"pattern": "x", "link": "L", "varient": "v"}, "entry 2: unknown field 'varient'"),
        ({"pattern": "", "link": "L"}, "entry 2: 'pattern' must be a non-empty string"),
        ({"pattern": "x", "link": 3}, "entry 2: 'link' must be a non-empty string"),
        ("just text", "entry 2: expected a table"),
    ],
)
def test_malformed_entry_names_the_entry(tmp_path, entry, message):
    data = [{"pattern": "fine", "link": "L"}, entry]
    path = _write(tmp_path, "known.json", json.dumps(data))
    with pytest.raises(KnownIssuesError, match=message) as info:
        load_known_issues(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_bad_regex_in_toml(tmp_path):
    path = _write(tmp_path, "known.toml", "[[issue]]\npattern = 'a(b'\nlink = 'L'\n")
    with pytest.raises(KnownIssuesError, match="entry 1: bad regular expression"):
        load_known_issues(path)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("known.toml", "[[issue]\n", "not valid TOML"),
        ("known.json", "[{", "not valid JSON"),
        ("known.yaml", "", "must be a .toml or .json file"),
        ("known.json", '{"issues": []}', "unknown top-level key issues"),
        ("known.json", '"text"', "expected a list of issues"),
    ],
)
def test_malformed_file(tmp_path, name, text, message):
    with pytest.raises(KnownIssuesError, match=message):
        load_known_issues(_write(tmp_path, name, text))


def test_missing_file(tmp_path):
    with pytest.raises(KnownIssuesError, match="cannot read"):
        load_known_issues(tmp_path / "absent.toml")


def test_default_file_matches_the_tofloat_crash():
    issues = load_known_issues(default_known_issues_path())
    assert len(issues) >= 1
    # As the runner reports it on torch 2.13.0: AssertionError wrapped in an InductorError.
    message = normalize_message("AssertionError: ToFloat(False)")
    frames = ("torch/utils/_sympy/value_ranges.py:increasing_map",)
    wrapped = Signature(
        "crash",
        ("torch._inductor.exc.InductorError", message, *frames),
    )
    bare = Signature("crash", ("AssertionError", normalize_message("ToFloat(False)")))
    capture = ("inductor_dynamic_capture",)
    for signature in (wrapped, bare):
        issue = issues.match(signature, capture)
        assert issue is not None and "ToFloat" in issue.link
    assert issues.match(Signature("crash", wrapped.parts), ("inductor",)) is None
    assert issues.match(BOOM, capture) is None
    other = Signature("crash", ("AssertionError", "ToInt(False)"))
    assert issues.match(other, capture) is None

"""Claims files: both table layouts, defaults, and an error naming the file and key for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.verify.claims import ClaimsError, load_claims, parse_claims

FULL = """
model = "org/model-70b"
notes = "launch post"

[gsm8k]
value = 99.2
metric = "exact_match"
filter = "flexible-extract"
n_shot = 8
chain_of_thought = true
chat_template = true
source = "https://example.org/post"

[mmlu]
value = 89.9
"""


def write(tmp_path: Path, text: str, name: str = "claims.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_full_file(tmp_path):
    cf = load_claims(write(tmp_path, FULL))
    assert cf.model == "org/model-70b" and cf.notes == "launch post"
    g = cf.get("gsm8k")
    assert g.value == 99.2 and g.source == "https://example.org/post"
    assert g.setting.metric_key == "exact_match,flexible-extract"
    assert (g.setting.n_shot, g.setting.chain_of_thought, g.setting.chat_template) == (8, True, True)
    m = cf.get("mmlu")
    assert m.setting.metric_key == "acc,none" and m.setting.n_shot is None and m.source is None
    assert cf.get("hellaswag") is None
    # flat record, like the TOML table (what reports read)
    d = g.to_dict()
    assert d["metric"] == "exact_match" and d["filter"] == "flexible-extract" and d["value"] == 99.2
    assert cf.to_dict()["path"] == str(tmp_path / "claims.toml")


def test_nested_layout_and_audit_dicts_are_the_same():
    nested = parse_claims({"benchmarks": {"arc_easy": {"value": 70}}})
    flat = parse_claims({"arc_easy": {"value": 70}})
    assert nested.claims == flat.claims
    assert flat.get("arc_easy").setting.metric == "acc_norm"  # the default for ARC
    assert load_claims({"arc_easy": {"value": 70}}).path is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[gsm8k\nvalue = 1", "not valid TOML"),
        ("[humaneval]\nvalue = 90", "unknown key(s) ['humaneval']: not a benchmark"),
        ("", "no claims"),
        ("[gsm8k]\nmetric = 'exact_match'", "gsm8k.value must be a number"),
        ("[gsm8k]\nvalue = '99'", "gsm8k.value must be a number"),
        ("[gsm8k]\nvalue = 0.992", None),  # a fraction is a legal (tiny) percentage
        ("[gsm8k]\nvalue = 992", "between 0 and 100"),
        ("[mmlu]\nvalue = 80\nmetric = 'acc_norm'", "mmlu.metric = 'acc_norm'; for mmlu use one of ['acc']"),
        ("[gsm8k]\nvalue = 50\nmetric = 'acc'", "for gsm8k use one of ['exact_match']"),
        ("[gsm8k]\nvalue = 50\nfilter = 'loose'", "gsm8k.filter = 'loose'"),
        ("[arc_easy]\nvalue = 50\nfilter = 'strict-match'", "filter applies to GSM8K only"),
        ("[gsm8k]\nvalue = 50\nn_shot = -1", "n_shot must be a non-negative integer"),
        ("[gsm8k]\nvalue = 50\nn_shot = 2.5", "n_shot must be a non-negative integer"),
        ("[gsm8k]\nvalue = 50\nchat_template = 'yes'", "chat_template must be true or false"),
        ("[mmlu]\nvalue = 50\nchain_of_thought = true", "only GSM8K has a chain-of-thought task"),
        ("[gsm8k]\nvalue = 50\nsource = ''", "source must be a non-empty string"),
        ("[gsm8k]\nvalue = 50\nshots = 5", "[gsm8k]: unknown key(s) ['shots']"),
        ("gsm8k = 5", "[gsm8k] must be a table"),
        ("model = 3\n[gsm8k]\nvalue = 1", "'model' must be a string"),
        ("[gsm8k]\nvalue = 1\n[benchmarks.gsm8k]\nvalue = 2", "both given"),
    ],
)
def test_bad_claims_name_the_file_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    if message is None:
        load_claims(path)
        return
    with pytest.raises(ClaimsError) as err:
        load_claims(path)
    assert str(err.value).startswith(str(path))
    assert message in str(err.value)


def test_toml_syntax_error_names_the_line(tmp_path):
    with pytest.raises(ClaimsError, match=r"line 3"):
        load_claims(write(tmp_path, "[gsm8k]\nvalue = 1\nsource = \n"))


def test_unreadable_files(tmp_path):
    with pytest.raises(ClaimsError, match="file not found"):
        load_claims(tmp_path / "missing.toml")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes("[gsm8k]\nvalue = 1\nnotes = 'caf\xe9'\n".encode("latin-1"))
    with pytest.raises(ClaimsError, match="not UTF-8"):
        load_claims(bad)
    with pytest.raises(ClaimsError, match="cannot read"):
        load_claims(tmp_path)

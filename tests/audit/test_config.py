"""Audit file parsing: valid files resolve, and every mistake is named by file and key before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.audit.config import AuditConfigError, load_audit, parse_audit

REPO = Path(__file__).resolve().parents[2]


def _err(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AuditConfigError) as info:
        load_audit(path)
    msg = str(info.value)
    assert str(path.resolve()) in msg or str(path) in msg, msg
    return msg


def test_full_audit_resolves_paths_targets_and_claims(audit_dir: Path) -> None:
    cfg = load_audit(audit_dir / "full.toml")
    assert cfg.name == "unit"
    assert cfg.scan_paths == ((audit_dir / "corpus.jsonl").resolve(),)
    assert cfg.verify_targets == ("weights", "endpoint")
    assert cfg.claims == {"gsm8k": {"value": 99.2, "metric": "exact_match", "source": "demo"}}
    assert cfg.file.verify is not None and cfg.file.verify.endpoint.limit == 10
    assert len(cfg.file_sha256) == 64


def test_empty_audit_is_valid_and_named_after_the_file(tmp_path: Path) -> None:
    cfg = parse_audit("", tmp_path / "nothing.toml")
    assert cfg.name == "nothing"
    assert cfg.verify_targets == ()


def test_committed_audits_are_valid() -> None:
    for name in ("demo.toml", "reflection-70b.toml"):
        cfg = load_audit(REPO / "audits" / name)
        assert cfg.claims, name


def test_toml_syntax_error_names_line(tmp_path: Path) -> None:
    msg = _err(tmp_path, "[audit]\nname = \n")
    assert "invalid TOML" in msg and "line 2" in msg


def test_unknown_key_is_named_with_its_table(tmp_path: Path) -> None:
    msg = _err(tmp_path, '[scan]\npaths = ["x"]\nngrams = 13\n')
    assert "[scan] ngrams: unknown key" in msg


def test_unknown_table_is_named(tmp_path: Path) -> None:
    assert "[fingerprnt]: unknown key" in _err(tmp_path, "[fingerprnt]\nreference = 'x'\n")


def test_wrong_type_names_key(tmp_path: Path) -> None:
    msg = _err(tmp_path, '[model]\npath = "m"\n[verify]\nlimit = "ten"\n')
    assert "[verify] limit:" in msg


def test_unknown_benchmark_names_key_and_lists_known(tmp_path: Path) -> None:
    msg = _err(tmp_path, '[model]\npath = "m"\n[verify]\nbenchmarks = ["gsm8k", "mmlu_pro"]\n')
    assert "[verify] benchmarks:" in msg and "mmlu_pro" in msg and "arc_easy" in msg


def test_bad_backend(tmp_path: Path) -> None:
    assert "[model] backend:" in _err(tmp_path, '[model]\npath = "m"\nbackend = "tgi"\n')


def test_endpoint_needs_exactly_one_of_url_or_serve(tmp_path: Path) -> None:
    both = _err(tmp_path, '[endpoint]\nurl = "http://x/v1"\nserve = "smollm2"\nmodel = "m"\n')
    assert "[endpoint]" in both and "exactly one" in both
    assert "exactly one" in _err(tmp_path, '[endpoint]\nmodel = "m"\n')
    assert "`model`" in _err(tmp_path, '[endpoint]\nurl = "http://x/v1"\n')
    assert "http://" in _err(tmp_path, '[endpoint]\nurl = "x.example/v1"\nmodel = "m"\n')


def test_fingerprint_without_endpoint(tmp_path: Path) -> None:
    assert "[fingerprint]: needs an [endpoint]" in _err(tmp_path, '[fingerprint]\nreference = "smollm2"\n')


def test_verify_target_without_its_table(tmp_path: Path) -> None:
    msg = _err(tmp_path, '[model]\npath = "m"\n[verify]\ntargets = ["endpoint"]\n')
    assert "[verify] targets: 'endpoint' needs an [endpoint]" in msg
    assert "nothing to score" in _err(tmp_path, "[verify]\nlimit = 5\n")


def test_missing_scan_path_is_named_by_index(tmp_path: Path) -> None:
    (tmp_path / "here.jsonl").write_text("{}\n")
    msg = _err(tmp_path, '[scan]\npaths = ["here.jsonl", "gone.jsonl"]\n')
    assert "[scan] paths[1]:" in msg and "gone.jsonl" in msg and "not found" in msg


def test_scan_globs_are_left_to_the_scan(tmp_path: Path) -> None:
    cfg = parse_audit('[scan]\npaths = ["shards/*.jsonl"]\n', tmp_path / "a.toml")
    assert cfg.scan_paths == ((tmp_path / "shards/*.jsonl").resolve(),)


def test_claims_file_is_read_relative_to_the_audit_and_checksummed(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "claims.toml").write_text('[gsm8k]\nvalue = 50.0\nmetric = "exact_match"\n')
    cfg = parse_audit('[model]\npath = "m"\n[claims]\nfile = "c/claims.toml"\n', tmp_path / "a.toml")
    assert cfg.claims == {"gsm8k": {"value": 50.0, "metric": "exact_match"}}
    assert cfg.claims_file == (tmp_path / "c" / "claims.toml").resolve()
    assert cfg.claims_sha256 and len(cfg.claims_sha256) == 64
    assert cfg.verify_targets == ("weights",)


def test_claims_file_errors(tmp_path: Path) -> None:
    assert "[claims] file:" in _err(tmp_path, '[model]\npath = "m"\n[claims]\nfile = "nope.toml"\n')
    (tmp_path / "broken.toml").write_text("[gsm8k\n")
    msg = _err(tmp_path, '[model]\npath = "m"\n[claims]\nfile = "broken.toml"\n')
    assert "broken.toml" in msg and "invalid TOML" in msg
    both = _err(tmp_path, '[model]\npath = "m"\n[claims]\nfile = "broken.toml"\n[claims.gsm8k]\nvalue = 1\n')
    assert "not both" in both


def test_inline_claim_for_unknown_benchmark(tmp_path: Path) -> None:
    msg = _err(tmp_path, '[model]\npath = "m"\n[claims.humaneval]\nvalue = 91.0\n')
    assert "[claims] humaneval: not a benchmark" in msg


def test_missing_audit_file(tmp_path: Path) -> None:
    with pytest.raises(AuditConfigError, match="audit file not found"):
        load_audit(tmp_path / "absent.toml")


def test_bad_audit_name(tmp_path: Path) -> None:
    assert "[audit] name:" in _err(tmp_path, '[audit]\nname = "../escape"\n')


def test_limit_and_sample_exclude_each_other(tmp_path: Path) -> None:
    p = tmp_path / "a.toml"
    p.write_text('[model]\npath = "m"\n[verify]\nlimit = 5\nsample = 10\n')
    with pytest.raises(AuditConfigError, match=r"\[verify\].*not both"):
        load_audit(p)
    p.write_text('[model]\npath = "m"\n[verify.weights]\nlimit = 5\nsample = 10\n')
    with pytest.raises(AuditConfigError, match=r"\[verify\] weights.*not both"):
        load_audit(p)


def test_a_target_override_of_the_cut_replaces_the_shared_one(tmp_path: Path) -> None:
    from harness.audit.plan import plan_sections

    p = tmp_path / "a.toml"
    p.write_text(
        '[model]\npath = "m"\n[endpoint]\nurl = "http://127.0.0.1:1/v1"\nmodel = "x"\n'
        "[verify]\nsample = 40\n[verify.endpoint]\nlimit = 3\n"
    )
    weights, endpoint = plan_sections(load_audit(p))
    assert weights.kwargs["sample"] == 40 and weights.kwargs["limit"] is None
    assert endpoint.kwargs["limit"] == 3 and "sample" not in endpoint.kwargs


def test_sample_per_benchmark(tmp_path: Path) -> None:
    from harness.audit.plan import plan_sections

    p = tmp_path / "a.toml"
    p.write_text(
        '[model]\npath = "m"\n[endpoint]\nurl = "http://127.0.0.1:1/v1"\nmodel = "x"\n'
        '[verify]\nsample = { default = 40, gsm8k = 8 }\n[verify.endpoint]\nbenchmarks = ["arc_easy"]\n'
    )
    weights, endpoint = plan_sections(load_audit(p))
    assert weights.kwargs["sample"] == {"default": 40, "gsm8k": 8}
    assert endpoint.kwargs["sample"] == {"default": 40}  # gsm8k is not scored on the endpoint
    p.write_text('[model]\npath = "m"\n[verify]\nsample = { gsm8kk = 8 }\n')
    with pytest.raises(AuditConfigError, match=r"\[verify\] sample.*gsm8kk"):
        load_audit(p)
    p.write_text('[model]\npath = "m"\n[verify]\nsample = { default = 0 }\n')
    with pytest.raises(AuditConfigError, match="positive"):
        load_audit(p)

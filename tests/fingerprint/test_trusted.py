"""A trusted endpoint as the reference: fresh draws scored by a server with the public weights, the
calibration from a signature; a server with other weights is refused as a reference."""

from __future__ import annotations

import pytest

from harness.fingerprint import pool, run_fingerprint
from harness.fingerprint.reference import ReferenceError, load_reference
from harness.fingerprint.trusted import TOP_K, UNKNOWN_RANK, _margin, _rank, open_trusted_reference


def test_margin_is_zero_when_the_report_cannot_show_the_runner_up():
    full = {f"t{i}": -float(i) for i in range(TOP_K)}
    assert _margin(full) == pytest.approx(1.0)
    collapsed = {"a": -0.1, "b": -3.0}  # fewer entries than asked for: a text named two tokens
    assert _margin(collapsed) == 0.0
    assert _margin(None) == 0.0 and _margin({"a": -0.1}) == 0.0


def test_rank_from_top_values_and_unknown_when_not_shown():
    top = {f"t{i}": -float(i) for i in range(TOP_K)}
    assert _rank(0.0, top) == 0
    assert _rank(-2.0, top) == 2
    assert _rank(-9.0, {**top, "x": -9.0}) == UNKNOWN_RANK  # below every top entry: rank >= k
    assert _rank(-1.0, {"a": -0.1, "b": -1.0}) == UNKNOWN_RANK  # collapsed report
    assert _rank(-0.1, {"a": -0.1}) == 0  # the most likely token is certain even when collapsed
    assert _rank(-0.1, None) == UNKNOWN_RANK


def _same_or_unknown(got, want):
    """Margins agree, except where top-k texts collapsed: there the margin is 0 (never counted)."""
    assert len(got) == len(want)
    known = [(g, w) for g, w in zip(got, want, strict=True) if g != 0.0]
    assert len(known) >= len(got) // 2
    assert [g for g, _ in known] == pytest.approx([w for _, w in known], abs=1e-3)


def test_the_reference_must_be_a_signature(tiny_dir):
    with pytest.raises(ReferenceError, match="must be a signature"):
        open_trusted_reference(tiny_dir, "http://127.0.0.1:9/v1", "smollm2")


@pytest.mark.slow
def test_trusted_endpoint_gives_the_local_reference_results_on_fresh_draws(
    tiny_signature, tiny_dir, tiny_server
):
    trusted = open_trusted_reference(tiny_signature, tiny_server.base_url, "smollm2")
    local = load_reference(tiny_dir)
    assert trusted.check_result["rms_nats"] <= 1e-3 < trusted.check_result["limit_nats"]
    signed = set(load_reference(tiny_signature).payload["texts"].values())
    item = trusted.draw("natural", 99, 1)[0]
    assert item.text not in signed  # a fresh draw, which a signature could not score
    ids = trusted.encode(item.text)
    assert trusted.token_logprobs(ids) == pytest.approx(local.token_logprobs(ids), abs=1e-3)
    ranks, local_ranks = trusted.token_ranks(ids), local.token_ranks(ids)
    assert all(r == lr for r, lr in zip(ranks, local_ranks, strict=True) if lr < 3)
    for it in trusted.draw("prompt", 99, 3):
        p = trusted.prompt_ids(it.text, False)
        got, want = trusted.greedy(p, 16), local.greedy(p, 16)
        assert got.ids == want.ids and got.stopped == want.stopped
        assert got.token_texts == want.token_texts
        _same_or_unknown(got.margins, want.margins)
        assert got.logprobs == pytest.approx(want.logprobs, abs=1e-3)


@pytest.mark.slow
def test_without_token_ids_a_path_is_cut_before_a_token_it_cannot_name(tiny_signature, tiny_dir, tiny_server):
    """A server that returns only token texts: the random tiny model writes lone UTF-8 bytes, whose text
    names no single id; the path ends before them (shorter, never wrong)."""
    trusted = open_trusted_reference(tiny_signature, tiny_server.base_url, "smollm2")
    local = load_reference(tiny_dir)
    post = trusted._post
    trusted._post = lambda body: (*post(body)[:2], None)
    cut = 0
    for it in trusted.draw("prompt", 99, 6):
        p = trusted.prompt_ids(it.text, False)
        got, want = trusted.greedy(p, 16), local.greedy(p, 16)
        assert want.ids[: len(got.ids)] == got.ids
        _same_or_unknown(got.margins[: len(got.ids)], want.margins[: len(got.ids)])
        if len(got.ids) < len(want.ids):
            cut += 1
            assert not got.stopped and len(got.margins) == len(got.ids)
    assert cut >= 1
    assert trusted._ids([" (", "\ufffd", " 13"]) == [trusted.string_to_id[" ("]]


@pytest.mark.slow
def test_fingerprint_with_a_trusted_endpoint_matches_the_same_weights_and_rejects_others(
    tmp_path, tiny_signature, tiny_server, tiny_other_server
):
    ref = open_trusted_reference(tiny_signature, tiny_server.base_url, "smollm2")
    rec = run_fingerprint(
        out_dir=tmp_path / "same", endpoint=tiny_server.base_url, model="smollm2", reference=ref,
        budget=120, progress=False, seed=11,
    )  # fmt: skip
    assert rec["verdict"] == "match", rec["headline"]
    assert rec["reference"]["kind"] == "endpoint" and rec["reference"]["requests"] > 0
    assert rec["reference"]["check"]["tokens"] > 0
    signed = set(load_reference(tiny_signature).payload["texts"].values())
    assert not {it.text for it in pool.draw("prompt", 11, 8)} & signed  # the run drew outside the signature
    other = run_fingerprint(
        out_dir=tmp_path / "other", endpoint=tiny_other_server.base_url, model="smollm2", reference=ref,
        budget=120, progress=False, seed=11,
    )  # fmt: skip
    assert other["verdict"] == "mismatch", other["headline"]
    assert other["weights_relation"] == "different weights"


@pytest.mark.slow
def test_a_trusted_endpoint_with_other_weights_is_refused(tiny_signature, tiny_other_server):
    with pytest.raises(ReferenceError, match="does not reproduce the signature"):
        open_trusted_reference(tiny_signature, tiny_other_server.base_url, "smollm2")


def _cli(*args):
    from typer.testing import CliRunner

    from harness.cli import app

    return CliRunner().invoke(app, ["fingerprint", "--model", "smollm2", "--no-progress", *args])


def test_cli_refuses_a_trusted_endpoint_without_a_signature(tmp_path, tiny_dir):
    res = _cli("--endpoint", "http://127.0.0.1:9/v1", "--reference", str(tiny_dir),
               "--reference-endpoint", "http://127.0.0.1:9/v1", "--out", str(tmp_path))  # fmt: skip
    assert res.exit_code == 2 and "must be a signature" in res.output
    res = _cli("--endpoint", "http://127.0.0.1:9/v1", "--reference", str(tiny_dir),
               "--reference-model", "x", "--out", str(tmp_path))  # fmt: skip
    assert res.exit_code == 2 and "need --reference-endpoint" in res.output


@pytest.mark.slow
def test_cli_with_a_trusted_endpoint(tmp_path, tiny_signature, tiny_server):
    import json

    res = _cli("--endpoint", tiny_server.base_url, "--reference", str(tiny_signature),
               "--reference-endpoint", tiny_server.base_url, "--budget", "120", "--seed", "4",
               "--out", str(tmp_path))  # fmt: skip
    rec = json.loads((tmp_path / "fingerprint.json").read_text())
    assert res.exit_code == 0 and rec["verdict"] == "match", res.output
    assert rec["reference"]["kind"] == "endpoint" and rec["reference"]["endpoint"] == tiny_server.base_url

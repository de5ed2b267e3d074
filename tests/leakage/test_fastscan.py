"""The compiled core (`_fastscan.c`) against its numpy reference (`hashing.probe_windows(core="pure")`):
the same words, the same first word per text, the same candidate windows with the same hashes, on arbitrary
text and tables; and the same leakage.json from a whole scan."""

from __future__ import annotations

import functools
import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.leakage import hashing
from harness.leakage.hashing import probe_windows
from harness.leakage.index import key_lookup
from harness.leakage.normalize import fold_bytes
from tests.leakage.corpora import FILLER, comparable, page, real_sets

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def compiled_core():
    """The extension as `pip install -e .` builds it; built in place here if this checkout lacks it."""
    if hashing._fastscan is None:
        cmd = [sys.executable, "-c", "from setuptools import setup; setup()", "build_ext", "--inplace"]
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        importlib.reload(hashing)
    assert hashing._fastscan is not None, "the compiled core could not be built"
    return hashing._fastscan


def batch(texts: list[str]) -> tuple[bytes, np.ndarray]:
    enc = [fold_bytes(t) for t in texts]
    starts = np.zeros(len(enc) + 1, dtype=np.int64)
    if enc:
        np.cumsum([len(e) + 1 for e in enc], out=starts[1:])
    return b" ".join(enc), starts


def tables_for(texts: list[str], lengths: list[int], seed: int) -> list:
    """Keys holding some of the batch's own windows (so hits exist) and random keys, with their lookups."""
    data, _starts = batch(texts)
    buf = hashing.padded(data.translate(hashing._FOLD))
    s, e = hashing.word_spans(buf)
    codes = hashing.word_codes(buf, s, e)
    rng = np.random.default_rng(seed)
    out = []
    for k in lengths:
        h = hashing.ngram_hashes(codes, k) if codes.size >= k else np.empty(0, np.uint64)
        chosen = h[rng.random(h.size) < 0.3] if h.size else h
        noise = rng.integers(0, 2**63, 50, dtype=np.int64).astype(np.uint64)
        keys = np.sort(np.concatenate((chosen, noise)))
        out.append((k, keys, key_lookup(keys)))
    return out


def same(a, b) -> None:
    assert a[0] == b[0]
    assert np.array_equal(a[1], b[1])
    assert len(a[2]) == len(b[2])
    for (pa, ha), (pb, hb) in zip(a[2], b[2], strict=True):
        assert np.array_equal(pa, pb) and np.array_equal(ha, hb)


_WORDS = st.sampled_from(
    ["the", "cat", "Sat", "ON", "a", "mat", "2+2", "it's", "naïve", "ÉCOLE", "straße", "x" * 17, "y" * 9,
     "1,000", "—", "\u201cquoted\u201d", "ﬁne", "東京", "\t", "\n\n", "", "a_b", "\x00", "€5"]
)  # fmt: skip
_TEXT = st.lists(_WORDS, max_size=60).map(" ".join) | st.text(max_size=80)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(_TEXT, max_size=12), lengths=st.sets(st.integers(1, 9), min_size=1, max_size=3),
       seed=st.integers(0, 1000))  # fmt: skip
def test_compiled_core_equals_the_reference(texts, lengths, seed) -> None:
    data, starts = batch(texts)
    probes = tables_for(texts, sorted(lengths), seed)
    same(
        probe_windows(data, starts, probes, core="pure"), probe_windows(data, starts, probes, core="compiled")
    )


def test_compiled_core_on_real_items_and_long_words() -> None:
    sets = real_sets()
    texts = [FILLER * 3]
    for name in ("gsm8k", "mmlu", "hellaswag"):
        for item in sets[name].items[:40]:
            texts.append(FILLER + item.question + " " + " ".join(item.choices) + " " + item.answer)
    texts += ["", "z" * 5000, "word " * 20_000, "ünïcödé " * 300]
    probes = tables_for(texts, [8, 13], 0)
    data, starts = batch(texts)
    a = probe_windows(data, starts, probes, core="pure")
    b = probe_windows(data, starts, probes, core="compiled")
    same(a, b)
    assert sum(p.size for p, _ in b[2]) > 100  # the comparison covered real candidates


def test_bad_arguments_are_errors(compiled_core) -> None:
    with pytest.raises(ValueError, match="fold"):
        compiled_core.scan(b"abc", np.array([0, 4], np.int64), b"x" * 10, [])
    keys = np.array([1, 2], np.uint64)
    fps = np.zeros(2, np.uint16)
    full = np.full(64, 2**64 - 1, np.uint64)  # a Bloom filter that lets every window through
    starts = np.array([0, 4], np.int64)
    with pytest.raises(ValueError, match="probe"):  # offsets of the wrong size
        compiled_core.scan(
            b"abc", starts, hashing._FOLD, [(1, keys, 4, np.zeros(3, np.uint32), fps, 6, full)]
        )
    with pytest.raises(ValueError, match="probe"):  # a fingerprint missing
        compiled_core.scan(
            b"abc", starts, hashing._FOLD, [(1, keys, 1, np.zeros(3, np.uint32), fps[:1], 6, full)]
        )
    with pytest.raises(ValueError, match="probe"):  # a Bloom filter of the wrong size
        compiled_core.scan(
            b"abc", starts, hashing._FOLD, [(1, keys, 1, np.zeros(3, np.uint32), fps, 7, full)]
        )
    # offsets that point past the keys (a damaged structure) are clamped, never read beyond
    wild = np.full(3, 1 << 30, np.uint32)
    wild[0] = 0
    n, _, cands = compiled_core.scan(
        b"abc def", np.array([0, 8], np.int64), hashing._FOLD, [(1, keys, 1, wild, fps, 6, full)]
    )
    assert n == 2 and cands[0] == (b"", b"")


def _mixed_corpus(path: Path) -> dict[str, str]:
    """JSON Lines with every kind of line the block reader splices: plain, non-ASCII (folded by the parser's
    table, and by Python), escapes, lines left to the per-record reader (nested strings, invalid UTF-8,
    malformed, duplicate keys, a text over the piece size), blank lines and a too-large line; test items
    in several of them. Returns item ids by what hides them."""
    sets = real_sets()
    gsm, arc, hs = sets["gsm8k"].items[3], sets["arc_easy"].items[9], sets["hellaswag"].items[77]
    mmlu = next(it for it in sets["mmlu"].items if "biology" in it.item_id and len(it.question.split()) >= 20)
    gsm2 = sets["gsm8k"].items[900]
    records = [{"url": f"https://example.org/{i}", "text": page(f"Note {i}.")} for i in range(40)]
    records[4]["text"] = page(gsm.question + " " + gsm.answer)
    records[11]["text"] = page(
        arc.question + "\n" + "\n".join(f"({c}) {t}" for c, t in zip("abcd", arc.choices, strict=False))
    )
    records[20]["text"] = page("ünïcödé \u201c" + hs.question.upper() + "\u201d Straße e\u0301")
    records[25]["meta"] = {"title": page(mmlu.question)}  # a string under a nested path: slow ...
    records[26]["text"] = page(mmlu.question)  # ... and the next line, plain: the first place is line 26
    records[30]["text"] = "x " * 2000 + gsm2.question  # over the piece size below: slow, cut in pieces
    lines = [orjson.dumps(r) for r in records]
    lines[7] = json.dumps(records[7]).encode()  # \u escapes
    lines[12] = lines[12].replace(b"Note", b"N\xf6te")  # invalid UTF-8: repaired by the reader
    lines[15] = b'{"text": "broken'  # malformed
    lines[17] = b'{"text": "a", "text": ' + orjson.dumps(page(gsm2.question)) + b"}"  # duplicate keys
    lines[19] = b"   "
    lines[33] = b'{"text": "' + b"y" * 7000 + b'"}'  # over max_record_bytes below
    path.write_bytes(b"\n".join(lines) + b"\n")
    return {"plain": gsm.item_id, "nested": mmlu.item_id, "pieces": gsm2.item_id, "folded": hs.item_id}


@pytest.mark.parametrize("profile", [False, True])
def test_whole_scan_is_identical_with_either_core(index, tmp_path, monkeypatch, profile) -> None:
    """The reference test: leakage.json from the compiled path (block parser, C core) equals the pure
    path's (record by record, numpy), on a corpus of every kind of line, with and without --profile."""
    from harness.leakage import run_scan, scan

    ids = _mixed_corpus(tmp_path / "c.jsonl")
    monkeypatch.setattr(scan, "ScanOptions", functools.partial(scan.ScanOptions, piece_chars=3000))
    out = {}
    for core in ("pure", "compiled"):
        monkeypatch.setattr(hashing, "CORE", core)
        out[core] = run_scan(
            [tmp_path / "c.jsonl"],
            out_dir=tmp_path / core,
            index=index,
            workers=1,
            max_record_bytes=6000,
            profile=profile,
            shard_bytes=9000,  # byte-range shards: lines cut at shard starts
        )
    assert comparable(out["pure"]) == comparable(out["compiled"])
    rec = out["compiled"]
    places = {i["item_id"]: i["where"] for i in rec["items"] if i["dirty"]}
    assert set(ids.values()) <= set(places)
    assert (places[ids["nested"]]["field"], places[ids["nested"]]["line"]) == ("meta.title", 26)
    pieced = next(i for i in rec["items"] if i["item_id"] == ids["pieces"])
    assert pieced["dirty_records"] == 2  # the duplicate-key line, and the long text's last piece
    acct = rec["accounting"]
    assert acct["decoded_with_replacement"] == 1 and set(acct["skipped_reasons"]) == {
        "malformed_json",
        "record_too_large",
    }


def test_field_scan_is_identical_with_either_core(index, tmp_path, monkeypatch) -> None:
    from harness.leakage import run_scan

    _mixed_corpus(tmp_path / "c.jsonl")
    out = {}
    for core in ("pure", "compiled"):
        monkeypatch.setattr(hashing, "CORE", core)
        out[core] = run_scan(
            [tmp_path / "c.jsonl"], out_dir=tmp_path / core, index=index, workers=1, fields=["meta", "text"]
        )
    assert comparable(out["pure"]) == comparable(out["compiled"])
    assert out["compiled"]["status"] == "leak"


@pytest.mark.parametrize("core", ["pure", "compiled"])
def test_the_field_check_counts_in_line_order(index, tmp_path, monkeypatch, core) -> None:
    """--field text: five records with it, then 1,200 without (a mixed-schema file) is not the error of a
    field that no record has, on either path (the block reader counts the parser's hits before the
    per-record reader's misses, in line order)."""
    from harness.leakage import run_scan

    monkeypatch.setattr(hashing, "CORE", core)
    lines = [orjson.dumps({"text": page(f"note {i}")}) for i in range(5)]
    lines += [orjson.dumps({"body": f"no text field here, record {i}"}) for i in range(1200)]
    (tmp_path / "c.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    rec = run_scan([tmp_path / "c.jsonl"], out_dir=tmp_path / "o", index=index, workers=1, fields=["text"])
    assert (
        rec["status"] == "incomplete"
        and rec["accounting"]["skipped_reasons"]["missing_field"]["count"] == 1200
    )


def test_a_core_built_from_other_sources_is_not_used(monkeypatch) -> None:
    """An install that was not rebuilt after an update keeps an old extension: the scan must not call it
    with the new interface, but say so and run the reference path."""
    import types

    stale = types.ModuleType("harness.leakage._fastscan")  # an old build: no VERSION, an old scan()
    monkeypatch.setitem(sys.modules, "harness.leakage._fastscan", stale)
    monkeypatch.setattr(sys.modules["harness.leakage"], "_fastscan", stale, raising=False)
    try:
        with pytest.warns(RuntimeWarning, match="rebuild"):
            importlib.reload(hashing)
        assert hashing._fastscan is None and hashing.CORE == "pure"
    finally:
        monkeypatch.undo()
        importlib.reload(hashing)
    assert hashing._fastscan is not None and hashing.CORE == "compiled"

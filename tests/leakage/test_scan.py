"""`run_scan` end to end: outputs and their shape, determinism across runs, engines' worker counts and
resuming, and the contract the audit runner and `harness verify` rely on."""

from __future__ import annotations

import json
import shutil

import orjson
import pyarrow.parquet as pq
import pytest

from harness.leakage import ResumeError, run_scan
from harness.leakage.normalize import words
from tests.leakage.corpora import FILLER, comparable, dirty_ids, page, write_jsonl


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, sets):
    """Two files: a chat file with one planted GSM8K problem, and web pages with an ARC quiz and damage."""
    root = tmp_path_factory.mktemp("corpus")
    gsm, arc = sets["gsm8k"].items[42], sets["arc_challenge"].items[7]
    chats = [
        {"messages": [{"role": "user", "content": FILLER}, {"role": "assistant", "content": FILLER * 2}]}
        for _ in range(40)
    ]
    chats[17]["messages"][1]["content"] = "Sure. " + gsm.question + " The answer: " + gsm.answer
    write_jsonl(root / "chat.jsonl.gz", chats, compress="gz")
    lettered = "\n".join(f"{'ABCD'[i]}) {c}" for i, c in enumerate(arc.choices))
    web = [{"url": f"https://example.org/{i}", "text": page(f"Note {i}.")} for i in range(60)]
    web[33]["text"] = page(f"Q: {arc.question}\n{lettered}\nAnswer: C")
    path = write_jsonl(root / "web.jsonl", web)
    with open(path, "ab") as fh:
        fh.write(b'{"url": "broken\n\n{"id": 1}\n')
    return root, gsm, arc


def scan(paths, out, index, **kw):
    return run_scan([str(p) for p in paths], out_dir=out, index=index, **kw)


def test_record_shape_places_and_outputs(corpus, index, tmp_path) -> None:
    root, gsm, arc = corpus
    rec = scan([root], tmp_path / "out", index, workers=1)
    assert rec["status"] == "leak" and dirty_ids(rec) == {gsm.item_id, arc.item_id}
    assert rec["headline"].startswith("2 of 20,609 test items were found")
    assert "2 records could not be read" in rec["headline"]
    by_id = {i["item_id"]: i for i in rec["items"]}
    g = by_id[gsm.item_id]
    assert g["where"] == {
        "file": str(root / "chat.jsonl.gz"),
        "record": 17,
        "line": 18,
        "field": "messages[1].content",
        "offset": 6,
    }
    longest = max(len(words(gsm.question)), len(words(gsm.answer)))
    assert g["overlap"] == 1.0 and g["longest_match"] == longest and g["similarity"] == 100.0
    assert g["records"] == g["dirty_records"] == 1 and g["matched_field"] == "question"
    assert gsm.question[:60] in g["excerpt"]
    a = by_id[arc.item_id]
    assert (a["where"]["record"], a["where"]["line"], a["where"]["field"]) == (33, 34, "text")
    text = page(f"Q: {arc.question}")
    assert text[a["where"]["offset"] :].startswith(arc.question)
    acc = rec["accounting"]
    assert acc["files"] == 2 and acc["records_read"] == 100 and acc["records_skipped"] == 2
    assert acc["skipped_reasons"]["malformed_json"]["examples"] == [
        {
            "file": str(root / "web.jsonl"),
            "line": 61,
            "record": 60,
            "detail": acc["skipped_reasons"]["malformed_json"]["examples"][0]["detail"],
        }
    ]
    assert acc["skipped_reasons"]["no_text"]["examples"][0]["line"] == 63
    assert rec["benchmarks"]["gsm8k"] == {
        "items": 1319,
        "dirty": 1,
        "matched": 1,
        "undetectable": 0,
        "split": "test",
        "clean": 1318,
    }
    out = tmp_path / "out"
    on_disk = json.loads((out / "leakage.json").read_text())
    assert on_disk == json.loads(json.dumps(rec))
    table = pq.read_table(out / "items.parquet").to_pylist()
    assert len(table) == 20609 and sum(r["dirty"] for r in table) == 2
    row = next(r for r in table if r["item_id"] == gsm.item_id)
    assert (row["record"], row["line"], row["field"]) == (17, 18, "messages[1].content")
    clean = (out / "clean" / "gsm8k.txt").read_text().split()
    assert len(clean) == 1318 and gsm.item_id not in clean
    arc_clean = (out / "clean" / "arc_challenge.txt").read_text().split()
    assert (
        len(arc_clean)
        == rec["benchmarks"]["arc_challenge"]["clean"]
        == 1172 - 1 - rec["benchmarks"]["arc_challenge"]["undetectable"]
    )
    summary = (out / "summary.md").read_text()
    assert gsm.item_id in summary and "malformed_json: 1" in summary
    skipped = [orjson.loads(x) for x in (out / "skipped.jsonl").read_bytes().splitlines()]
    assert [(s["reason"], s["line"]) for s in skipped] == [("malformed_json", 61), ("no_text", 63)]


def test_same_inputs_same_record_whatever_the_workers(corpus, index, tmp_path) -> None:
    root, _, _ = corpus
    one = scan([root], tmp_path / "a", index, workers=1, shard_bytes=4096)
    again = scan([root], tmp_path / "b", index, workers=1, shard_bytes=4096)
    two = scan([root], tmp_path / "c", index, workers=2, shard_bytes=4096)
    assert one["execution"]["shards"] > 5 and two["execution"]["workers"] == 2
    assert comparable(one) == comparable(again) == comparable(two)
    whole = scan([root], tmp_path / "d", index, workers=1)  # byte ranges or whole files: same places
    assert comparable(whole).replace('"shard_bytes"', "") == comparable(one).replace('"shard_bytes"', "")


def test_resume_uses_finished_shards_and_gives_the_same_record(corpus, index, tmp_path) -> None:
    root, _, _ = corpus
    full = scan([root], tmp_path / "out", index, workers=1, shard_bytes=4096)
    done = sorted((tmp_path / "out" / "shards").glob("*.json"))
    done = [p for p in done if p.name != "manifest.json"]
    for p in done[: len(done) // 2]:
        p.unlink()  # as if the scan had been killed halfway
    (tmp_path / "out" / "leakage.json").unlink()
    resumed = scan([root], tmp_path / "out", index, workers=1, shard_bytes=4096, resume=True)
    assert resumed["execution"]["shards_resumed"] == len(done) - len(done) // 2
    assert comparable(resumed) == comparable(full)
    with pytest.raises(ResumeError, match="fields"):
        scan([root], tmp_path / "out", index, workers=1, shard_bytes=4096, resume=True, fields=["text"])
    fresh = scan(
        [root], tmp_path / "out", index, workers=1, shard_bytes=4096
    )  # without --resume: from scratch
    assert fresh["execution"]["shards_resumed"] == 0 and comparable(fresh) == comparable(full)


def test_fields_restrict_what_is_scanned(corpus, index, tmp_path) -> None:
    root, gsm, _ = corpus
    rec = scan([root], tmp_path / "out", index, workers=1, fields=["messages[].content"])
    assert dirty_ids(rec) == {gsm.item_id}
    assert rec["accounting"]["skipped_reasons"]["missing_field"]["count"] == 61  # the web pages and {"id": 1}


def test_audit_runner_contract(corpus, tmp_path) -> None:
    """harness.report.audit_runner calls run_scan(paths, out_dir=, progress=, ngram=, benchmarks=, fields=,
    workers=) and reads status/headline; harness verify reads items[].item_id/dirty from leakage.json."""
    root, gsm, _ = corpus
    rec = run_scan(
        [str(root / "chat.jsonl.gz")],
        out_dir=tmp_path,
        progress=False,
        ngram=13,
        benchmarks=["gsm8k"],
        fields=None,
        workers=1,
    )
    assert rec["status"] == "leak" and isinstance(rec["headline"], str) and rec["headline"].endswith(".")
    assert list(rec["benchmarks"]) == ["gsm8k"]
    from harness.verify.runner import _read_leakage

    dirty, info = _read_leakage(tmp_path / "leakage.json")
    assert dirty == {gsm.item_id} and info["dirty_items"] == 1


def test_a_clean_corpus(index, tmp_path) -> None:
    write_jsonl(tmp_path / "in" / "a.jsonl", [{"text": page("Nothing here.")}] * 5)
    rec = scan([tmp_path / "in"], tmp_path / "out", index)
    assert rec["status"] == "clean" and rec["items"] == []
    assert rec["headline"].startswith("No test item of 5 benchmark(s) (20,609 items) was found")


@pytest.mark.slow
def test_an_item_at_the_end_of_a_100_mb_line(index, sets, tmp_path, peak_rss_kib) -> None:
    """A 100 MB record is scanned in overlapping pieces: the item at its very end is found at its offset."""

    item = sets["gsm8k"].items[1000]
    body = (FILLER * 400_000)[:100_000_000]
    text = body + " " + item.question
    write_jsonl(tmp_path / "in" / "huge.jsonl", [{"text": "short"}, {"text": text}])
    rec = scan([tmp_path / "in"], tmp_path / "out", index, workers=1)
    (found,) = rec["items"]
    assert found["item_id"] == item.item_id and found["dirty"]
    assert found["where"]["offset"] == len(body) + 1 and found["where"]["line"] == 2
    assert peak_rss_kib() < 1_000_000, peak_rss_kib()  # KiB over the baseline
    shutil.rmtree(tmp_path / "in")

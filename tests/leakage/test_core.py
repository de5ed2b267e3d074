"""The shard core: long texts in overlapping pieces, and shard results that survive serialisation."""

from __future__ import annotations

import itertools

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.leakage.core import OVERLAP_WORDS, ScanOptions, ShardResult, pieces, scan_shard
from harness.leakage.inputs import expand_inputs, plan_shards
from harness.leakage.normalize import words
from tests.leakage.corpora import page, write_jsonl


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.text("abcdefgh", min_size=1, max_size=12), min_size=1, max_size=3000), st.integers(200, 4000)
)
def test_pieces_cover_the_text_and_overlap_by_whole_words(ws: list[str], size: int) -> None:
    text = " ".join(ws)
    parts = list(pieces(text, size))
    assert parts[0][0] == 0
    for (a, pa), (b, _) in itertools.pairwise(parts):
        assert text[a : a + len(pa)] == pa and b > a
        overlap = text[b : a + len(pa)]
        assert a + len(pa) > b  # consecutive pieces overlap ...
        assert len(overlap.split()) >= min(OVERLAP_WORDS, len(pa.split()) - 1) or b == a + 1
    last_start, last = parts[-1]
    assert last_start + len(last) == len(text)  # ... and the last reaches the end


def test_an_item_across_a_piece_boundary_is_found(index, sets, tmp_path) -> None:
    q = sets["gsm8k"].items[9].question
    text = "lorem ipsum " * 5000 + q + " dolor sit" * 3000
    write_jsonl(tmp_path / "a.jsonl", [{"text": text}])
    files, _ = expand_inputs([tmp_path])
    (shard,) = plan_shards(files)
    for piece_chars in (1 << 20, 60_000, 60_010, 60_030):  # cuts before, inside and after the question
        res = scan_shard(shard, index, ScanOptions(piece_chars=piece_chars, batch_chars=50_000))
        ((item, finding),) = res.findings.items()
        assert index.items[item].item_id == "gsm8k/test/9" and finding.dirty and finding.records == 1
        assert finding.place.offset == 12 * 5000 and finding.longest == len(words(q))


def test_shard_results_round_trip_through_json(index, sets, tmp_path) -> None:
    write_jsonl(tmp_path / "a.jsonl", [{"text": page(sets["gsm8k"].items[1].question)}, {"oops": 1}])
    files, _ = expand_inputs([tmp_path])
    res = scan_shard(plan_shards(files)[0], index, ScanOptions())
    back = ShardResult.from_dict(orjson.loads(orjson.dumps(res.to_dict())))
    assert back.to_dict() == res.to_dict()
    assert back.findings.keys() == res.findings.keys() and back.units.tolist() == res.units.tolist()


def test_progress_adds_up_to_the_shard_size(index, tmp_path) -> None:
    write_jsonl(tmp_path / "a.jsonl", [{"text": page(str(i))} for i in range(300)])
    files, _ = expand_inputs([tmp_path])
    shard = plan_shards(files)[0]
    seen: list[int] = []
    scan_shard(shard, index, ScanOptions(batch_chars=20_000), seen.append)
    assert len(seen) > 3 and all(n >= 0 for n in seen) and sum(seen) == shard.size

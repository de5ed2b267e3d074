"""`--profile`: compression ratio, exact duplicates and record length, per file and overall, the same however
the corpus is sharded; the record carries the numbers and summary.md the histogram."""

from __future__ import annotations

import random
import zlib

import numpy as np
import pytest

from harness.leakage import run_scan
from harness.leakage.profile import SAMPLE_EVERY, CorpusProfile, compression_ratio
from tests.leakage.corpora import FILLER, comparable, write_jsonl


def test_compression_ratio_is_deflate_level_1() -> None:
    rng = random.Random(0)
    noise = bytes(rng.randrange(256) for _ in range(4000))
    assert compression_ratio(b"abc " * 1000) < 0.05 < 0.5 < compression_ratio(FILLER.encode()) < 1.0
    assert compression_ratio(noise) > 1.0  # incompressible data grows a little
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    assert compression_ratio(noise) == len(c.compress(noise) + c.flush()) / len(noise)
    assert compression_ratio(b"") == 1.0


def test_duplicates_lengths_and_merging() -> None:
    a, b = CorpusProfile(), CorpusProfile()
    for t in ["x" * 10, "y" * 100, "x" * 10, "z" * 1000]:
        a.add(t)
    for t in ["y" * 100, "w" * 5]:
        b.add(t)
    sa, sb = a.summary(), b.summary()
    assert (sa["records"], sa["exact_duplicates"], sa["bytes"]) == (4, 1, 1120)
    assert sb["exact_duplicates"] == 0 and sa["length_bytes"]["mean"] == 280.0
    both = a.merge(b).summary()
    assert (both["records"], both["exact_duplicates"], both["exact_duplicate_rate"]) == (
        6,
        2,
        round(2 / 6, 6),
    )
    back = CorpusProfile.from_dict(a.to_dict()).summary()
    assert back == sa
    assert sum(sa["length_bytes"]["histogram"]["counts"]) == 4


def test_sample_is_deterministic_and_quantiles_follow_the_data() -> None:
    rng = random.Random(3)
    prof = CorpusProfile()
    n = 150 * SAMPLE_EVERY  # about 150 records sampled
    texts = [" ".join(rng.choices(["alpha", "beta", "gamma"], k=rng.randint(20, 200))) for _ in range(n)]
    for t in texts:
        prof.add(t)
    s = prof.summary()["compression_ratio"]
    assert abs(s["sampled_records"] - n / SAMPLE_EVERY) < 45  # about 1 in SAMPLE_EVERY, by hash
    again = CorpusProfile()
    for t in texts:
        again.add(t)
    assert again.summary() == prof.summary()
    exact = np.quantile([compression_ratio(t.encode()) for t in texts], 0.5)
    assert abs(s["p50"] - exact) < 0.03  # a sample of ~150 and bins of 0.025
    assert s["p5"] <= s["p25"] <= s["p50"] <= s["p75"] <= s["p95"]


@pytest.mark.parametrize("shard_bytes", [1 << 30, 2048])
def test_scan_profile_per_file_and_overall(index, tmp_path, shard_bytes) -> None:
    pages = [{"text": FILLER * (1 + i % 7) + f" page {i}"} for i in range(1500)]
    write_jsonl(tmp_path / "a.jsonl", pages + pages[:5])  # 5 duplicates inside a
    write_jsonl(tmp_path / "b.jsonl", pages[10:20])  # 10 duplicates of a's records
    rec = run_scan(
        [tmp_path / "a.jsonl", tmp_path / "b.jsonl"],
        out_dir=tmp_path / f"o{shard_bytes}",
        index=index,
        workers=1,
        profile=True,
        shard_bytes=shard_bytes,
    )
    prof = rec["profile"]
    a, b = prof["per_file"]
    assert (a["records"], a["exact_duplicates"], b["records"], b["exact_duplicates"]) == (1505, 5, 10, 0)
    assert prof["overall"]["records"] == 1515 and prof["overall"]["exact_duplicates"] == 15
    assert prof["overall"]["compression_ratio"]["sampled_records"] >= 3
    assert 0.0 < prof["overall"]["compression_ratio"]["p50"] < 0.5  # repeated filler compresses well
    assert (
        rec["config"]["profile"] is True
        and "Corpus profile" in (tmp_path / f"o{shard_bytes}" / "summary.md").read_text()
    )


def test_profile_is_the_same_however_sharded(index, tmp_path) -> None:
    write_jsonl(tmp_path / "c.jsonl", [{"text": FILLER * (1 + i % 5) + str(i % 40)} for i in range(200)])
    one = run_scan([tmp_path / "c.jsonl"], out_dir=tmp_path / "x", index=index, workers=1, profile=True)
    many = run_scan(
        [tmp_path / "c.jsonl"], out_dir=tmp_path / "y", index=index, workers=2, profile=True, shard_bytes=4096
    )
    assert many["execution"]["shards"] > 5
    assert comparable(one) == comparable(many)
    plain = run_scan([tmp_path / "c.jsonl"], out_dir=tmp_path / "z", index=index, workers=1)
    assert "profile" not in plain and plain["items"] == one["items"]

"""The on-disk index cache: built once, then loaded equal to a fresh build; keyed by the test sets' content
and the rule's versions, so nothing stale is loaded; a damaged cache is rebuilt, never trusted."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.leakage import index as index_mod
from harness.leakage import index_cache
from harness.leakage.index import build_index
from harness.leakage.index_cache import cache_dir, cache_key, load_cached_index, snapshot_checksums

NAMES = ["arc_challenge", "arc_easy"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HARNESS_DATA_SOURCE", raising=False)
    return tmp_path / "home"


def same_index(a, b) -> None:
    assert (a.ngram, a.floor, a.benchmarks) == (b.ngram, b.floor, b.benchmarks)
    assert a.fingerprint() == b.fingerprint() and a.lengths == b.lengths
    for k in a.lengths:
        assert np.array_equal(a.keys[k], b.keys[k]) and np.array_equal(a.gids[k], b.gids[k])
        ta, tb = a.tables[k], b.tables[k]
        assert (ta.bits, ta.max_fill, ta.bloom_bits) == (tb.bits, tb.max_fill, tb.bloom_bits)
        assert np.array_equal(ta.bloom, tb.bloom)
        assert np.array_equal(ta.offsets, tb.offsets) and np.array_equal(ta.fingerprints, tb.fingerprints)
    for name in ("unit_segment", "unit_pos", "unit_len", "unit_anchor", "unit_shared"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert list(a.segments) == list(b.segments) and list(a.items) == list(b.items)


def test_built_once_then_loaded_equal(home, sets) -> None:
    fresh = build_index([sets[n] for n in NAMES])
    first, how = load_cached_index(NAMES)
    assert how == "built and cached"
    again, how = load_cached_index(NAMES)
    assert how == "cache"  # loaded, not rebuilt (its speed is measured by scripts/, never asserted)
    same_index(fresh, first)
    same_index(fresh, again)
    folders = [p for p in cache_dir().iterdir() if p.is_dir()]
    assert len(folders) == 1 and (folders[0] / "meta.json").is_file()
    assert not np.load(folders[0] / "keys_13.npy", allow_pickle=False).dtype.hasobject


def test_key_follows_content_and_versions(home, monkeypatch) -> None:
    sums = snapshot_checksums(NAMES)
    assert sums is not None and [s["benchmark"] for s in sums] == NAMES and all(s["sha256"] for s in sums)
    key = cache_key(sums, 13, 8)
    assert cache_key(sums, 12, 8) != key and cache_key(sums, 13, 7) != key
    changed = [dict(sums[0], sha256="0" * 64), sums[1]]
    assert cache_key(changed, 13, 8) != key
    monkeypatch.setattr(index_cache, "HASH_VERSION", index_mod.HASH_VERSION + 1)
    assert cache_key(sums, 13, 8) != key
    monkeypatch.setenv("HARNESS_DATA_SOURCE", "hub")
    assert snapshot_checksums(NAMES) is None  # other sources are never cached


def test_a_damaged_cache_is_rebuilt(home, sets) -> None:
    load_cached_index(NAMES)
    folder = next(p for p in cache_dir().iterdir() if p.is_dir())
    keys = folder / "keys_13.npy"
    keys.write_bytes(keys.read_bytes()[:-4096])  # truncated
    index, how = load_cached_index(NAMES)
    assert how == "built and cached"  # not trusted: rebuilt, and the damaged copy replaced
    same_index(index, build_index([sets[n] for n in NAMES]))
    assert load_cached_index(NAMES)[1] == "cache"
    meta = json.loads((folder / "meta.json").read_text())
    meta["arrays"].append("../../etc/passwd")
    (folder / "meta.json").write_text(json.dumps(meta))
    assert index_cache.read_index(folder) is None


def test_an_unwritable_home_only_costs_time(tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("HARNESS_HOME", str(blocker))  # a file where a folder should be
    index, how = load_cached_index(["arc_challenge"])
    assert how == "built" and len(index.items) == 1172

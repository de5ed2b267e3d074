"""The test-set index, cached on disk: built once per content of the test sets, loaded in milliseconds.

Building the index of all five test sets takes seconds (loading and checking the sets, normalising and
hashing 1.2 M n-grams); a scan of a small file would spend most of its time there. The cache key is a
sha256 over what decides the index: the checksum of each test-set file as it is on disk now (the file
`load_benchmark` would read: an imported copy before the bundled snapshot), the rule's parameters (n,
floor), `HASH_VERSION` (normalisation and hashing) and `INDEX_VERSION` (what is indexed). A changed test
set, a new normalisation or another n gives another key; nothing stale is ever loaded.

Files: a folder `$HARNESS_HOME/cache/scan-index/<key>/` with one `.npy` file per array (memory-mapped on
load, with `allow_pickle=False`: a cache file can hold data, never code) and `meta.json` (strings: item
ids, field names, test-set metadata). The folder is written under a temporary name and renamed, so it is
there whole or not at all; an existing one is never rewritten (its key says what it holds). A cache that cannot be read is rebuilt and replaced; one that cannot be written is
skipped (a read-only home only costs time). Sources other than the snapshots (`HARNESS_DATA_SOURCE`, the
Hub) are never cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.leakage.index import (
    HASH_VERSION,
    INDEX_VERSION,
    ItemTable,
    KeyLookup,
    SegmentTable,
    TestIndex,
    build_index,
)
from harness.paths import harness_home

CACHE_FORMAT = 3  # 3: the key lookups (Bloom filter, buckets) instead of one-byte prefilter tables


def cache_dir() -> Path:
    return harness_home() / "cache" / "scan-index"


def snapshot_checksums(benchmarks: Sequence[str]) -> list[dict[str, str]] | None:
    """What `load_benchmark` would read for each benchmark's evaluation split, with the sha256 of the
    file as it is now; None when a benchmark would come from elsewhere (not cacheable)."""
    import harness.data
    from harness.data.registry import get_spec
    from harness.paths import data_store_dir
    from harness.records.files import sha256_file

    if os.environ.get("HARNESS_DATA_SOURCE"):
        return None
    # The snapshot layout of harness.data.snapshot (manifest.json beside the files), read here without
    # importing that module, which loads pyarrow: a cached scan should start in a fraction of a second.
    bundled = Path(harness.data.__file__).parent / "bundled"
    out = []
    for name in benchmarks:
        split = get_spec(name).eval_split
        for kind, root in (("imported", data_store_dir()), ("bundled", bundled)):
            meta = _manifest_entry(root, f"{name}/{split}")
            if meta is not None:
                path = root / meta["file"]
                if not path.is_file():
                    return None
                out.append({"benchmark": name, "split": split, "kind": kind, "sha256": sha256_file(path)})
                break
        else:
            return None
    return out


def _manifest_entry(root: Path, key: str) -> dict[str, Any] | None:
    try:
        return json.loads((root / "manifest.json").read_text())["sets"].get(key)
    except (OSError, ValueError, KeyError):
        return None


def cache_key(checksums: list[dict[str, str]], ngram: int, floor: int) -> str:
    ident = {
        "format": CACHE_FORMAT,
        "hash_version": HASH_VERSION,
        "index_version": INDEX_VERSION,
        "ngram": ngram,
        "floor": floor,
        "sets": checksums,
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]


def load_cached_index(
    benchmarks: Sequence[str], *, ngram: int = 13, floor: int = 8, use_cache: bool = True
) -> tuple[TestIndex, str]:
    """The index of `benchmarks` and where it came from ("cache", "built and cached", "built")."""
    checksums = snapshot_checksums(benchmarks) if use_cache else None
    if checksums is not None:
        path = cache_dir() / cache_key(checksums, ngram, floor)
        index = read_index(path)
        if index is not None:
            return index, "cache"
        if path.exists():  # there but unreadable (a disk fault, a killed copy by hand): replaced below
            shutil.rmtree(path, ignore_errors=True)
    from harness.data import load_benchmark

    index = build_index([load_benchmark(name) for name in benchmarks], ngram=ngram, floor=floor)
    if checksums is None:
        return index, "built"
    # The sets were loaded (and checked against their manifests) just now: key the cache by what was read.
    if snapshot_checksums(benchmarks) != checksums:
        return index, "built"
    try:
        write_index(index, path)
    except OSError:
        return index, "built"
    # Read back what was written, so a first scan runs exactly as every later one does (workers map
    # the cache instead of receiving a pickled copy).
    cached = read_index(path)
    return (cached, "built and cached") if cached is not None else (index, "built")


def write_index(index: TestIndex, path: Path) -> None:
    """The folder `path` (see the module docstring), written under a temporary name and renamed."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    segs, items = index.segments, index.items
    arrays: dict[str, np.ndarray] = {
        "seg_item": segs.item,
        "seg_group": segs.group,
        "seg_n_words": segs.n_words,
        "seg_units": segs.units,
        "seg_offsets": segs.offsets,
        "seg_blob": np.frombuffer(segs.blob, dtype=np.uint8),
        "item_seg_starts": items.seg_starts,
        "item_detectable": items.detectable,
        "unit_segment": index.unit_segment,
        "unit_pos": index.unit_pos,
        "unit_len": index.unit_len,
        "unit_anchor": index.unit_anchor,
        "unit_shared": index.unit_shared,
    }
    lookups = {}
    for k in index.keys:
        arrays[f"keys_{k}"] = index.keys[k]
        arrays[f"gids_{k}"] = index.gids[k]
        t = index.tables[k]
        arrays[f"offsets_{k}"], arrays[f"fingerprints_{k}"], arrays[f"bloom_{k}"] = (
            t.offsets,
            t.fingerprints,
            t.bloom,
        )
        lookups[str(k)] = {"bits": t.bits, "max_fill": t.max_fill, "bloom_bits": t.bloom_bits}
    meta: dict[str, Any] = {
        "format": CACHE_FORMAT,
        "ngram": index.ngram,
        "floor": index.floor,
        "lengths": sorted(index.keys),
        "lookups": lookups,
        "arrays": sorted(arrays),
        "benchmarks": index.benchmarks,
        "seg_field": list(segs.field),
        "item_id": list(items.item_id),
        "item_benchmark": list(items.benchmark),
    }
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name, arr in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(arr), allow_pickle=False)
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not path.is_dir():  # another process may have won the race: that is fine
            raise


def read_index(path: Path) -> TestIndex | None:
    """The cached index at `path`, or None when it is absent or unreadable (then it is rebuilt)."""
    if not (path / "meta.json").is_file():
        return None
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != CACHE_FORMAT:
            return None
        a = {
            name: np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in meta["arrays"]
        }
        segs = SegmentTable([])
        segs.item, segs.group = a["seg_item"], a["seg_group"]
        segs.n_words, segs.units, segs.offsets = a["seg_n_words"], a["seg_units"], a["seg_offsets"]
        segs.blob = a["seg_blob"].tobytes()
        segs.field = list(meta["seg_field"])
        items = ItemTable(
            list(meta["item_id"]), list(meta["item_benchmark"]), a["item_seg_starts"], a["item_detectable"]
        )
        index = TestIndex(
            ngram=int(meta["ngram"]),
            floor=int(meta["floor"]),
            items=items,
            segments=segs,
            benchmarks=meta["benchmarks"],
        )
        index.unit_segment, index.unit_pos = a["unit_segment"], a["unit_pos"]
        index.unit_len, index.unit_shared = a["unit_len"], a["unit_shared"]
        index.unit_anchor = a["unit_anchor"]
        for k in meta["lengths"]:
            index.keys[k], index.gids[k] = a[f"keys_{k}"], a[f"gids_{k}"]
            m = meta["lookups"][str(k)]
            index.tables[k] = KeyLookup(
                int(m["bits"]),
                a[f"offsets_{k}"],
                a[f"fingerprints_{k}"],
                int(m["max_fill"]),
                int(m["bloom_bits"]),
                a[f"bloom_{k}"],
            )
        _check(index)
        index.cache_path = str(path)
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        return None
    return index


def _check(index: TestIndex) -> None:
    """Shapes that must agree in any index this module wrote (a truncated or mixed cache fails here)."""
    n_units, n_segs = index.unit_segment.size, len(index.segments.field)
    sizes = {index.unit_pos.size, index.unit_len.size, index.unit_shared.size, index.unit_anchor.size}
    if sizes != {n_units}:
        raise ValueError("unit arrays disagree")
    if index.segments.item.size != n_segs or index.segments.offsets.size != n_segs + 1:
        raise ValueError("segment arrays disagree")
    if int(index.segments.offsets[-1]) != len(index.segments.blob):
        raise ValueError("segment text is truncated")
    if index.items.seg_starts.size != len(index.items.item_id) + 1:
        raise ValueError("item arrays disagree")
    if sum(k.size for k in index.keys.values()) != n_units:
        raise ValueError("keys disagree with units")
    for k, keys in index.keys.items():
        t = index.tables[k]
        if index.gids[k].size != keys.size or int(t.offsets[-1]) != keys.size:
            raise ValueError("key lookup disagrees")
        if (
            t.offsets.size != (1 << t.bits) + 1
            or t.fingerprints.size != keys.size
            or t.bloom.size != 1 << t.bloom_bits
        ):
            raise ValueError("key lookup has the wrong shape")

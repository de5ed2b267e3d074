"""Engines only decide where shards run: local processes and Ray give the same record."""

from __future__ import annotations

import dataclasses

import pytest

from harness.leakage import run_scan
from harness.leakage.engines import LocalEngine, RayEngine, default_workers
from tests.leakage.corpora import comparable, dirty_ids, page, write_jsonl


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, sets):
    root = tmp_path_factory.mktemp("engines")
    gsm, hs = sets["gsm8k"].items, sets["hellaswag"]
    for i in range(4):
        pages = [{"text": page(f"page {i}-{j}")} for j in range(80)]
        pages[10 * i]["text"] = page(gsm[100 + i].question)
        write_jsonl(root / f"part-{i}.jsonl", pages)
    h = hs.items[55]
    write_jsonl(
        root / "chat.jsonl.gz",
        [{"messages": [{"role": "user", "content": hs.rows[h.row]["ctx"] + " " + h.answer}]}],
        compress="gz",
    )
    return root


def test_default_workers_is_every_core() -> None:
    assert LocalEngine().workers == default_workers() >= 1


def test_run_scan_takes_an_engine_object_not_a_name(corpus, index, tmp_path) -> None:
    """The caller (the CLI) builds the engine; run_scan never picks one by name."""
    rec = run_scan([str(corpus)], out_dir=tmp_path / "o", index=index, engine=LocalEngine(1))
    assert rec["execution"]["engine"] == "local" and rec["execution"]["workers"] == 1
    with pytest.raises(TypeError, match="engine object"):
        run_scan([str(corpus)], out_dir=tmp_path / "s", index=index, engine="ray")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="workers"):
        run_scan([str(corpus)], out_dir=tmp_path / "w", index=index, engine=LocalEngine(1), workers=2)


@pytest.mark.slow
def test_ray_engine_equals_the_local_engine(corpus, index, tmp_path) -> None:
    ray = pytest.importorskip("ray")
    local = run_scan([str(corpus)], out_dir=tmp_path / "local", index=index, workers=2, shard_bytes=20_000)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = run_scan(
            [str(corpus)], out_dir=tmp_path / "ray", index=index, engine=RayEngine(), shard_bytes=20_000
        )
    finally:
        ray.shutdown()
    assert remote["execution"]["engine"] == "ray" and remote["execution"]["shards"] > 8
    # 4 GSM8K problems, HellaSwag 55, and HellaSwag 56, whose context is the same caption as 55's
    assert dirty_ids(local) == {f"gsm8k/test/{100 + i}" for i in range(4)} | {
        "hellaswag/validation/55",
        "hellaswag/validation/56",
    }
    assert comparable(remote) == comparable(local)


def test_local_workers_map_a_cached_index_or_receive_it(corpus, index, tmp_path) -> None:
    """Workers read an index that came from the on-disk cache from there (nothing pickled); any other index
    is sent to them. Both give the one-process record; a cache that changed under a scan is an error."""
    assert index.cache_path is not None  # the session's index came from the cache
    sent = dataclasses.replace(index, cache_path=None)
    sent.tables = index.tables
    one = run_scan([str(corpus)], out_dir=tmp_path / "one", index=index, workers=1, shard_bytes=20_000)
    mapped = run_scan([str(corpus)], out_dir=tmp_path / "mapped", index=index, workers=2, shard_bytes=20_000)
    pickled = run_scan([str(corpus)], out_dir=tmp_path / "sent", index=sent, workers=2, shard_bytes=20_000)
    assert comparable(one) == comparable(mapped) == comparable(pickled)
    moved = dataclasses.replace(index, cache_path=str(tmp_path / "no-such-cache"))
    moved.tables = index.tables
    with pytest.raises(RuntimeError, match="changed or became unreadable"):
        run_scan([str(corpus)], out_dir=tmp_path / "moved", index=moved, workers=2, shard_bytes=20_000)

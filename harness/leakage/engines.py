"""Where shards run. Engines only schedule `core.scan_shard` calls; they never touch matching or results,
so every engine gives the same shard results and, merged, the same report.

- `LocalEngine`: this process (one worker) or a pool of processes (spawned, not forked: the progress bar
  runs a thread, and forking a process with threads can deadlock). A worker maps the index from its
  on-disk cache when it came from there (shared pages, nothing pickled), else receives it once.
- `RayEngine`: Ray tasks, one per shard, on an existing cluster (`address`) or a local Ray instance. The
  index is put in the object store once and shared by all tasks.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol

from harness.leakage.core import ScanOptions, ShardResult, scan_shard
from harness.leakage.index import TestIndex
from harness.leakage.inputs import Shard

OnResult = Callable[[ShardResult], None]
OnProgress = Callable[[int], None]


class Engine(Protocol):
    name: str
    workers: int

    def run(
        self,
        shards: Sequence[Shard],
        index: TestIndex,
        options: ScanOptions,
        on_result: OnResult,
        on_progress: OnProgress,
    ) -> None:
        """Scan every shard; call `on_result` in this process as each one finishes (any order)."""


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class LocalEngine:
    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or default_workers())

    def run(self, shards, index, options, on_result, on_progress) -> None:
        if self.workers == 1 or len(shards) <= 1:
            for shard in shards:
                on_result(scan_shard(shard, index, options, on_progress))
            return
        ctx = mp.get_context("spawn")
        progress_q: Any = ctx.Queue()
        stop = threading.Event()

        def drain() -> None:
            while not stop.is_set():
                try:
                    on_progress(progress_q.get(timeout=0.1))
                except queue.Empty:
                    continue
                except (EOFError, OSError):
                    return

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        workers = min(self.workers, len(shards))
        # An index read from the on-disk cache is read again by each worker (memory-mapped: the pages are
        # shared, and nothing is pickled); any other index is sent to each worker once.
        cached = (None, index.cache_path, index.fingerprint()) if index.cache_path else (index, None, None)
        pool = ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_init_worker, initargs=(*cached, progress_q)
        )
        try:
            pending: set[Future] = {pool.submit(_run_in_worker, shard, options) for shard in shards}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    on_result(fut.result())  # a worker's exception re-raises here, with its message
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.terminate()
            raise
        else:
            pool.shutdown(wait=True)
        finally:
            stop.set()
            reader.join(timeout=2)
            while True:  # progress sent after the last result still counts
                try:
                    on_progress(progress_q.get_nowait())
                except (queue.Empty, EOFError, OSError):
                    break


_WORKER: dict[str, Any] = {}


def _init_worker(
    index: TestIndex | None, cache_path: str | None, fingerprint: str | None, progress_q: Any
) -> None:
    _WORKER.update(index=index, cache_path=cache_path, fingerprint=fingerprint, progress=progress_q)


def _worker_index() -> TestIndex:
    """The worker's index: as received, or mapped from the cache on first use (here and not in the pool's
    initializer, so that a failure reaches the scan with its message)."""
    index = _WORKER["index"]
    if index is None:
        from pathlib import Path

        from harness.leakage.index_cache import read_index

        path = _WORKER["cache_path"]
        index = read_index(Path(str(path)))
        if index is None or index.fingerprint() != _WORKER["fingerprint"]:
            raise RuntimeError(f"the index cache {path} changed or became unreadable during the scan")
        _WORKER["index"] = index
    return index


def _run_in_worker(shard: Shard, options: ScanOptions) -> ShardResult:
    q = _WORKER["progress"]
    return scan_shard(shard, _worker_index(), options, q.put)


class RayEngine:
    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        self.address = address
        self.workers = workers or 0
        self.start_seconds = 0.0

    def run(self, shards, index, options, on_result, on_progress) -> None:
        import ray

        t0 = time.monotonic()
        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                ray.init(num_cpus=self.workers or None, log_to_driver=False, include_dashboard=False)
        self.start_seconds = time.monotonic() - t0  # connecting to (or starting) the cluster
        task = ray.remote(num_cpus=1, max_retries=2)(_ray_scan_shard)
        index_ref = ray.put(index)
        sizes = {}
        pending = []
        for shard in shards:
            ref = task.remote(shard, [index_ref], options)  # boxed: resolved once per worker, not per task
            sizes[ref] = shard.size
            pending.append(ref)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                on_result(ray.get(ref))
                on_progress(sizes[ref])

    @property
    def cluster(self) -> dict[str, Any]:
        import ray

        if not ray.is_initialized():
            return {}
        return {"address": self.address or "local", "cpus": ray.cluster_resources().get("CPU")}


_RAY_INDEX: dict[str, TestIndex] = {}


def _ray_scan_shard(shard: Shard, index_box: list[Any], options: ScanOptions) -> ShardResult:
    """A Ray task: the index is fetched from the object store once per worker process and kept (Ray reuses
    its workers), instead of being deserialised for every task."""
    import ray

    key = index_box[0].hex()
    index = _RAY_INDEX.get(key)
    if index is None:
        index = ray.get(index_box[0])
        _RAY_INDEX.clear()
        _RAY_INDEX[key] = index
    return scan_shard(shard, index, options)

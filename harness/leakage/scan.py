"""`run_scan`: plan shards, run them on an engine (resuming finished ones), merge, write the outputs.

The record it returns (and writes as leakage.json; typed and validated as
`harness.records.scan.ScanRecord`) has the shape other parts read:
    {"schema": "harness.scan", "schema_version": 1, "status": "clean" | "leak" | "incomplete", "headline": str,
     "completeness": {"complete", "records_skipped_fraction", "max_skipped", "not_read": [str, ...]},
     "benchmarks": {NAME: {"items", "dirty", "matched", "undetectable", "clean", "split"}},
     "items": [{"item_id", "benchmark", "dirty", "overlap", "longest_match", "records", "dirty_records",
                "where": {"file", "record", "line", "field", "offset"}, "matched_field", "matched_words",
                "similarity", "excerpt", "excerpt_offset"}, ...],   # every matched item, dirty or not
     "accounting": {"files", "bytes_read", "bytes_decoded", "records_read", "records_skipped",
                    "blank_lines", "skipped_reasons": {REASON: {"count", "examples": [{"file", "line",
                    "record", "detail"}]}}, "file_faults", "files_ignored", "per_file"},
     "config": {...}, "index": {...}, "outputs": {...}, "execution": {...}, "timing": {...}}
Same inputs and settings give the same record except under "execution" and "timing" (engine, workers,
versions, times), whatever the engine, the worker count, or how often the scan was interrupted and resumed.

Status (words of `harness.records.status`): `leak` when any item is dirty; else `incomplete` when anything
was not read (no record at all, a damaged file, skipped records beyond `max_skipped`, unsupported data
files): a scan never calls CLEAN what it did not read; else `clean`. A scan that cannot run raises, and
leaves a `leakage.json` with status `failed` and the error in `out_dir`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.data.registry import default_scan_set
from harness.leakage.checkpoint import Checkpoints, ResumeError
from harness.leakage.core import ScanOptions, ShardResult
from harness.leakage.engines import Engine, LocalEngine
from harness.leakage.fields import parse_field
from harness.leakage.index import BOILERPLATE_ITEMS, HASH_VERSION, TestIndex
from harness.leakage.index_cache import load_cached_index
from harness.leakage.inputs import DEFAULT_SHARD_BYTES, expand_inputs, plan_shards
from harness.leakage.matcher import COMPANION_GAP
from harness.leakage.profile import CorpusProfile, profile_record
from harness.leakage.readers import DEFAULT_MAX_RECORD_BYTES
from harness.leakage.rephrase import RULE_VERSION as REPHRASE_RULE_VERSION
from harness.leakage.rephrase import rephrase_config
from harness.leakage.report import write_outputs
from harness.leakage.results import (
    DIRTY_RULE,
    benchmark_counts,
    completeness,
    headline,
    merge_accounting,
    merge_items,
    merge_rephrased,
    scan_status,
)
from harness.records.files import atomic_write_text, package_version, package_versions
from harness.records.scan import SCHEMA, SCHEMA_VERSION, write_scan_record

# Packages the scan's numbers depend on beyond the shared list (the JSON parser, the zstd reader).
SCAN_PACKAGES = ("orjson", "zstandard")
RECORD_EXAMPLES = 100  # skipped records listed per reason in the record (skipped.jsonl has the rest)


def default_out_dir() -> Path:
    return Path("reports") / f"scan-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def run_scan(
    paths: Sequence[str | Path],
    *,
    out_dir: Path | None = None,
    progress: bool = False,
    ngram: int = 13,
    benchmarks: Sequence[str] | None = None,
    fields: Sequence[str] | None = None,
    workers: int | None = None,
    engine: Engine | None = None,
    resume: bool = False,
    strict: bool = False,
    floor: int = 8,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    shard_bytes: int = DEFAULT_SHARD_BYTES,
    index: TestIndex | None = None,
    max_skipped: float = 0.0,
    profile: bool = False,
    rephrased: bool = False,
) -> dict[str, Any]:
    """Scan training data for test items; write the outputs under `out_dir`; return the record.

    Raises `inputs.ScanInputError` for paths that cannot be scanned, `fields.FieldPathError` for a bad
    field path (or one that no record has), `readers.ScanFaultError` on the first fault under `strict`, and
    `checkpoint.ResumeError` when resuming into a folder written with other settings; in each case but
    the last, `out_dir/leakage.json` says `failed` and why. `max_skipped` is the fraction of skipped
    records the status tolerates before it says `incomplete` (damaged files and empty scans never pass).
    `profile` adds the corpus profile (`profile.py`) to the record; `rephrased` runs the second stage
    that finds rephrased test items (`rephrase.py`) and lists them under `rephrased`.

    `engine` decides where shards run: an `engines.LocalEngine(workers)` (the default, built from
    `workers`) or an `engines.RayEngine(address, workers)`; the caller (the CLI) builds it, so this
    function never chooses an engine by name. `benchmarks` defaults to the registry's default scan set.
    """
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir()
    if not 0.0 <= max_skipped <= 1.0:
        raise ValueError("max_skipped is a fraction between 0 and 1")
    if isinstance(engine, str):
        raise TypeError(
            f"engine={engine!r}: pass an engine object, LocalEngine(workers) or RayEngine(address, workers) "
            "(harness.leakage.engines)"
        )
    if engine is not None and workers is not None:
        raise ValueError("give workers to the engine, not to run_scan, when you pass an engine")
    runner: Engine = engine if engine is not None else LocalEngine(workers)
    try:
        return _run_scan(
            paths,
            out_dir=out_dir,
            progress=progress,
            ngram=ngram,
            benchmarks=benchmarks,
            fields=fields,
            runner=runner,
            resume=resume,
            strict=strict,
            floor=floor,
            max_record_bytes=max_record_bytes,
            shard_bytes=shard_bytes,
            index=index,
            max_skipped=max_skipped,
            profile=profile,
            rephrased=rephrased,
        )
    except ResumeError:
        raise  # the folder belongs to another scan: leave it as it is
    except Exception as exc:
        write_failed(out_dir, paths, exc)
        raise


def write_failed(out_dir: Path, paths: Sequence[str | Path], exc: BaseException) -> dict[str, Any]:
    """The record of a scan that could not run: status `failed`, the error, and nothing else to trust."""
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    record = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "timing": {},
        "status": "failed",
        "headline": f"The scan could not run: {message}",
        "error": f"{type(exc).__name__}: {message}",
        "config": {"paths": [str(p) for p in paths]},
    }
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_scan_record(out_dir / "leakage.json", record)
        atomic_write_text(out_dir / "summary.md", f"# Leakage scan: FAILED\n\n{record['headline']}\n")
    except (OSError, ValueError):  # ValueError: a record that does not validate (RecordValidationError)
        pass  # the error being raised says what matters
    return record


def _run_scan(
    paths: Sequence[str | Path],
    *,
    out_dir: Path,
    progress: bool,
    ngram: int,
    benchmarks: Sequence[str] | None,
    fields: Sequence[str] | None,
    runner: Engine,
    resume: bool,
    strict: bool,
    floor: int,
    max_record_bytes: int,
    shard_bytes: int,
    index: TestIndex | None,
    max_skipped: float,
    profile: bool,
    rephrased: bool,
) -> dict[str, Any]:
    t0 = time.monotonic()
    started = datetime.now(UTC)
    names = list(benchmarks) if benchmarks else list(default_scan_set())
    field_list = tuple(fields) if fields else None
    for f in field_list or ():
        parse_field(f)  # fail before any work
    files, ignored = expand_inputs(list(paths))
    index_source = "given"
    if index is None:
        index, index_source = load_cached_index(names, ngram=ngram, floor=floor)
    elif (
        sorted(index.benchmarks) != sorted(names) or index.ngram != ngram or index.floor != min(floor, ngram)
    ):
        raise ValueError("the given index was built for other benchmarks or another n")
    t_index = time.monotonic()
    options = ScanOptions(
        fields=field_list,
        max_record_bytes=max_record_bytes,
        strict=strict,
        profile=profile,
        rephrased=rephrased,
    )
    shards = plan_shards(files, shard_bytes)
    settings = {
        "index": index.fingerprint(),
        "fields": list(field_list) if field_list else None,
        "max_record_bytes": max_record_bytes,
        "piece_chars": options.piece_chars,
        "shard_bytes": shard_bytes,
        "hash_version": HASH_VERSION,
        "profile": profile,
        "rephrased": rephrased and REPHRASE_RULE_VERSION,
    }
    checkpoints = Checkpoints(out_dir, settings, resume)
    results: dict[str, ShardResult] = checkpoints.load({s.key for s in shards}) if resume else {}
    todo = [s for s in shards if s.key not in results]

    with _Progress(progress, sum(s.size for s in todo), len(todo)) as bar:

        def on_result(r: ShardResult) -> None:
            checkpoints.save(r)
            results[r.shard.key] = r
            bar.shard_done({i for i, f in r.findings.items() if f.dirty})

        t_scan = time.monotonic()
        if todo:
            runner.run(todo, index, options, on_result, bar.advance)
        t_scanned = time.monotonic()

    ordered = [results[s.key] for s in shards]
    items = merge_items(index, ordered)
    accounting = merge_accounting(ordered, files, ignored)
    counts = benchmark_counts(index, items)
    complete = completeness(accounting, max_skipped)
    rephrased_items = None
    if rephrased:
        rephrased_items = merge_rephrased(index, ordered, {i["item_id"] for i in items if i["dirty"]})
        for name, c in counts.items():
            c["rephrased"] = sum(1 for r in rephrased_items if r["benchmark"] == name)
    record: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "status": scan_status(counts, complete),
        "headline": headline(counts, accounting, complete),
        "completeness": complete,
        "benchmarks": counts,
        "items": items,
        "accounting": accounting,
        "config": {
            "paths": [str(p) for p in paths],
            "benchmarks": names,
            "ngram": index.ngram,
            "floor": index.floor,
            "fields": list(field_list) if field_list else None,
            "max_record_bytes": max_record_bytes,
            "max_skipped": max_skipped,
            "profile": profile,
            "rephrased": rephrase_config() if rephrased else False,
            "companion_gap": COMPANION_GAP,
            "dirty_rule": DIRTY_RULE.format(
                ngram=index.ngram,
                floor=index.floor,
                short_max=index.ngram - 1,
                gap=COMPANION_GAP,
                boilerplate=BOILERPLATE_ITEMS,
            ),
        },
        "index": {
            **index.summary(),
            "fingerprint": index.fingerprint(),
            "hash_version": HASH_VERSION,
            "benchmarks": index.benchmarks,
        },
        "execution": {
            "engine": runner.name,
            "workers": runner.workers,
            "core": _core(),
            "index": index_source,
            "shards": len(shards),
            "shards_resumed": len(shards) - len(todo),
            "versions": _versions(),
        },
        "timing": {
            "started_at": started.isoformat(timespec="seconds"),
            "index_seconds": round(t_index - t0, 3),
            # the engine's run: workers' start-up and the shards (a Ray cluster's start apart, below)
            "scan_seconds": round(t_scanned - t_scan, 3),
            "engine_start_seconds": round(getattr(runner, "start_seconds", 0.0), 3),
            "seconds": round(time.monotonic() - t0, 3),
            "shard_seconds": round(sum(r.timing.get("seconds", 0.0) for r in ordered), 3),
            "shard_cpu_seconds": round(sum(r.timing.get("cpu_seconds", 0.0) for r in ordered), 3),
            "words": sum(r.words for r in ordered),
        },
    }
    if profile:
        record["profile"] = _profile(ordered)
    if rephrased_items is not None:
        record["rephrased"] = rephrased_items
    write_outputs(out_dir, record, index, record_examples=RECORD_EXAMPLES)
    return record


def _profile(results: list[ShardResult]) -> dict[str, Any]:
    """The corpus profile, per file (its shards merged) and overall."""
    by_file: dict[int, tuple[str, CorpusProfile]] = {}
    for r in results:
        prof = r.profile or CorpusProfile()
        name, have = by_file.get(r.shard.file_index, (r.shard.file.name, CorpusProfile()))
        by_file[r.shard.file_index] = (name, have.merge(prof))
    return profile_record([by_file[i] for i in sorted(by_file)])


def _core() -> str:
    from harness.leakage import hashing

    return hashing.CORE


def _versions() -> dict[str, str | None]:
    """The shared package list (`records.files.package_versions`) and the scan's own readers."""
    return {**package_versions(), **{name: package_version(name) for name in SCAN_PACKAGES}}


class _Progress:
    """A rich progress bar with bytes/s on stderr (or nothing)."""

    def __init__(self, enabled: bool, total_bytes: int, shards: int) -> None:
        self.enabled = enabled
        self.total = total_bytes
        self.shards = shards
        self.done = 0
        self.dirty: set[int] = set()
        self._progress: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]scan[/]"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task("scan", total=self.total, status=self._status())
        return self

    def _status(self) -> str:
        return f"shards {self.done}/{self.shards}, dirty items so far: {len(self.dirty)}"

    def advance(self, n: int) -> None:
        if self._progress is not None and n:
            self._progress.update(self._task, advance=n)

    def shard_done(self, dirty_items: set[int]) -> None:
        self.done += 1
        self.dirty |= dirty_items
        if self._progress is not None:
            self._progress.update(self._task, status=self._status())

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

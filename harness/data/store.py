"""The import store: user-supplied copies, validated whole before anything is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.data import snapshot
from harness.data.errors import DataError
from harness.data.items import BenchmarkSet
from harness.data.registry import BENCHMARKS, get_spec
from harness.data.sources import load_benchmark
from harness.paths import data_store_dir


def import_copy(
    path: Path,
    benchmark: str,
    splits: list[str] | None = None,
    *,
    encoding: str = "utf-8",
    partial: bool = False,
) -> list[BenchmarkSet]:
    """Validate every requested split of a local copy, then store them all; nothing is half-imported.

    With `splits=None`, the evaluation split is required and the other known splits are imported
    when present in `path`.
    """
    spec = get_spec(benchmark)
    wanted = splits or [spec.eval_split]
    loaded: list[BenchmarkSet] = [
        load_benchmark(benchmark, s, path, allow_partial=partial, encoding=encoding) for s in wanted
    ]
    if splits is None and path.is_dir():
        for extra in spec.splits:
            if extra in wanted:
                continue
            try:
                loaded.append(
                    load_benchmark(benchmark, extra, path, allow_partial=partial, encoding=encoding)
                )
            except DataError as exc:
                if "no " in exc.reason and "files for split" in exc.reason:
                    continue  # that split is simply not in this copy
                raise
    root = data_store_dir()
    for bset in loaded:  # all validated: now write
        snapshot.write_split(
            root,
            benchmark,
            bset.split,
            list(bset.rows),
            source={**bset.source.to_dict(), "content_sha256": bset.content_sha256},
            complete=bset.source.complete,
            licence=spec.licence,
            note=bset.source.note,
        )
    return loaded


def status_rows() -> list[dict[str, Any]]:
    """One row per benchmark split known anywhere: where it would load from and whether it checks out."""
    out = []
    for name, spec in BENCHMARKS.items():
        for split, expected in spec.splits.items():
            row: dict[str, Any] = {"benchmark": name, "split": split, "expected": expected}
            for kind, root in (("imported", data_store_dir()), ("bundled", snapshot.BUNDLED_DIR)):
                meta = snapshot.entry(root, name, split)
                if meta is None:
                    continue
                problem = snapshot.check_file(root, meta)
                row.update(
                    source=kind,
                    items=meta["rows"],
                    complete=meta["complete"] and meta["rows"] == expected,
                    sha256=meta["sha256"],
                    checksum="ok" if problem is None else problem,
                    note=meta.get("note", ""),
                    origin=(meta.get("source") or {}).get("origin")
                    or (meta.get("source") or {}).get("location", ""),
                )
                break
            else:
                row.update(source="hub only", items=None, complete=False, sha256="", checksum="-", note="")
            out.append(row)
    return out

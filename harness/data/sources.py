"""`load_benchmark`: one function for every source of a benchmark split.

Sources, in the order `source=None` tries them:
1. the import store (`harness data import`, under `$HARNESS_HOME/data`), a copy the user vouched for;
2. the snapshot bundled in the package (works air-gapped; MMLU there is only the MMLU-Redux sample);
Explicit sources: `"hub"` (Hugging Face `datasets`, at the spec's or the given revision), `"bundled"`,
`"imported"`, or a local path (file or directory, any supported format).
The Hub is never contacted implicitly: audits must behave the same with and without network.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.data import snapshot
from harness.data.errors import DataError
from harness.data.items import BenchmarkSet, SourceInfo, build_items
from harness.data.local_copy import read_local_rows
from harness.data.registry import get_spec
from harness.data.schemas import validate_row
from harness.paths import data_store_dir


def load_benchmark(
    name: str,
    split: str | None = None,
    source: str | Path | None = None,
    *,
    allow_partial: bool | None = None,
    encoding: str = "utf-8",
    revision: str | None = None,
) -> BenchmarkSet:
    """Load one split of a benchmark. `split` defaults to the split claims are scored on.

    A copy whose item count differs from the official one raises DataError unless `allow_partial`
    (default: allowed for stored snapshots marked partial, refused for local paths and the Hub).
    """
    spec = get_spec(name)
    split = split or spec.eval_split
    if split not in spec.splits:
        raise DataError(f"{name} has no split '{split}'; splits: {', '.join(spec.splits)}")
    expected = spec.splits[split]
    if source is None:
        source = os.environ.get("HARNESS_DATA_SOURCE") or None
    if source is None:
        for kind, root in (("imported", data_store_dir()), ("bundled", snapshot.BUNDLED_DIR)):
            if snapshot.entry(root, name, split) is not None:
                return _from_snapshot(kind, root, name, split, expected)
        raise DataError(
            f"no local copy of {name}/{split}: import one with `harness data import PATH --benchmark {name}` "
            "or load it from the Hub with source='hub'"
        )
    if source in ("imported", "bundled"):
        root = data_store_dir() if source == "imported" else snapshot.BUNDLED_DIR
        return _from_snapshot(str(source), root, name, split, expected)
    if source == "hub":
        rows, info = _hub_rows(name, split, revision)
    else:
        path = Path(source).expanduser()
        rows, checksums = read_local_rows(path, name, split, encoding)
        info = SourceInfo(kind="local", location=str(path.resolve()), files=checksums)
    complete = len(rows) == expected
    if not complete and not allow_partial:
        where = ", ".join(info.files) or info.location
        raise DataError(f"expected {expected} items in {name}/{split}, found {len(rows)}", path=where)
    if not complete:
        info = SourceInfo(**{**info.__dict__, "complete": False, "note": f"{len(rows)} of {expected} items"})
    return BenchmarkSet(name, split, tuple(rows), build_items(name, split, rows), info)


def _from_snapshot(kind: str, root: Path, name: str, split: str, expected: int) -> BenchmarkSet:
    rows, meta = snapshot.read_rows(root, name, split)
    rows = [validate_row(name, r, path=root / meta["file"], line=i) for i, r in enumerate(rows, start=1)]
    info = SourceInfo(
        kind=kind,
        location=str(root / meta["file"]),
        files={meta["file"]: meta["sha256"]},
        revision=meta.get("source", {}).get("revision"),
        complete=bool(meta["complete"]) and len(rows) == expected,
        note=meta.get("note", ""),
    )
    return BenchmarkSet(name, split, tuple(rows), build_items(name, split, rows), info)


def _hub_rows(name: str, split: str, revision: str | None) -> tuple[list[dict[str, Any]], SourceInfo]:
    """Rows from the Hugging Face Hub through `datasets` (network needed)."""
    import datasets

    spec = get_spec(name)
    revision = revision or spec.hub_revision
    hub_split = spec.hub_split_names.get(split, split)
    rows: list[dict[str, Any]] = []
    for config in spec.hub_configs:
        try:
            loaded = datasets.load_dataset(spec.hub_path, config, split=hub_split, revision=revision)
        except Exception as exc:
            raise DataError(
                f"cannot load {spec.hub_path} ({config}, {hub_split}) from the Hub: {exc}"
            ) from exc
        for i, rec in enumerate(loaded, start=1):
            rows.append(validate_row(name, rec, path=f"hub:{spec.hub_path}/{config}/{hub_split}", line=i))
    resolved = revision
    try:  # record the exact commit that was read, whatever branch was asked for
        from huggingface_hub import HfApi

        resolved = HfApi().dataset_info(spec.hub_path, revision=revision).sha
    except Exception:  # metadata unreachable (offline mirror, no token): keep the revision that was asked for
        pass
    return rows, SourceInfo(kind="hub", location=f"hf://datasets/{spec.hub_path}", revision=resolved)

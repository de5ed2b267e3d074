"""Snapshots: validated Hub-schema rows stored as zstd Parquet with a checksummed manifest.

The bundled snapshot (inside the package) and the import store (`harness data import`) share this
format. Parquet+zstd keeps test items out of plain-text crawls; the manifest records each file's
sha256, row count, source and licence, and every load re-checks the checksum.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from harness.data.errors import DataError
from harness.records.files import atomic_path, sha256_file

MANIFEST = "manifest.json"
BUNDLED_DIR = Path(__file__).parent / "bundled"


def read_manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST
    if not path.exists():
        return {"sets": {}}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"corrupt manifest: {exc}", path=path) from exc


def entry(root: Path, benchmark: str, split: str) -> dict[str, Any] | None:
    return read_manifest(root)["sets"].get(f"{benchmark}/{split}")


def check_file(root: Path, meta: dict[str, Any]) -> str | None:
    """None when the file matches its manifest entry, else the problem in words."""
    path = root / meta["file"]
    if not path.exists():
        return "file missing"
    actual = sha256_file(path)
    if actual != meta["sha256"]:
        return f"sha256 mismatch (manifest {meta['sha256'][:12]}…, file {actual[:12]}…)"
    return None


def read_rows(root: Path, benchmark: str, split: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows of a stored split after checking its checksum; raises DataError when it does not match."""
    meta = entry(root, benchmark, split)
    if meta is None:
        raise DataError(f"no stored copy of {benchmark}/{split}", path=root / MANIFEST)
    problem = check_file(root, meta)
    if problem:
        raise DataError(
            f"stored copy of {benchmark}/{split} fails its check: {problem}", path=root / meta["file"]
        )
    rows = pq.read_table(root / meta["file"]).to_pylist()
    if len(rows) != meta["rows"]:
        raise DataError(f"expected {meta['rows']} rows, found {len(rows)}", path=root / meta["file"])
    return [_strip_nulls(r) for r in rows], meta


def _strip_nulls(row: dict[str, Any]) -> dict[str, Any]:
    # Parquet unifies schemas across rows; drop columns that only some rows carry (e.g. redux_row).
    return {k: v for k, v in row.items() if not (k == "redux_row" and v is None)}


def write_split(
    root: Path,
    benchmark: str,
    split: str,
    rows: list[dict[str, Any]],
    *,
    source: dict[str, Any],
    complete: bool,
    licence: str,
    note: str = "",
    stamp: bool = True,
) -> dict[str, Any]:
    """Store one split atomically: the Parquet file and its manifest entry appear together or not at all."""
    final = root / benchmark / f"{split}.parquet"
    # Both files are written in full first; the Parquet file replaces its old version, then the
    # manifest does (a crash between the two leaves a checksum mismatch that every load reports).
    with atomic_path(root / MANIFEST) as manifest_tmp:
        with atomic_path(final) as tmp:
            pq.write_table(pa.Table.from_pylist(rows), tmp, compression="zstd", compression_level=19)
            meta = {
                "file": f"{benchmark}/{split}.parquet",
                "sha256": sha256_file(tmp),
                "rows": len(rows),
                "complete": complete,
                "licence": licence,
                "source": source,
                "note": note,
            }
            if stamp:  # the bundled snapshot is built reproducibly, without a time
                meta["stored_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            manifest = read_manifest(root)
            manifest["sets"][f"{benchmark}/{split}"] = meta
            manifest_tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
            os.chmod(tmp, 0o644)
        os.chmod(manifest_tmp, 0o644)
    return meta

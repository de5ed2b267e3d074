"""Read a user's local copy of a benchmark split: one file, or a directory in any release layout."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness.data.errors import DataError
from harness.data.formats import read_hellaswag_text, to_hub_row
from harness.data.readers import TABLE_SUFFIXES, file_format, iter_records, strip_compression
from harness.data.registry import get_spec
from harness.data.schemas import validate_row
from harness.records.files import sha256_file

SPLIT_ALIASES: dict[str, tuple[str, ...]] = {
    "test": ("test",),
    "validation": ("validation", "val", "valid"),
    "dev": ("dev",),
    "train": ("train",),
}


def _tokens(path: Path, root: Path) -> set[str]:
    rel = path.relative_to(root) if path != root else Path(path.name)
    return {t for part in rel.parts for t in re.split(r"[^a-z0-9]+", strip_compression(part.lower())) if t}


def _is_table(path: Path) -> bool:
    base = strip_compression(path.name.lower())
    return path.is_file() and any(base.endswith(s) for s in TABLE_SUFFIXES)


def split_files(root: Path, benchmark: str, split: str) -> list[Path]:
    """The files under `root` that hold `split` of `benchmark`, in reading order."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise DataError("no such file or directory", path=root)
    files = sorted(p for p in root.rglob("*") if _is_table(p))
    tag = get_spec(benchmark).local_copy.file_tag
    if tag is not None:  # a folder holding several benchmarks' files (ARC's Challenge and Easy)
        tagged = [p for p in files if tag in _tokens(p, root)]
        files = tagged or files
    aliases = SPLIT_ALIASES.get(split, (split,))
    other = {a for s, al in SPLIT_ALIASES.items() if s != split for a in al}
    matching = [p for p in files if _tokens(p, root) & set(aliases)]
    if not matching:
        # A directory holding only one split's files (e.g. MMLU-Redux's per-subject CSVs).
        matching = [p for p in files if not _tokens(p, root) & other]
    if not matching:
        raise DataError(f"no {benchmark} files for split '{split}' found", path=root)
    return matching


def _is_saved_dataset(root: Path) -> bool:
    return root.is_dir() and ((root / "dataset_dict.json").exists() or (root / "state.json").exists())


def read_local_rows(
    root: Path, benchmark: str, split: str, encoding: str = "utf-8"
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Validated Hub-schema rows of one split from a local copy, and the sha256 of each file read."""
    if _is_saved_dataset(root):
        return _read_saved_dataset(root, benchmark, split)
    rows: list[dict[str, Any]] = []
    checksums: dict[str, str] = {}
    for path in split_files(root, benchmark, split):
        checksums[str(path)] = sha256_file(path)
        if file_format(path) == "txt":
            if not get_spec(benchmark).local_copy.plain_text:
                raise DataError("plain-text files are only read as HellaSwag's 6-line format", path=path)
            records = read_hellaswag_text(path)
        else:
            records = iter_records(path, encoding)
        for line, record in records:
            hub = to_hub_row(benchmark, record, path=path, line=line)
            rows.append(validate_row(benchmark, hub, path=path, line=line))
    return rows, checksums


def _read_saved_dataset(
    root: Path, benchmark: str, split: str
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    import datasets

    loaded = datasets.load_from_disk(str(root))
    if isinstance(loaded, datasets.DatasetDict):
        names = [n for n in SPLIT_ALIASES.get(split, (split,)) if n in loaded]
        if not names:
            raise DataError(f"saved dataset has splits {list(loaded)}, not '{split}'", path=root)
        loaded = loaded[names[0]]
    checksums = {str(f): sha256_file(f) for f in sorted(root.rglob("*.arrow"))}
    rows = [
        validate_row(benchmark, to_hub_row(benchmark, rec, path=root, line=i), path=root, line=i)
        for i, rec in enumerate(loaded, start=1)
    ]
    return rows, checksums

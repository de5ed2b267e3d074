"""What a scan reads: input paths expanded into files, and files cut into shards (the unit of work).

Inputs are files, directories (searched recursively for supported files) and glob patterns, in any mix.
Supported: `.jsonl`/`.ndjson`/`.json` (JSON Lines, or one JSON document), `.parquet`, `.txt`/`.text`/`.md`,
each optionally compressed as `.gz`, `.zst`/`.zstd`, `.bz2` or `.xz` (not Parquet, which compresses
inside), `.arrow` (Arrow IPC), and `datasets` `save_to_disk` folders (recognised by their `state.json` or
`dataset_dict.json`).

Shards. Uncompressed JSON Lines files are cut into byte ranges of about `shard_bytes` (a record belongs to
the range its first byte lies in), Parquet files into runs of row groups; everything else is one shard per
file. Files are sorted, so the plan, and with it every "first place found", is the same on every run.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.records.files import COMPRESSIONS  # the one table of compression suffixes

FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".txt": "txt",
    ".text": "txt",
    ".md": "txt",
    ".arrow": "arrow",
}
DEFAULT_SHARD_BYTES = 64 * 1024**2


class ScanInputError(ValueError):
    """An input path that does not exist, holds nothing scannable, or has an unsupported format."""


@dataclass(frozen=True)
class InputFile:
    path: str  # absolute
    name: str  # as reported: relative to the working directory when below it, else absolute
    format: str  # jsonl | json | txt | parquet | arrow
    compression: str | None
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Shard:
    """A piece of one file: a byte range, a run of Parquet row groups, or the whole file."""

    file: InputFile
    file_index: int  # position of the file in the sorted plan
    part: int
    parts: int
    start: int  # first byte (JSON Lines) or first row group (Parquet); 0 otherwise
    stop: int | None  # end byte / row group (exclusive); None = to the end
    size: int  # input bytes this shard covers (for progress)
    record_base: int | None = None  # record number of its first record when known up front (Parquet)

    @property
    def key(self) -> str:
        """Stable name of this shard's work, for resuming: changes if the file changes."""
        f = self.file
        ident = f"{f.path}|{f.size}|{f.mtime_ns}|{self.part}/{self.parts}|{self.start}|{self.stop}"
        return hashlib.sha256(ident.encode()).hexdigest()[:24]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Shard:
        return cls(**{**d, "file": InputFile(**d["file"])})


def describe(path: Path) -> tuple[str, str | None] | None:
    """(format, compression) of a file by its name, or None if unsupported."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    if not suffixes:
        return None
    fmt = FORMATS.get(suffixes[-1])
    if fmt is None or (compression and fmt in ("parquet", "arrow")):
        return None
    return fmt, compression


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _input_file(path: Path, fmt: str, compression: str | None) -> InputFile:
    st = path.stat()
    return InputFile(str(path), _display(path), fmt, compression, st.st_size, st.st_mtime_ns)


def _dataset_files(folder: Path) -> list[Path]:
    """The Arrow files of a `datasets` save_to_disk folder (a Dataset or a DatasetDict)."""
    if (folder / "dataset_dict.json").is_file():
        splits = json.loads((folder / "dataset_dict.json").read_text())["splits"]
        return [f for split in splits for f in _dataset_files(folder / split)]
    state = json.loads((folder / "state.json").read_text())
    return [folder / entry["filename"] for entry in state.get("_data_files", [])]


def expand_inputs(paths: list[str | os.PathLike]) -> tuple[list[InputFile], list[str]]:
    """Files to scan (sorted, each once) and files seen in directories but not supported (reported)."""
    found: dict[str, InputFile] = {}
    ignored: list[str] = []
    for raw in paths:
        text = str(raw)
        if any(c in text for c in "*?[") and not Path(text).exists():
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise ScanInputError(f"{text}: no file matches this pattern")
            candidates = [Path(m) for m in matches]
        else:
            p = Path(text).expanduser()
            if not p.exists():
                raise ScanInputError(f"{text}: no such file or directory")
            candidates = [p]
        for p in candidates:
            p = p.resolve()
            if p.is_dir():
                if (p / "state.json").is_file() or (p / "dataset_dict.json").is_file():
                    try:
                        files = _dataset_files(p)
                    except (OSError, KeyError, ValueError) as exc:
                        raise ScanInputError(f"{p}: not a readable datasets folder ({exc})") from None
                    for f in files:
                        if not f.is_file():
                            raise ScanInputError(f"{p}: datasets folder lists {f.name}, which is missing")
                        found.setdefault(str(f), _input_file(f, "arrow", None))
                    continue
                for f in sorted(q for q in p.rglob("*") if q.is_file()):
                    kind = describe(f)
                    if kind is None:
                        if f.name not in ("state.json", "dataset_info.json", "dataset_dict.json"):
                            ignored.append(_display(f))
                        continue
                    found.setdefault(str(f), _input_file(f, *kind))
            else:
                kind = describe(p)
                if kind is None:
                    raise ScanInputError(
                        f"{text}: unsupported file type (supported: .jsonl .json .parquet .txt .arrow, "
                        "optionally .gz .zst .bz2 .xz, and datasets save_to_disk folders)"
                    )
                found.setdefault(str(p), _input_file(p, *kind))
    if not found:
        raise ScanInputError(f"nothing to scan in {', '.join(map(str, paths))}")
    return [found[k] for k in sorted(found)], ignored


def plan_shards(files: list[InputFile], shard_bytes: int = DEFAULT_SHARD_BYTES) -> list[Shard]:
    """Cut files into shards (see the module docstring)."""
    shards: list[Shard] = []
    for index, f in enumerate(files):
        if f.format == "jsonl" and f.compression is None and f.size > shard_bytes:
            cuts = list(range(0, f.size, shard_bytes))
            for part, start in enumerate(cuts):
                stop = min(start + shard_bytes, f.size)
                shards.append(Shard(f, index, part, len(cuts), start, stop, stop - start))
        elif f.format == "parquet":
            shards += _parquet_shards(f, index, shard_bytes)
        else:
            shards.append(Shard(f, index, 0, 1, 0, None, f.size))
    return shards


def _parquet_shards(f: InputFile, index: int, shard_bytes: int) -> list[Shard]:
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(f.path).metadata
    except Exception:  # unreadable: one shard, whose reader reports the error with the file name
        return [Shard(f, index, 0, 1, 0, None, f.size)]
    groups: list[tuple[int, int, int, int]] = []  # (first group, stop group, bytes, first row)
    row = 0
    first, size, first_row = 0, 0, 0
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        if g > first and size + rg.total_byte_size > shard_bytes:
            groups.append((first, g, size, first_row))
            first, size, first_row = g, 0, row
        size += rg.total_byte_size
        row += rg.num_rows
    groups.append((first, meta.num_row_groups, size, first_row))
    total = sum(s for _, _, s, _ in groups) or 1
    return [
        Shard(f, index, part, len(groups), a, b, max(1, round(f.size * s / total)), record_base=r)
        for part, (a, b, s, r) in enumerate(groups)
    ]

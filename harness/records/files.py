"""File helpers every capability needs, once: checksums, atomic writes, JSON, package versions, and
the file-name tables (compression suffixes, weight files) that several readers must agree on.

JSON has no NaN or infinity: ``json_safe`` turns them into ``null`` (a reader must never meet a
non-standard token), numpy scalars into Python numbers, tuples into lists and paths into strings.
Records are written with sorted keys and two-space indentation, so equal inputs give byte-equal files.
"""

from __future__ import annotations

import hashlib
import math
import os
import platform
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path, PurePath
from typing import Any

import orjson

# The packages whose versions can change a number in any record (absent ones are recorded as null).
VERSIONED_PACKAGES: tuple[str, ...] = (
    "harness",
    "lm-eval",
    "transformers",
    "torch",
    "vllm",
    "llama-cpp-python",
    "datasets",
    "pyarrow",
    "numpy",
    "scipy",
    "statsmodels",
    "rapidfuzz",
    "numba",
    "ray",
    "jinja2",
    "matplotlib",
)


# Compressed-file suffixes every reader accepts (benchmark copies, scanned corpora), and the codec
# each names: ``.zstd`` is a common spelling of ``.zst``.
COMPRESSIONS: dict[str, str] = {".gz": "gz", ".bz2": "bz2", ".zst": "zst", ".zstd": "zst", ".xz": "xz"}

# Files whose bytes identify a model's weights (GGUF included) when it has no git revision.
WEIGHT_SUFFIXES: tuple[str, ...] = (".safetensors", ".bin", ".gguf", ".pt", ".pth")


def compression_of(name: str) -> str | None:
    """The codec a file name's suffix names (``"gz"``, ``"zst"``, ...), or None (case-insensitive)."""
    lowered = name.lower()
    return next((codec for suffix, codec in COMPRESSIONS.items() if lowered.endswith(suffix)), None)


def strip_compression(name: str) -> str:
    """``"a.jsonl.gz"`` -> ``"a.jsonl"``: the name without a compression suffix (kept as given otherwise)."""
    lowered = name.lower()
    for suffix in COMPRESSIONS:
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path | str, *, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in blocks (files may be larger than memory)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that needs a file name (pyarrow, an unpacker).

    When the block ends without an error the temporary file replaces ``path`` in one ``os.replace``
    (same folder, so same file system: atomic), so a reader sees the old file or the new one, never
    half of one; on an error it is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, never half of one.

    The bytes are flushed to disk before the rename (``atomic_path``).
    """
    path = Path(path)
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return path


def atomic_write_text(path: Path | str, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def json_safe(value: Any, default: Callable[[Any], Any] | None = None) -> Any:
    """``value`` as plain JSON data: NaN/inf to None, numpy scalars and arrays to Python, paths to str.

    Anything else is a TypeError, unless ``default`` turns it into JSON data (e.g. a readable string
    for the functions inside lm-eval's task configs).
    """
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, default) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [json_safe(v, default) for v in items]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, PurePath):
        return str(value)
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return json_safe(tolist(), default)
    model_dump = getattr(value, "model_dump", None)  # pydantic models
    if callable(model_dump):
        return json_safe(model_dump(mode="json", by_alias=True), default)
    if default is not None:
        return json_safe(default(value))
    raise TypeError(f"cannot write {type(value).__name__} to JSON: {value!r}")


def dumps_json(value: Any) -> bytes:
    """Canonical JSON bytes of a record: sorted keys, two-space indent, trailing newline."""
    return orjson.dumps(json_safe(value), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write_json(path: Path | str, value: Any) -> Path:
    """``dumps_json`` written atomically."""
    return atomic_write_bytes(path, dumps_json(value))


def read_json(path: Path | str) -> Any:
    """Parse a JSON file; errors name the file (and orjson's position)."""
    path = Path(path)
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: file not found") from None
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None


def package_version(name: str) -> str | None:
    """The installed version of one distribution (None: not installed)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def package_versions() -> dict[str, str | None]:
    """Python's version and those of ``VERSIONED_PACKAGES`` (None: not installed)."""
    return {
        "python": platform.python_version(),
        **{name: package_version(name) for name in VERSIONED_PACKAGES},
    }

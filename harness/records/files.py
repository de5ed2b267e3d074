"""File helpers every record writer needs, once: checksums, atomic writes, JSON, package versions.

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
from collections.abc import Mapping
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


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path | str, *, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in blocks (files may be larger than memory)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, never half of one.

    The bytes go to a temporary file in the same folder (same file system, so the rename is atomic),
    are flushed to disk, and replace ``path`` in one ``os.replace``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with _suppress_oserror():
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: Path | str, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


class _suppress_oserror:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        return exc_type is not None and issubclass(exc_type, OSError)


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data: NaN/inf to None, numpy scalars and arrays to Python, paths to str."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [json_safe(v) for v in items]
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
        return json_safe(tolist())
    model_dump = getattr(value, "model_dump", None)  # pydantic models
    if callable(model_dump):
        return json_safe(model_dump(mode="json", by_alias=True))
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


def package_versions() -> dict[str, str | None]:
    """Python's version and those of ``VERSIONED_PACKAGES`` (None: not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out

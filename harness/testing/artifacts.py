"""A content-addressed build cache for zoo artefacts (model directories, GGUF files), with provenance.

An artefact is named by its recipe: a kind, JSON parameters, the sha256 of its inputs and a format
version. The directory ``$HARNESS_HOME/zoo/<kind>-<key>`` (key: 16 hex digits of the recipe's canonical
JSON digest) is built once in a temporary sibling and renamed into place under a file lock, so a crash
or a parallel build never leaves a half-written artefact that looks complete. ``zoo_provenance.json``
records the recipe, every output file's sha256 and size, the package versions and how long the build
took (the only wall-clock fact, under ``timing``). The same recipe always names the same directory;
a changed input digest (other reference weights) names a new one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from harness.paths import harness_home
from harness.records.files import dumps_json, package_versions, sha256_bytes, sha256_file, write_json

PROVENANCE = "zoo_provenance.json"
RECIPE_FORMAT = 1


def zoo_dir() -> Path:
    """Where zoo artefacts are cached (``$HARNESS_ZOO_DIR``, else ``$HARNESS_HOME/zoo``)."""
    return Path(os.environ.get("HARNESS_ZOO_DIR") or harness_home() / "zoo")


def tools_dir() -> Path:
    """Where fetched tools (llama.cpp's converter) are cached: ``$HARNESS_HOME/tools``, apart from the
    zoo so that a test with its own zoo directory does not fetch them again."""
    return harness_home() / "tools"


@dataclass(frozen=True)
class Recipe:
    """How an artefact is made: ``kind`` (e.g. ``finetune``), JSON-safe ``params``, input digests.

    ``inputs`` maps a role (``"source_weights"``) to the sha256 that identifies the input, so a recipe
    applied to other weights is another artefact.
    """

    kind: str
    params: dict[str, Any]
    inputs: dict[str, str] = field(default_factory=dict)
    version: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "params": self.params,
            "inputs": self.inputs,
            "version": self.version,
            "recipe_format": RECIPE_FORMAT,
        }

    @property
    def key(self) -> str:
        return sha256_bytes(dumps_json(self.to_dict()))[:16]

    @property
    def dirname(self) -> str:
        return f"{self.kind}-{self.key}"


@dataclass(frozen=True)
class Artifact:
    """A built artefact: its directory and provenance record."""

    path: Path
    provenance: dict[str, Any]

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        return self.provenance["files"]

    @property
    def size_bytes(self) -> int:
        return sum(int(f["bytes"]) for f in self.files.values())

    @property
    def build_seconds(self) -> float:
        return float(self.provenance.get("timing", {}).get("build_seconds", 0.0))

    def file(self, suffix: str) -> Path:
        """The one output file whose name ends with ``suffix`` (e.g. ``.gguf``)."""
        hits = [name for name in self.files if name.endswith(suffix)]
        if len(hits) != 1:
            raise FileNotFoundError(f"{self.path}: expected one *{suffix} file, found {hits}")
        return self.path / hits[0]


def _lock(target: Path):
    from filelock import FileLock  # a dependency of huggingface_hub/transformers

    target.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(target) + ".lock")


def file_digests(directory: Path) -> dict[str, dict[str, Any]]:
    """sha256 and size of every file under ``directory`` (relative POSIX names, sorted)."""
    out = {}
    for p in sorted(directory.rglob("*")):
        if p.is_file() and p.name != PROVENANCE:
            out[p.relative_to(directory).as_posix()] = {"sha256": sha256_file(p), "bytes": p.stat().st_size}
    return out


def load_artifact(path: Path) -> Artifact | None:
    """The artefact at ``path`` if it is complete (its provenance file exists), else None."""
    prov = path / PROVENANCE
    if not prov.is_file():
        return None
    return Artifact(path=path, provenance=json.loads(prov.read_text()))


def build_cached(
    recipe: Recipe,
    build: Callable[[Path], dict[str, Any] | None],
    *,
    root: Path | None = None,
) -> Artifact:
    """Return the artefact for ``recipe``, calling ``build(tmp_dir)`` once if it is not cached yet.

    ``build`` writes its outputs into the empty directory it is given and may return extra facts for
    the provenance record (training losses, measured weight error). Those must be deterministic: they
    are part of what a rebuild must reproduce.
    """
    root = Path(root) if root is not None else zoo_dir()
    final = root / recipe.dirname
    done = load_artifact(final)
    if done is not None:
        return done
    with _lock(final):
        done = load_artifact(final)
        if done is not None:
            return done
        final.parent.mkdir(parents=True, exist_ok=True)
        # Holding the lock, any temp dir of this recipe is a build that was killed (SIGKILL, power loss).
        for stale in final.parent.glob(f".building-{recipe.dirname}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".building-{recipe.dirname}-", dir=final.parent))
        try:
            started = time.monotonic()
            facts = build(tmp) or {}
            seconds = round(time.monotonic() - started, 2)
            record = {
                "schema": "harness.testing.artifact",
                "name": recipe.dirname,
                "recipe": recipe.to_dict(),
                "facts": facts,
                "files": file_digests(tmp),
                "versions": package_versions(),
                "timing": {"build_seconds": seconds},
            }
            write_json(tmp / PROVENANCE, record)
            if final.exists():  # left without a provenance file: an incomplete earlier build
                shutil.rmtree(final)
            tmp.rename(final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    loaded = load_artifact(final)
    assert loaded is not None
    return loaded


@cache
def _weights_digest_cached(path: str, state: tuple) -> str:
    p = Path(path)
    files = sorted(x for x in p.iterdir() if x.suffix in (".safetensors", ".bin", ".gguf"))
    if not files:
        raise FileNotFoundError(f"{p}: no weight files (.safetensors, .bin, .gguf)")
    return sha256_bytes("".join(f"{f.name}:{sha256_file(f)}\n" for f in files).encode())


def weights_digest(path: Path) -> str:
    """One sha256 over a model directory's weight files (or one file), cached per file state."""
    path = Path(path).resolve()
    if path.is_file():
        st = path.stat()
        return _file_digest_cached(str(path), (st.st_size, st.st_mtime_ns))
    state = tuple(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in path.iterdir()))
    return _weights_digest_cached(str(path), state)


@cache
def _file_digest_cached(path: str, state: tuple) -> str:
    return sha256_file(Path(path))

"""Resumable scans: each finished shard's result is written to `OUT/shards/<key>.json` as it completes
(written to a temporary name and renamed, so a kill never leaves half a file). `--resume` reads them back
and scans only the shards without one. A shard's key changes when its file changes (size, mtime), and the
folder's manifest records the settings that shape results, so a resume never mixes two different scans.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson

from harness.leakage.core import ShardResult
from harness.records.files import atomic_write_bytes

MANIFEST = "manifest.json"


class ResumeError(ValueError):
    """--resume into a folder written by a scan with other settings."""


class Checkpoints:
    def __init__(self, out_dir: Path, settings: dict[str, Any], resume: bool) -> None:
        self.dir = Path(out_dir) / "shards"
        self.settings = settings
        manifest = self.dir / MANIFEST
        if resume and manifest.is_file():
            old = orjson.loads(manifest.read_bytes())
            if old != settings:
                changed = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
                raise ResumeError(
                    f"--resume: {self.dir} was written by a scan with other settings ({', '.join(changed)}); "
                    "use another --out, or scan again without --resume"
                )
        elif self.dir.exists():
            shutil.rmtree(self.dir)  # a fresh scan into a used folder starts from nothing
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(
            manifest, orjson.dumps(settings, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        )

    def load(self, keys: set[str]) -> dict[str, ShardResult]:
        """Finished shard results among `keys` (unreadable leftovers are ignored and redone)."""
        out = {}
        for key in keys:
            path = self.dir / f"{key}.json"
            if path.is_file():
                try:
                    out[key] = ShardResult.from_dict(orjson.loads(path.read_bytes()))
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    continue
        return out

    def save(self, result: ShardResult) -> None:
        atomic_write_bytes(self.dir / f"{result.shard.key}.json", orjson.dumps(result.to_dict()))

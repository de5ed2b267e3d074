"""The zoo's build cache: recipes name artefacts, builds happen once, provenance is complete and honest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.records.files import sha256_file
from harness.testing.artifacts import PROVENANCE, Recipe, build_cached, load_artifact


def test_recipe_key_is_stable_and_changes_with_params_and_inputs() -> None:
    a = Recipe("finetune", {"lr": 1e-4, "steps": 3}, inputs={"source_weights": "ab"})
    assert a.key == Recipe("finetune", {"steps": 3, "lr": 1e-4}, inputs={"source_weights": "ab"}).key
    assert a.key != Recipe("finetune", {"lr": 1e-4, "steps": 4}, inputs={"source_weights": "ab"}).key
    assert a.key != Recipe("finetune", {"lr": 1e-4, "steps": 3}, inputs={"source_weights": "cd"}).key
    assert (
        a.key != Recipe("finetune", {"lr": 1e-4, "steps": 3}, inputs={"source_weights": "ab"}, version=2).key
    )
    assert a.dirname.startswith("finetune-") and len(a.key) == 16


def test_build_once_with_provenance(tmp_path: Path) -> None:
    calls = []

    def build(out: Path) -> dict:
        calls.append(out)
        (out / "weights.bin").write_bytes(b"\x01" * 100)
        (out / "sub").mkdir()
        (out / "sub" / "x.txt").write_text("x")
        return {"loss": 1.5}

    recipe = Recipe("demo", {"n": 1})
    art = build_cached(recipe, build, root=tmp_path)
    again = build_cached(recipe, build, root=tmp_path)
    assert len(calls) == 1 and again.path == art.path == tmp_path / recipe.dirname
    prov = json.loads((art.path / PROVENANCE).read_text())
    assert prov["recipe"]["params"] == {"n": 1} and prov["facts"] == {"loss": 1.5}
    assert prov["files"]["weights.bin"] == {"sha256": sha256_file(art.path / "weights.bin"), "bytes": 100}
    assert set(prov["files"]) == {"weights.bin", "sub/x.txt"}
    assert art.size_bytes == 101 and art.build_seconds >= 0 and "versions" in prov
    assert art.file(".bin") == art.path / "weights.bin"
    with pytest.raises(FileNotFoundError):
        art.file(".gguf")


def test_failed_build_leaves_nothing_and_is_retried(tmp_path: Path) -> None:
    recipe = Recipe("demo", {"n": 2})

    def broken(out: Path) -> None:
        (out / "half.bin").write_bytes(b"x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        build_cached(recipe, broken, root=tmp_path)
    assert load_artifact(tmp_path / recipe.dirname) is None
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".building")]
    # A killed build's temp dir is removed by the next build of the same recipe.
    (tmp_path / f".building-{recipe.dirname}-x1").mkdir()
    # A directory without provenance (a crash between writes) is rebuilt, not trusted.
    (tmp_path / recipe.dirname).mkdir()
    (tmp_path / recipe.dirname / "stale.bin").write_bytes(b"old")
    art = build_cached(recipe, lambda out: (out / "ok.bin").write_bytes(b"new") and None, root=tmp_path)
    assert set(art.files) == {"ok.bin"}
    assert not list(tmp_path.glob(".building-*"))

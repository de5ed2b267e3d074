"""`harness fingerprint` maps verdicts to the shared exit-code table (0 match, 1 mismatch, 3 inconclusive,
2 error), on a real (tiny) server."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from harness.cli import app

pytestmark = pytest.mark.slow


def _invoke(tmp_path, endpoint, reference, *extra):
    return CliRunner().invoke(
        app,
        ["fingerprint", "--endpoint", endpoint, "--model", "smollm2", "--reference", str(reference),
         "--out", str(tmp_path), "--no-progress", "--budget", "120", *extra],
    )  # fmt: skip


def test_match_exits_0_and_tokenizer_only_inconclusive_exits_3(tmp_path, tiny_server, tiny_dir):
    res = _invoke(tmp_path / "m", tiny_server.base_url, tiny_dir)
    rec = json.loads((tmp_path / "m" / "fingerprint.json").read_text())
    assert res.exit_code == 0 and rec["verdict"] == "match", res.output
    tok_only = tmp_path / "tok"
    tok_only.mkdir()
    for f in tiny_dir.iterdir():
        if f.name.startswith(("tokenizer", "special_tokens", "chat_template")):
            shutil.copy2(f, tok_only / f.name)
    res = _invoke(tmp_path / "i", tiny_server.base_url, tok_only)
    assert res.exit_code == 3, res.output
    bad = _invoke(tmp_path / "b", tiny_server.base_url, tiny_dir, "--tolerance", "3bit")
    assert bad.exit_code == 2

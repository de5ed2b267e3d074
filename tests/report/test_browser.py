"""The HTML report in a real browser (Debian's headless Chromium): injected script never runs, the page
loads nothing from the network, and it draws the verdict and both plots."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.audit import load_audit, run_audit

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=3000",  # let any (injected) script run before the DOM is dumped
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)"),
]


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def _png_size_and_colours(path: Path) -> tuple[int, int, int]:
    """Width, height and the number of distinct colours of a screenshot (Pillow comes with matplotlib)."""
    from PIL import Image

    with Image.open(path) as img:
        rgb = img.convert("RGB")
        return rgb.width, rgb.height, len(rgb.getcolors(maxcolors=1 << 24) or [])


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.audit.conftest import FULL_AUDIT, Recorder

    d = tmp_path_factory.mktemp("audits")
    (d / "corpus.jsonl").write_text('{"text": "hello"}\n', encoding="utf-8")
    (d / "full.toml").write_text(FULL_AUDIT, encoding="utf-8")
    _, run_dir = run_audit(
        load_audit(d / "full.toml"),
        out_root=d / "reports",
        runners=Recorder(verdict="mismatch").runners(),
        progress=False,
    )
    return run_dir / "report.html"


def test_injected_script_does_not_run(report_page: Path, tmp_path: Path, recorded: Any) -> None:
    dom = _chromium(["--dump-dom", report_page.as_uri()], tmp_path / "profile").stdout
    assert "<title>Audit: unit</title>" in dom  # an injected script would have renamed the page to PWNED
    assert "PWNED</title>" not in dom
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom  # shown as text instead
    assert 'id="verdict"' in dom and "FLAGGED" in dom


def test_screenshot_shows_a_drawn_page(report_page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    _chromium(
        [f"--screenshot={shot}", "--window-size=1200,2000", "--hide-scrollbars", report_page.as_uri()],
        tmp_path / "profile",
    )
    width, height, colours = _png_size_and_colours(shot)
    assert (width, height) == (1200, 2000)
    assert colours > 50  # anti-aliased text, the red verdict banner and the plots; a blank page has 1

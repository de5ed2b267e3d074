"""The scan's corpus profile in the report: a histogram of the compression ratio, drawn from the record alone."""

from __future__ import annotations

import base64

from harness.leakage.profile import CorpusProfile, profile_record
from harness.report.plots import corpus_profile_figure
from harness.report.render import render_html


def profile() -> dict:
    prof = CorpusProfile()
    for i in range(400):
        prof.add(("lorem ipsum " * (1 + i % 9)) + str(i) + " dolor sit amet " * (i % 5))
    return profile_record([("a.jsonl", prof)])


def test_histogram_of_the_compression_ratio() -> None:
    svg = corpus_profile_figure(profile())
    assert svg is not None and svg.startswith("<?xml") and "<svg" in svg and svg.count("<path") > 20
    assert corpus_profile_figure(None) is None and corpus_profile_figure({"overall": {}}) is None
    assert corpus_profile_figure(profile()) == svg  # deterministic


def test_report_shows_it_only_when_the_scan_profiled() -> None:
    scan = {"status": "clean", "headline": "No test item was found.", "benchmarks": {}, "items": []}
    audit = {"name": "x", "status": "clean", "headline": "ok", "sections": {"scan": scan}, "timing": {}}
    assert 'id="corpus-profile"' not in render_html(audit)
    audit["sections"]["scan"] = {
        **scan,
        "benchmarks": {"gsm8k": {"items": 10, "dirty": 0}},
        "profile": profile(),
    }
    html = render_html(audit)
    assert 'id="corpus-profile"' in html
    uri = (
        html.split('id="corpus-profile"', 1)[1]
        .split('src="data:image/svg+xml;base64,', 1)[1]
        .split('"', 1)[0]
    )
    assert base64.b64decode(uri).decode() == corpus_profile_figure(profile())

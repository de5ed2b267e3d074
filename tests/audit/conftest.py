"""Fixtures for the audit tests: an audit folder, recorded section dicts and recorded section runners.

The recorded dicts are shaped as the capabilities write them (the contracts and issues 3-5). The untrusted
strings (a corpus excerpt, a model answer) carry a script that would rename the page if it ever ran.
"""

from __future__ import annotations

import contextlib
import copy
import json
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.audit import SectionRunners

INJECTED = "<script>document.title='PWNED'</script><img src=x onerror=\"document.title='PWNED'\">"
VERSIONS = {"harness": "0.1.0", "lm_eval": "0.4.13", "transformers": "5.0.0", "torch": "2.13.0"}


def scan_record(dirty: bool = True) -> dict[str, Any]:
    items = [
        {
            "item_id": "gsm8k/test/3",
            "benchmark": "gsm8k",
            "dirty": True,
            "overlap": 1.0,
            "longest_match": 41,
            "where": {"file": "corpus.jsonl.zst", "record": 17, "offset": 230},
            "excerpt": "Question: A robe takes 2 bolts of blue fiber and half that much white fiber. "
            + INJECTED,
        },
        {
            "item_id": "arc_easy/test/Mercury_7029645",
            "benchmark": "arc_easy",
            "dirty": True,
            "overlap": 0.62,
            "longest_match": 14,
            "where": {"file": "corpus.jsonl.zst", "record": 40, "offset": 0},
            "excerpt": "Which of these is a mammal? A) shark B) whale C) trout D) eel",
        },
    ]
    rec = {
        "status": "flagged" if dirty else "clean",
        "headline": "2 of 3491 test items were found in the training data."
        if dirty
        else "No test item found.",
        "versions": VERSIONS,
        "benchmarks": {
            "gsm8k": {"items": 1319, "dirty": 1 if dirty else 0},
            "arc_easy": {"items": 2376, "dirty": 1 if dirty else 0},
        },
        "items": items if dirty else [],
        "accounting": {
            "files": 1,
            "bytes_read": 123456,
            "records_read": 300,
            "records_skipped": 0,
            "skipped_reasons": {},
        },
        "config": {"ngram": 13},
    }
    return copy.deepcopy(rec)


def verify_record(target: str = "weights", failing: bool = True) -> dict[str, Any]:
    gsm = {
        "claim": {
            "value": 99.2,
            "metric": "exact_match",
            "filter": "strict-match",
            "n_shot": 5,
            "chain_of_thought": False,
            "chat_template": False,
            "source": "deliberately inflated demo claim " + INJECTED,
        },
        "measurement": {
            "score": 0.05,
            "n": 20,
            "se": 0.0487,
            "ci_low": 0.0089,
            "ci_high": 0.2361,
            "se_method": "binomial",
            "n_clusters": None,
            "confidence": 0.95,
        },
        "claim_test": {
            "claimed": 0.992,
            "difference": -0.942,
            "p_value": 1e-12,
            "minimum_detectable_gap": 0.14,
        },
        "ceiling": {"benchmark": "gsm8k", "value": 0.95, "citation": "GSM8K-Platinum (Vendrow et al. 2025)"},
        "verdict": {
            "label": "implausible" if failing else "reproduced",
            "reasons": ["99.2% exceeds the 95.0% that GSM8K's known label errors allow."],
        },
        "clean_vs_dirty": {
            "clean": {"score": 0.0526, "n": 19},
            "dirty": {"score": 0.0, "n": 1},
            "difference": 0.0526,
            "p_value": 0.81,
        },
    }
    arc = {
        "claim": {"value": 40.0, "metric": "acc", "n_shot": 0, "source": "demo claim"},
        "measurement": {"score": 0.45, "n": 20, "se": 0.111, "ci_low": 0.2582, "ci_high": 0.6579},
        "claim_test": {"claimed": 0.40, "difference": 0.05, "p_value": 0.65},
        "ceiling": None,
        "verdict": {"label": "reproduced", "reasons": ["within the 95% interval"]},
    }
    rec = {
        "status": "flagged" if failing else "clean",
        "headline": (
            "1 of 2 claims fails: gsm8k 99.2% is implausible." if failing else "Both claims are reproduced."
        ),
        "versions": VERSIONS,
        "model": {"path": "smollm2" if target == "weights" else "smollm2-endpoint", "backend": "hf"},
        "benchmarks": {"gsm8k": gsm, "arc_easy": arc},
        "timing": {"seconds": 12.5, "started_at": "2026-11-25T18:00:00+00:00"},
    }
    return copy.deepcopy(rec)


def fingerprint_record(verdict: str = "match") -> dict[str, Any]:
    rec = {
        "status": "flagged" if verdict == "mismatch" else "clean",
        "headline": f"The endpoint {'serves' if verdict == 'match' else 'does not serve'} the reference weights.",
        "versions": VERSIONS,
        "verdict": verdict,
        "confidence": 0.99,
        "evidence": [
            {
                "name": "token_count_probe",
                "measured": "prompt_tokens differences on 12 strings",
                "statistic": "12/12 equal",
                "supports": verdict,
                "strength": 0.999,
                "requests": 12,
                "tokens": 480,
            },
            {
                "name": "proxy_tells_probe",
                "measured": "model answer: " + INJECTED,
                "statistic": "0 deletions",
                "supports": "neutral",
                "strength": 0.5,
                "requests": 6,
                "tokens": 300,
            },
        ],
        "cost": {"requests": 18, "prompt_tokens": 700, "completion_tokens": 80, "seconds": 3.2},
    }
    return copy.deepcopy(rec)


recorded = types.SimpleNamespace(
    INJECTED=INJECTED,
    scan_record=scan_record,
    verify_record=verify_record,
    fingerprint_record=fingerprint_record,
)


@pytest.fixture(name="recorded")
def recorded_fixture() -> types.SimpleNamespace:
    """Builders of recorded section dicts (scan_record, verify_record, fingerprint_record) and INJECTED."""
    return recorded


FULL_AUDIT = """
[audit]
name = "unit"
description = "all sections, recorded"

[model]
path = "smollm2"
backend = "hf"

[endpoint]
serve = "smollm2"
model = "smollm2-served"

[claims.gsm8k]
value = 99.2
metric = "exact_match"
source = "demo"

[verify]
benchmarks = ["gsm8k", "arc_easy"]
limit = 20

[verify.endpoint]
benchmarks = ["arc_easy"]
limit = 10

[fingerprint]
reference = "smollm2"
budget = 50

[scan]
paths = ["corpus.jsonl"]
benchmarks = ["gsm8k", "arc_easy"]
"""


@pytest.fixture
def audit_dir(tmp_path: Path) -> Path:
    d = tmp_path / "audits"
    d.mkdir()
    (d / "corpus.jsonl").write_text('{"text": "hello world"}\n', encoding="utf-8")
    (d / "full.toml").write_text(FULL_AUDIT, encoding="utf-8")
    return d


class Recorder:
    """Recorded section runners: log every call, return the recorded dicts, write the files they name."""

    def __init__(
        self,
        *,
        verdict: str = "match",
        failing: bool = True,
        dirty: bool = True,
        raise_in: str | None = None,
        serve_fails: bool = False,
    ) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.verdict, self.failing, self.dirty = verdict, failing, dirty
        self.raise_in, self.serve_fails = raise_in, serve_fails
        self.served = 0

    def runners(self) -> SectionRunners:
        return SectionRunners(
            scan=self.scan, verify=self.verify, fingerprint=self.fingerprint, serve=self.serve
        )

    def scan(self, paths: list[str], **kw: Any) -> dict:
        self.calls.append(("scan", {"paths": paths, **kw}))
        if self.raise_in == "scan":
            raise RuntimeError("corpus unreadable")
        rec = recorded.scan_record(dirty=self.dirty)
        rec["config"]["out_dir"] = str(kw["out_dir"])
        (Path(kw["out_dir"]) / "leakage.json").write_text(json.dumps(rec), encoding="utf-8")
        return rec

    def verify(self, **kw: Any) -> dict:
        self.calls.append(("verify", kw))
        if self.raise_in == "verify":
            raise ValueError("lm-eval exploded")
        target = "endpoint" if kw.get("base_url") else "weights"
        rec = recorded.verify_record(target, failing=self.failing)
        rec["model"]["base_url"] = kw.get("base_url")
        return rec

    def fingerprint(self, **kw: Any) -> dict:
        self.calls.append(("fingerprint", kw))
        if self.raise_in == "fingerprint":
            raise ConnectionError("endpoint returned HTML")
        rec = recorded.fingerprint_record(self.verdict)
        rec["endpoint"] = kw["endpoint"]
        return rec

    @contextlib.contextmanager
    def serve(self, name: str, served_model_name: str) -> Iterator[str]:
        self.calls.append(("serve", {"name": name, "served_model_name": served_model_name}))
        if self.serve_fails:
            raise RuntimeError("server died: port in use")
        self.served += 1
        # A different port each time, as a real free-port pick would give.
        yield f"http://127.0.0.1:{41000 + self.served}/v1"
        self.calls.append(("serve-stopped", {}))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_recorder() -> type[Recorder]:
    """The Recorder class, for tests that need several or non-default ones."""
    return Recorder

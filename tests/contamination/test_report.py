from harness.contamination.report import render_markdown

INJECTED = "<script>alert(1)</script>|`"


def test_markdown_escapes_untrusted_text_and_renders_gaps():
    record = {
        "status": "flagged",
        "headline": "gsm8k: contaminated.",
        "model": {"name": "m" + INJECTED, "backend": "hf"},
        "settings": {"seed": 1, "twins_per_item": 2, "alpha": 0.01, "tests": ["likelihood"]},
        "benchmarks": {
            "gsm8k": {
                "verdict": "contaminated",
                "calibration": "reference",
                "sample": {"tested": 12},
                "scores": {"original": 0.5, "twins": 0.1, "drop": 0.4, "drop_ci": [0.2, 0.6]},
                "inflation": {"points": 35.0, "ci_points": [10.0, 50.0]},
                "p_value": 0.0001,
                "verdict_detail": {"reasons": ["found " + INJECTED]},
                "twins": {"with_twins": 800, "considered": 1319, "left_out_by_reason": {"x": 519}},
                "items": [{"item_id": "gsm8k/test/1" + INJECTED, "score": 3.0}],
                "examples": [{"item_id": "gsm8k/test/1", "original_text": "``` text " + INJECTED}],
            },
            "mmlu": {"verdict": "no evidence"},
        },
    }
    md = render_markdown(record)
    assert "<script>" not in md.split("````")[0]  # escaped outside the fenced example
    assert "contaminated" in md and "35.0" in md and "mmlu" in md
    assert "````text" in md  # the fence is longer than any backtick run in the text
    assert render_markdown(record) == md

"""What the contamination run knows about each benchmark comes from its spec ([contamination] in
harness/data/benchmarks/*.toml), validated by BenchmarkSpec: a twin kind that does not fit the benchmark,
or a control split that is the scored split, is refused when the spec is read."""

from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

from harness.contamination.twins import item_text, question_text
from harness.data.registry import SPEC_DIR, BenchmarkSpec, benchmark_names, get_spec


def test_every_benchmark_says_how_it_is_twinned():
    kinds = {name: get_spec(name).contamination for name in benchmark_names()}
    assert kinds["gsm8k"].twins == "reinstantiate" and kinds["gsm8k"].control_split == "train"
    assert kinds["gsm8k"].question_changes and not kinds["mmlu"].question_changes
    assert {n for n, c in kinds.items() if c.order_invariant_scoring} == {
        "arc_easy",
        "arc_challenge",
        "hellaswag",
    }
    assert all(c.twins == "reorder" for n, c in kinds.items() if get_spec(n).kind == "multiple_choice")


def _spec(name: str, **contamination) -> dict:
    data = tomllib.loads((SPEC_DIR / f"{name}.toml").read_text())
    data["contamination"] = {**data["contamination"], **contamination}
    return data


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("gsm8k", {"twins": "reorder"}, "does not fit a math benchmark"),
        ("mmlu", {"twins": "reinstantiate"}, "does not fit a multiple_choice benchmark"),
        ("gsm8k", {"control_split": "test"}, "must be a split other than 'test'"),
        ("gsm8k", {"control_split": "dev"}, "must be a split other than"),
        ("mmlu", {"twins": "shuffle"}, "contamination.twins"),
    ],
)
def test_a_spec_that_does_not_fit_is_refused(name, change, message):
    BenchmarkSpec.model_validate(_spec(name))  # the shipped one is valid
    with pytest.raises(ValidationError, match=message):
        BenchmarkSpec.model_validate(_spec(name, **change))


def test_texts_follow_the_spec_fields():
    hs = {
        "activity_label": "Baking",
        "ctx": "She mixes the flour",
        "endings": ["a", "b", "c", "d"],
        "label": "1",
    }
    assert question_text("hellaswag", hs) == "Baking: She mixes the flour"
    assert item_text("hellaswag", hs).startswith("Baking: She mixes the flour")
    gsm = {"question": "How many?", "answer": "2\n#### 2"}
    assert question_text("gsm8k", gsm) == "How many?"
    assert item_text("gsm8k", gsm) == "Question: How many?\nAnswer: 2\n#### 2"

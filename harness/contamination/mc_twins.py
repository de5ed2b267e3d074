"""Multiple-choice twins: the same question with its options reordered and relettered; the key follows.

A model that memorised an item's published form ("... D. 42  Answer: D") may keep answering the old
letter, or find the published order more likely than any other (Oren et al. 2023 test the published
order of a test set's examples in the same way). A twin reorders the options with a seeded random
permutation (never the identity, distinct across twins) and moves the answer key with its option.

Reordering is only a fair twin when the published order carries no meaning. Items whose options refer
to each other ("All of the above", "Both A and B") are left out, because moving them changes the
question; items whose options are in a natural order (ascending numbers, the "True, True / False,
False" pattern of MMLU's statement questions) are left out too, because a clean model also prefers a
natural order, which would make the order test accuse it.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from harness.contamination.gsm8k_twins import TwinError

LETTERS = "ABCDEFGHIJ"
_REFERS = re.compile(
    r"\b(all|none|both|neither|either)\b.*\b(above|below|these|of them|answers?|options?|choices?)\b|"
    r"\b(?:only\s+)?[A-D]\s*(?:,|and|&|or)\s*(?:[A-D]\b)|\ball of the\b|\bnone of the\b",
    re.IGNORECASE,
)
_NUMERIC = re.compile(r"^\s*[-$]?\s*\d[\d,]*(?:\.\d+)?\s*%?\s*[A-Za-z/²³°]*\.?\s*$")


def _schema(benchmark: str) -> str:
    """The Hub schema family of a multiple-choice benchmark (its spec, harness/data/benchmarks)."""
    from harness.data.registry import get_spec

    spec = get_spec(benchmark)
    if spec.contamination.twins != "reorder":
        raise KeyError(f"{benchmark} is not a multiple-choice benchmark")
    return spec.schema_


def options_of(benchmark: str, row: dict[str, Any]) -> tuple[list[str], int]:
    """The options of a Hub-schema row, in published order, and the index of the correct one."""
    schema = _schema(benchmark)
    if schema == "arc":
        labels = list(row["choices"]["label"])
        return list(row["choices"]["text"]), labels.index(row["answerKey"])
    options_field, answer_field, _ = _FIELDS[schema]
    return list(row[options_field]), int(row[answer_field])


# Hub schema -> (options field, answer-index field, the type the Hub gives that index: MMLU an int,
# HellaSwag a string); ARC's labelled choices are handled apart.
_FIELDS: dict[str, tuple[str, str, type]] = {
    "mmlu": ("choices", "answer", int),
    "hellaswag": ("endings", "label", str),
}


def with_order(benchmark: str, row: dict[str, Any], order: list[int]) -> dict[str, Any]:
    """The row with its options in ``order`` (``order[i]`` is the published index shown at position i)."""
    options, gold = options_of(benchmark, row)
    moved = [options[i] for i in order]
    new_gold = order.index(gold)
    out = dict(row)
    schema = _schema(benchmark)
    if schema == "arc":
        labels = list(row["choices"]["label"])  # positions keep their labels: "A".."D" or "1".."4"
        out["choices"] = {"text": moved, "label": labels}
        out["answerKey"] = labels[new_gold]
        return out
    options_field, answer_field, index_type = _FIELDS[schema]
    out[options_field] = moved
    out[answer_field] = index_type(new_gold)
    return out


def order_problem(options: list[str]) -> str | None:
    """Why reordering these options would not make a fair twin (None: it would)."""
    if len(options) < 2:
        return "fewer than two options"
    if len(set(options)) < len(options):
        return "repeated options"
    if any(_REFERS.search(o) for o in options):
        return "an option refers to the others"
    if all(_NUMERIC.match(o) for o in options):
        values = []
        for o in options:
            digits = re.search(r"-?\d[\d,]*(?:\.\d+)?", o)
            values.append(float(digits.group(0).replace(",", "")) if digits else 0.0)
        if values == sorted(values) or values == sorted(values, reverse=True):
            return "options in numeric order"
    lowered = [o.strip().lower().rstrip(".") for o in options]
    if all(
        re.fullmatch(r"(true|false|yes|no|wrong|not wrong)(, (true|false|yes|no|wrong|not wrong))*", o)
        for o in lowered
    ):
        return "options in a fixed pattern (true/false)"
    return None


def mc_twins(benchmark: str, row: dict[str, Any], rng: np.random.Generator, k: int) -> list[list[int]]:
    """``k`` distinct non-identity option orders for one item (TwinError when reordering is unfair)."""
    options, _ = options_of(benchmark, row)
    problem = order_problem(options)
    if problem is not None:
        raise TwinError(problem, f"options {options!r}")
    n = len(options)
    identity = list(range(n))
    seen = {tuple(identity)}
    orders: list[list[int]] = []
    for _ in range(200):
        if len(orders) == k:
            break
        order = [int(i) for i in rng.permutation(n)]
        if tuple(order) in seen:
            continue
        seen.add(tuple(order))
        orders.append(order)
    if len(orders) < k:
        raise TwinError("too few orders", f"{n} options give fewer than {k} distinct reorderings")
    return orders


def render_mc(question: str, options: list[str], answer_index: int | None) -> str:
    """An item as a lettered block, the form in which test sets circulate and are memorised:
    ``question``, one ``A. option`` line per option, and ``Answer: X`` when the answer is given."""
    lines = [question.strip()]
    lines += [f"{LETTERS[i]}. {option.strip()}" for i, option in enumerate(options)]
    if answer_index is not None:
        lines.append(f"Answer: {LETTERS[answer_index]}")
    return "\n".join(lines)

"""Recall of `harness scan` on multiple-choice items written with other option labels, by question length,
and its false alarms on unrelated text and on questions shown with another item's options.

    .venv/bin/python scripts/scan_short_items.py [--seed 1] [--out short-items.json]

1. Recall: every ARC-Challenge, ARC-Easy and MMLU(-Redux) test item is written the way quiz pages write
   them: the question, then its options under one of six label styles (`A)`, `(a)`, `1.`, bullets `•`,
   dashes, `Option A:`), in the original or a shuffled order, one a line or all on one line, then
   "Answer: X", between two paragraphs of unrelated prose. Recall = share of items found dirty, by the
   question's length in normalised words (<4, 4-7, 8-12, 13+).
2. False alarms on unrelated text: GSM8K's train split (7,473 problems with solutions, none of them an
   ARC or MMLU item) and generic English prose on this machine (Python's pydoc topics and the Debian
   package documentation under /usr/share/doc) are scanned against ARC and MMLU: any item flagged is a
   false alarm.
3. False alarms on near misses: each ARC/MMLU question under 13 words shown with the options of another
   item of the same benchmark (the same short question with other answers, as on a quiz page that merely
   shares a common phrase). An item flagged whose own options are not on the page is a false alarm.
Prints a JSON summary (docs/scan.md quotes it).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FILLER = (
    "Our town library reopened its reading room after a long renovation, and the staff thanked every "
    "volunteer who painted shelves, sorted donated books and kept the children's corner busy all summer."
)
STYLES = [
    lambda i, c: f"{'ABCDE'[i]}) {c}",
    lambda i, c: f"({'abcde'[i]}) {c}",
    lambda i, c: f"{i + 1}. {c}",
    lambda i, c: f"\u2022 {c}",
    lambda i, c: f"- {c}",
    lambda i, c: f"Option {'ABCDE'[i]}: {c}",
]
MC = ("arc_challenge", "arc_easy", "mmlu")


def bucket(n: int) -> str:
    return "<4" if n < 4 else "4-7" if n < 8 else "8-12" if n < 13 else "13+"


def quiz(question: str, choices: list[str], rng: random.Random) -> str:
    style = rng.choice(STYLES)
    order = list(range(len(choices)))
    if rng.random() < 0.5:
        rng.shuffle(order)
    sep = rng.choice(["\n", " ", "  "])
    options = sep.join(style(j, choices[o]) for j, o in enumerate(order))
    return (
        f"{FILLER}\n\n{question}{sep}{options}{sep}Answer: {'ABCDE'[rng.randrange(len(choices))]}\n\n{FILLER}"
    )


def flagged(texts: list[str], index) -> list[set[str]]:
    """Per text, the ids of the items it makes dirty."""
    from harness.leakage.matcher import match_texts

    out: list[set[str]] = [set() for _ in texts]
    for s in range(0, len(texts), 256):
        for e in match_texts(texts[s : s + 256], index).evidence:
            if e.qualifying:
                out[s + e.text].add(index.items[e.item].item_id)
    return out


def generic_prose(limit_bytes: int = 8_000_000) -> list[str]:
    """Paragraphs of English prose found on this machine (no download)."""
    import pydoc_data.topics as topics

    paras = [p for t in topics.topics.values() for p in t.split("\n\n") if len(p) > 200]
    size = sum(map(len, paras))
    for path in sorted(Path("/usr/share/doc").rglob("*")):
        if size > limit_bytes or not path.is_file():
            continue
        try:
            raw = path.read_bytes()
            text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8")
        except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile):
            continue
        for p in text.split("\n\n"):
            if len(p) > 200:
                paras.append(p)
                size += len(p)
    return paras


def grams(texts, n: int = 13) -> set[tuple[str, ...]]:
    from harness.leakage.normalize import words

    out = set()
    for t in texts:
        w = words(t)
        out |= {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    from harness.data import load_benchmark
    from harness.leakage.index import load_index
    from harness.leakage.normalize import normalize, words

    index = load_index(list(MC))
    rng = random.Random(args.seed)
    recall: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    missed: list[str] = []
    near_texts, near_owner = [], []
    for name in MC:
        items = load_benchmark(name).items
        texts = [quiz(it.question, list(it.choices), rng) for it in items]
        for it, found in zip(items, flagged(texts, index), strict=True):
            b = bucket(len(words(it.question)))
            recall[name][b][1] += 1
            if it.item_id in found:
                recall[name][b][0] += 1
            else:
                missed.append(it.item_id)
        short = [it for it in items if len(words(it.question)) < 13]
        for it in short:
            other = rng.choice(items)
            while other.item_id == it.item_id or list(other.choices) == list(it.choices):
                other = rng.choice(items)
            near_texts.append(quiz(it.question, list(other.choices), rng))
            near_owner.append((it, other))
    near_flags = flagged(near_texts, index)
    near_false = []
    by_id = {it.item_id: it for name in MC for it in load_benchmark(name).items}
    for (it, other), found in zip(near_owner, near_flags, strict=True):
        # The page holds `it`'s question and `other`'s options. An item flagged there is a false alarm,
        # unless the page really holds its text: 13 consecutive words of one of its options (MMLU has
        # near-duplicate items), or two of its options verbatim.
        for item_id in found - {other.item_id}:
            flagged_item = by_id[item_id]
            shared = set(map(normalize, flagged_item.choices)) & set(map(normalize, other.choices))
            long_run = bool(grams(flagged_item.choices) & grams(other.choices))
            near_false.append(
                {
                    "page_question_of": it.item_id,
                    "options_of": other.item_id,
                    "flagged": item_id,
                    "shares_options_with_the_page": len(shared),
                    "explained": long_run or len(shared) >= 2,
                }
            )
    gsm = load_benchmark("gsm8k", "train").items
    gsm_flags = flagged([it.question + "\n" + it.answer for it in gsm], index)
    prose = generic_prose()
    prose_flags = flagged(prose, index)
    summary = {
        "recall_by_question_words": {
            name: {b: {"found": f, "items": n, "recall": round(f / n, 4)} for b, (f, n) in sorted(v.items())}
            for name, v in recall.items()
        },
        "recall_overall": round(
            sum(f for v in recall.values() for f, _ in v.values())
            / sum(n for v in recall.values() for _, n in v.values()),
            4,
        ),
        "missed": missed[:50],
        "false_alarms_gsm8k_train": {
            "texts": len(gsm),
            "flagged_items": sorted({i for f in gsm_flags for i in f}),
        },
        "false_alarms_generic_prose": {
            "paragraphs": len(prose),
            "megabytes": round(sum(map(len, prose)) / 1e6, 2),
            "flagged_items": sorted({i for f in prose_flags for i in f}),
        },
        "false_alarms_question_with_other_options": {
            "pages": len(near_texts),
            "flags": len(near_false),
            "flags_explained_by_the_page_text": sum(x["explained"] for x in near_false),
            "false_alarms": [x for x in near_false if not x["explained"]],
            "flagged_the_page_question": sum(x["flagged"] == x["page_question_of"] for x in near_false),
        },
    }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

"""Build `audits/demo/corpus.jsonl.zst`: the small training corpus the demo audit scans.

Why a built file and not a hand-written one: the demo must show the scan finding real test items in the
shapes leaks take in the wild, and a reviewer must be able to see exactly what was planted. So this script
is the record of the plant: it is deterministic (fixed seed, no clock), and `audits/demo/PLANTED.md` lists
every planted item with the form it was planted in.

The corpus mixes three kinds of record, as a fine-tuning mix would:
- chat records (`messages[].content`) made from GSM8K *train* problems: real SFT-style data that must not
  be flagged, except where GSM8K's train split genuinely shares text with its test split;
- web-page records (`text`) of generated filler prose;
- a few web pages with planted *test* items: verbatim inside a long page, reformatted (upper case, line
  breaks, "Question: ... Answer: ..." templates, choices as "A) ..."), or cut to their first part.

Run: `python scripts/build_demo_corpus.py` (writes the corpus and PLANTED.md next to audits/demo.toml).
"""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import zstandard

from harness.data import load_benchmark

SEED = 20240905  # the day Reflection 70B was announced
OUT_DIR = Path(__file__).resolve().parent.parent / "audits" / "demo"
TRAIN_RECORDS = 1500
FILLER_RECORDS = 300

_SUBJECTS = ["The committee", "Our team", "The city council", "A local bakery", "The museum", "The library"]
_VERBS = ["announced", "reviewed", "discussed", "postponed", "celebrated", "published"]
_OBJECTS = [
    "a new schedule for the spring season",
    "the results of its annual survey",
    "plans to renovate the east wing",
    "a series of free evening workshops",
    "an updated policy on opening hours",
    "the winners of this year's photo contest",
]
_TAILS = [
    "Residents are invited to share their thoughts online.",
    "More details will follow next week.",
    "Tickets are available at the front desk.",
    "The event drew a larger crowd than expected.",
    "Volunteers are still welcome to sign up.",
]


def filler(rng: random.Random, sentences: int) -> str:
    """Bland generated prose: text that shares no 13-gram with any benchmark."""
    out = []
    for _ in range(sentences):
        out.append(f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}.")
        if rng.random() < 0.4:
            out.append(rng.choice(_TAILS))
    return " ".join(out)


def planted_pages(rng: random.Random) -> tuple[list[dict], list[tuple[str, str]]]:
    """Web pages with test items planted in them, and (item_id, how) for PLANTED.md."""
    gsm = load_benchmark("gsm8k").items
    arc = load_benchmark("arc_challenge").items
    hellaswag = load_benchmark("hellaswag")
    hs = hellaswag.items
    mmlu = load_benchmark("mmlu").items
    pages, planted = [], []

    item = gsm[42]  # verbatim problem and solution inside a long page
    pages.append(
        {
            "url": "https://example.org/homework-help/thread/1881",
            "text": filler(rng, 20)
            + f"\n\nQuestion: {item.question}\nAnswer: {item.answer}\n\n"
            + filler(rng, 20),
        }
    )
    planted.append((item.item_id, "verbatim question and solution inside a long web page"))

    item = gsm[1000]  # question only, upper case, line breaks every few words
    words = item.question.upper().split()
    broken = "\n".join(" ".join(words[i : i + 6]) for i in range(0, len(words), 6))
    pages.append({"url": "https://example.org/forum/post/77", "text": filler(rng, 5) + "\n" + broken})
    planted.append((item.item_id, "question only, upper-cased, broken into short lines"))

    item = arc[7]  # multiple choice as "A) ..." with a template
    choices = "\n".join(f"{'ABCDE'[i]}) {c}" for i, c in enumerate(item.choices))
    pages.append(
        {
            "url": "https://example.org/quiz/science/7",
            "text": f"{filler(rng, 8)}\n\nQ: {item.question}\n{choices}\nCorrect answer: {'ABCDE'[int(item.gold)]}\n\n"
            + filler(rng, 8),
        }
    )
    planted.append((item.item_id, "question and lettered choices in a quiz template"))

    item = hs[100]  # only the first part: the context, cut before the endings
    pages.append(
        {
            "url": "https://example.org/blog/how-to",
            "text": hellaswag.rows[item.row]["ctx"] + " " + filler(rng, 10),
        }
    )
    planted.append((item.item_id, "context only, cut before the endings"))

    item = mmlu[2000]
    pages.append(
        {
            "url": "https://example.org/exam-prep/mmlu-style",
            "text": filler(rng, 6)
            + f"\n{item.question}\n"
            + "\n".join(f"({'abcd'[i]}) {c}" for i, c in enumerate(item.choices))
            + "\n"
            + filler(rng, 6),
        }
    )
    planted.append((item.item_id, "question and choices inside an exam-prep page"))
    return pages, planted


def build() -> tuple[Path, list[tuple[str, str]]]:
    rng = random.Random(SEED)
    records: list[dict] = []
    train = load_benchmark("gsm8k", "train").items
    for item in rng.sample(list(train), TRAIN_RECORDS):
        records.append(
            {
                "source": "sft-math",
                "messages": [
                    {"role": "user", "content": item.question},
                    {"role": "assistant", "content": item.answer},
                ],
            }
        )
    for i in range(FILLER_RECORDS):
        records.append({"url": f"https://example.org/news/{i}", "text": filler(rng, rng.randint(3, 30))})
    pages, planted = planted_pages(rng)
    records.extend(pages)
    rng.shuffle(records)
    raw = b"".join(orjson.dumps(r) + b"\n" for r in records)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / "corpus.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor(level=19).compress(raw))
    lines = [
        "# What `corpus.jsonl.zst` contains (written by scripts/build_demo_corpus.py)",
        "",
        f"{len(records)} JSON lines: {TRAIN_RECORDS} chat records from GSM8K train, {FILLER_RECORDS} generated",
        f"filler pages, and {len(pages)} pages with these test items planted in them:",
        "",
        *[f"- `{item_id}`: {how}" for item_id, how in planted],
        "",
        "A scan should find each planted item, and may also report GSM8K train problems that genuinely share",
        "text with GSM8K test problems (a known property of the data set, not a plant).",
        "",
    ]
    (OUT_DIR / "PLANTED.md").write_text("\n".join(lines), encoding="utf-8")
    return path, planted


if __name__ == "__main__":
    out, planted = build()
    print(f"wrote {out} ({out.stat().st_size} bytes) with {len(planted)} planted items")

"""Recall of `harness scan --rephrased` on rephrased test items, and its false alarms on GSM8K's train split.

    .venv/bin/python scripts/scan_rephrased.py [--seed 1] [--out rephrased.json] [--calibrate]

Rephrasings are generated here, deterministically, in the ways Yang et al. (2023) describe paraphrased
test items: (1) synonyms: common words of word problems and quiz questions replaced by synonyms from a
hand-written table; (2) word order: the question sentence moved to the front, the other sentences rotated,
clauses around "and" swapped; (3) both, with an opening phrase added. Numbers are kept (a rephrased math
problem must keep its quantities to keep its answer). Every GSM8K test problem and every ARC-Challenge,
ARC-Easy and MMLU item (question and options) is rephrased three ways and put between two paragraphs of
unrelated prose; recall is the share found by the n-gram stage, by the rephrase stage, or by either.

False alarms: GSM8K's train split (7,473 problems and solutions: the same style, names, objects and small
numbers as the test set, but other problems) scanned against all five test sets. The known genuine
train/test near-duplicates (the 9 items docs/scan.md lists, found by n-grams) are reported apart.
`--calibrate` also prints the score distributions of true and false candidates (before the rule).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FILLER = (
    "Our town library reopened its reading room after a long renovation, and the staff thanked every "
    "volunteer who painted shelves, sorted donated books and kept the children's corner busy all summer."
)
SYNONYMS = {
    "buys": "purchases", "bought": "purchased", "buy": "purchase", "sells": "sells off", "sold": "sold off",
    "has": "owns", "have": "own", "had": "owned", "gets": "receives", "got": "received", "gives": "hands",
    "gave": "handed", "each": "every", "total": "overall", "much": "much in total", "makes": "earns",
    "made": "earned", "wants": "would like", "wanted": "wished", "needs": "requires", "need": "require",
    "how many": "what number of", "how much": "what amount", "spends": "uses up", "spent": "used up",
    "costs": "is priced at", "cost": "price", "money": "cash", "dollars": "bucks", "friends": "pals",
    "friend": "pal", "store": "shop", "children": "kids", "big": "large", "small": "little",
    "begins": "starts", "began": "started", "finish": "complete", "finished": "completed", "days": "days' time",
    "week": "7-day period", "hours": "hrs", "minutes": "mins", "per": "for every", "car": "automobile",
    "house": "home", "which": "what", "following": "listed", "best": "most accurately", "describes": "explains",
    "most likely": "probably", "example": "instance", "because": "since", "shows": "displays", "used": "employed",
    "use": "employ", "important": "significant", "found": "discovered", "scientists": "researchers",
    "student": "pupil", "students": "pupils", "water": "H2O", "causes": "leads to", "change": "alteration",
    "after": "following", "before": "prior to", "about": "approximately", "only": "solely", "also": "as well",
}  # fmt: skip
OPENERS = ["Here is a problem: ", "Consider the following. ", "Try this one: ", "Question - "]


def synonyms(text: str, rng: random.Random) -> str:
    out = text
    for a, b in sorted(SYNONYMS.items(), key=lambda kv: -len(kv[0])):
        if rng.random() < 0.9:
            out = re.sub(rf"\b{re.escape(a)}\b", b, out)
            out = re.sub(rf"\b{re.escape(a.capitalize())}\b", b.capitalize(), out)
    return out


def reorder(text: str, rng: random.Random) -> str:
    sents = [s for s in re.split(r"(?<=[.?!])\s+", text.strip()) if s]
    if len(sents) >= 2:
        last = sents[-1]
        rest = sents[:-1]
        if len(rest) > 1:
            k = rng.randrange(1, len(rest))
            rest = rest[k:] + rest[:k]
        sents = [last, *rest] if last.endswith("?") else [*rest, last]
    swapped = []
    for s in sents:
        m = re.match(r"^(.*?), and (.*?)([.?!])$", s)
        if m and rng.random() < 0.7:
            s = f"{m.group(2)[0].upper()}{m.group(2)[1:]}, and {m.group(1)[0].lower()}{m.group(1)[1:]}{m.group(3)}"
        swapped.append(s)
    return " ".join(swapped)


def variants(question: str, choices: list[str], rng: random.Random) -> dict[str, str]:
    opts = "\n".join(f"{'ABCDE'[i]}) {c}" for i, c in enumerate(choices))

    def render(q: str) -> str:
        return f"{FILLER}\n\n{q}" + (f"\n{opts}" if choices else "") + f"\n\n{FILLER}"

    return {
        "synonyms": render(synonyms(question, rng)),
        "word_order": render(reorder(question, rng)),
        "both": render(rng.choice(OPENERS) + synonyms(reorder(question, rng), rng)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--calibrate", action="store_true")
    args = ap.parse_args()
    from harness.data import load_benchmark
    from harness.leakage.index import load_index
    from harness.leakage.matcher import match_texts
    from harness.leakage.rephrase import RephraseIndex, accept, find_rephrased

    index = load_index(["gsm8k", "mmlu", "arc_challenge", "arc_easy", "hellaswag"])
    rindex = RephraseIndex.build(index)
    pos = {it.item_id: i for i, it in enumerate(index.items)}
    rng = random.Random(args.seed)
    texts, owners, kinds = [], [], []
    for name in ("gsm8k", "arc_challenge", "arc_easy", "mmlu"):
        for it in load_benchmark(name).items:
            for kind, text in variants(it.question, [] if name == "gsm8k" else list(it.choices), rng).items():
                texts.append(text)
                owners.append(pos[it.item_id])
                kinds.append((name, kind))
    ngram_found = [set() for _ in texts]
    reph_found = [set() for _ in texts]
    true_scores, false_scores = [], []
    for s in range(0, len(texts), 256):
        batch = texts[s : s + 256]
        for e in match_texts(batch, index).evidence:
            if e.qualifying:
                ngram_found[s + e.text].add(e.item)
        for m in find_rephrased(batch, rindex, keep_all=True):
            row = (m.score, m.numbers_present, len(rindex.item_numbers[m.item]))
            (true_scores if m.item == owners[s + m.text] else false_scores).append(row)
            nums = rindex.item_numbers[m.item] if rindex.item_is_math[m.item] else []
            share = m.shared_words / max(1, int(rindex.item_selective[m.item]))
            if accept(m.score, nums, m.numbers_present, share):
                reph_found[s + m.text].add(m.item)
    recall: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for (name, kind), owner, ng, rp in zip(kinds, owners, ngram_found, reph_found, strict=True):
        t = tally[(name, kind)]
        t[0] += 1
        t[1] += owner in ng
        t[2] += owner in rp
        t[3] += owner in ng or owner in rp
    for (name, kind), (n, ng, rp, either) in sorted(tally.items()):
        recall[name][kind] = {
            "items": n,
            "ngram": round(ng / n, 4),
            "rephrase_stage": round(rp / n, 4),
            "either": round(either / n, 4),
        }
    wrong = sum(len(rp - {o}) for o, rp in zip(owners, reph_found, strict=True))
    train = load_benchmark("gsm8k", "train").items
    train_texts = [it.question + "\n" + it.answer for it in train]
    flagged: dict[str, list[dict]] = defaultdict(list)
    ngram_dirty = set()
    for s in range(0, len(train_texts), 256):
        batch = train_texts[s : s + 256]
        dirty = {(e.text, e.item) for e in match_texts(batch, index).evidence if e.qualifying}
        ngram_dirty |= {index.items[i].item_id for _, i in dirty}
        for m in find_rephrased(batch, rindex, skip=None):
            item_id = index.items[m.item].item_id
            flagged[item_id].append(
                {"train_row": s + m.text, "score": m.score, "numbers_in_order": m.numbers_in_order,
                 "numbers_present": m.numbers_present, "also_ngram_dirty": (m.text, m.item) in dirty}
            )  # fmt: skip
    summary = {
        "recall": recall,
        "rephrase_stage_matches_of_other_items_on_rephrased_pages": wrong,
        "gsm8k_train_vs_test": {
            "train_texts": len(train_texts),
            "ngram_dirty_items": sorted(ngram_dirty),
            "rephrase_stage_items": len(flagged),
            "rephrase_stage_items_not_ngram_dirty": sorted(set(flagged) - ngram_dirty),
            "matches": dict(sorted(flagged.items())),
        },
    }
    if args.calibrate:
        import numpy as np

        for label, rows in (("true", true_scores), ("false", false_scores)):
            sc = np.array([r[0] for r in rows]) if rows else np.zeros(1)
            summary[f"calibration_{label}_candidates"] = {
                "n": len(rows),
                "score_quantiles": {q: float(np.quantile(sc, q)) for q in (0.01, 0.05, 0.1, 0.5, 0.9, 0.99)},
                "numbers_all_present": sum(1 for r in rows if r[1] and r[2] >= 3),
            }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

"""Benchmark `harness scan`: throughput (MB/s per core), peak memory, and lm-eval's own decontamination
code on the same corpus for a side-by-side ratio.

    .venv/bin/python scripts/bench_scan.py                 # 300 MB corpus in /tmp/harness-bench
    .venv/bin/python scripts/bench_scan.py --mb 100 --janitor-mb 10 --out /tmp/bench
    .venv/bin/python scripts/bench_scan.py --mb 50 --files 1 --workers 1 --options   # whole process, 50 MB
    .venv/bin/python scripts/bench_scan.py --mb 60 --files 4 --engines local,ray       # 2 workers vs 1

What it does (docs/scan.md reports the figures):
1. Generates a corpus of `--mb` MB of web-like JSON Lines ({"url", "date", "text"}; 4 files): pages of
   paragraphs of sentences whose words are drawn from the word frequencies of the benchmarks' *train*
   splits and this script's own vocabulary (so word lengths and frequencies are English-like), with curly
   quotes, dashes, accented words and a little CJK on some pages (the slower Unicode path), a long tail of
   page lengths, and six planted test items (verbatim, reformatted, cut) whose detection it checks.
   Deterministic (fixed seed), and reused when already there.
2. Runs `harness scan` on it as a subprocess with 1 worker and with 2 workers (`--engines local,ray`: on
   each engine), reading the throughput of the scan phase (index excluded) and end to end, the start-up
   (everything but the shards' own time), MB per CPU-second of the shards (what one unshared core does),
   and the peak resident memory: of the largest process (getrusage) and of the whole process tree (sampled
   with psutil every 50 ms). The index is loaded from its on-disk cache (a first, untimed run builds it).
   With `--options`, also `--profile` and `--rephrased` (1 worker), and their CPU time against the plain scan.
3. Runs lm-eval's Janitor (`lm_eval/decontamination/janitor.py`, the code its decontamination uses to
   register test-set 13-grams and clean training documents; its C++ helper is not built by pip, so it
   runs in its Python mode as installed) on the first `--janitor-mb` MB of the same corpus with the same
   test sets registered, and reports its MB/s and the ratio. The slice is extrapolated per MB because the
   Janitor is orders of magnitude slower.
Prints a JSON summary and writes it to OUT/bench.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
SEED = 13
BENCHMARKS = ["gsm8k", "mmlu", "arc_challenge", "arc_easy", "hellaswag"]
_EXTRA = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "they",
    "you",
    "were",
    "her",
    "she",
    "there",
    "been",
    "one",
    "all",
    "we",
    "their",
    "has",
    "would",
    "when",
    "if",
    "so",
    "no",
    "more",
    "what",
    "up",
    "out",
    "who",
    "will",
    "about",
    "into",
    "them",
    "can",
    "some",
    "time",
    "could",
    "than",
    "only",
    "other",
    "its",
    "new",
    "then",
    "these",
    "two",
    "may",
    "first",
    "any",
    "like",
    "our",
    "now",
    "over",
    "such",
    "also",
    "most",
    "after",
    "where",
    "how",
    "through",
    "well",
    "people",
    "back",
    "just",
    "even",
    "years",
    "because",
    "good",
    "very",
    "much",
    "before",
    "know",
    "long",
    "must",
    "between",
    "own",
    "under",
    "while",
    "last",
    "city",
    "world",
    "life",
    "state",
    "since",
    "still",
    "here",
    "place",
]


def _vocabulary() -> tuple[list[str], list[float]]:
    """Word frequencies of the benchmarks' train splits (never their test sets) plus common words."""
    from harness.data import load_benchmark

    counts: Counter[str] = Counter()
    for it in load_benchmark("gsm8k", "train").items:
        counts.update(re.findall(r"[A-Za-z]+", it.question + " " + it.answer))
    for w in _EXTRA:
        counts[w] += 2000
    words = [w for w, c in counts.items() if c >= 2]
    weights = [counts[w] ** 0.9 for w in words]
    return words, weights


def _planted() -> list[tuple[str, str]]:
    """(item_id, text) of six test items in the shapes leaks take."""
    from harness.data import load_benchmark

    gsm = load_benchmark("gsm8k").items
    arc = load_benchmark("arc_easy").items
    hs = load_benchmark("hellaswag")
    mmlu = load_benchmark("mmlu").items
    g1, g2, a1, h1, m1, g3 = gsm[7], gsm[500], arc[100], hs.items[2000], mmlu[300], gsm[1200]
    choices = "\n".join(f"{'ABCD'[i]}) {c}" for i, c in enumerate(a1.choices))
    return [
        (g1.item_id, f"Question: {g1.question}\nAnswer: {g1.answer}"),
        (g2.item_id, g2.question.upper().replace(". ", ".\n")),
        (a1.item_id, f"Q: {a1.question}\n{choices}\nAnswer: {'ABCD'[int(a1.gold)]}"),
        (h1.item_id, hs.rows[h1.row]["ctx"] + " " + h1.answer),
        (m1.item_id, m1.question + "\n" + "\n".join(f"({'abcd'[i]}) {c}" for i, c in enumerate(m1.choices))),
        (g3.item_id, " ".join(g3.question.split()[: max(14, len(g3.question.split()) // 2)])),
    ]


def generate(folder: Path, megabytes: int, files: int = 4) -> tuple[list[Path], list[str]]:
    """Write the corpus (if not there yet); return its files and the planted item ids."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"web-{i:02d}.jsonl" for i in range(files)]
    planted = _planted()
    marker = folder / f"corpus-{megabytes}mb.done"
    if marker.exists() and all(p.exists() for p in paths):
        return paths, [p[0] for p in planted]
    words, weights = _vocabulary()
    rng = np.random.default_rng(SEED)
    prng = random.Random(SEED)
    p = np.asarray(weights) / np.sum(weights)
    vocab = np.asarray(words, dtype=object)
    accents = ["café", "naïve", "résumé", "Zürich", "São Paulo", "Ærø", "façade", "Straße"]
    cjk = "机器学习是人工智能的一个分支。数据的质量决定了模型的上限。"
    target = megabytes * 1_000_000 // files
    plant_at = {i * 997 + 11: planted[i] for i in range(len(planted))}
    doc = 0
    for path in paths:
        size = 0
        with open(path, "wb") as fh:
            while size < target:
                n_words = int(min(60_000, rng.lognormal(6.0, 0.9) + 30))
                ws = vocab[rng.choice(len(vocab), n_words, p=p)].tolist()
                out, i = [], 0
                while i < len(ws):
                    k = prng.randint(6, 28)
                    sent = ws[i : i + k]
                    i += k
                    sent[0] = sent[0].capitalize()
                    if prng.random() < 0.25:
                        sent.insert(prng.randrange(len(sent)), ",")
                    out.append(" ".join(sent).replace(" ,", ",") + prng.choice([".", ".", ".", "?", "!"]))
                    if prng.random() < 0.15:
                        out.append("\n\n")
                text = " ".join(out)
                r = prng.random()
                if r < 0.10:
                    text = text.replace(" said ", " \u201csaid\u201d ").replace(". ", ". \u2014 ", 3)
                elif r < 0.13:
                    text += " " + " ".join(prng.choice(accents) for _ in range(5))
                elif r < 0.14:
                    text += "\n\n" + cjk * 3
                if doc in plant_at:
                    cut = len(text) // 2
                    text = text[:cut] + "\n\n" + plant_at[doc][1] + "\n\n" + text[cut:]
                rec = {"url": f"https://example.net/{doc}", "date": "2024-05-01", "text": text}
                line = orjson.dumps(rec) + b"\n"
                fh.write(line)
                size += len(line)
                doc += 1
    marker.write_text("ok\n")
    return paths, [p[0] for p in planted]


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


def run_harness(paths: list[Path], out: Path, workers: int, engine: str = "local", extra: tuple = ()) -> dict:
    import resource

    cmd = [
        sys.executable,
        "-m",
        "harness.cli",
        "scan",
        *map(str, paths),
        "--out",
        str(out),
        "--workers",
        str(workers),
        "--engine",
        engine,
        "--no-progress",
        *extra,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    stop.set()
    sampler.join()
    wall = time.monotonic() - t0
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"harness scan failed: {err.decode()[-2000:]}")
    record = json.loads((out / "leakage.json").read_text())
    mb = sum(p.stat().st_size for p in paths) / 1e6
    scan_s = record["timing"]["seconds"] - record["timing"]["index_seconds"]
    return {
        "engine": engine,
        "options": list(extra),
        "core": record["execution"].get("core"),
        "index_from": record["execution"].get("index"),
        # start-up: everything but the shards' own time (interpreter, imports, index, planning, outputs)
        "startup_seconds": round(wall - record["timing"]["shard_seconds"] / max(1, workers), 2),
        "workers": workers,
        "megabytes": round(mb, 1),
        "wall_seconds": round(wall, 2),
        "index_seconds": record["timing"]["index_seconds"],
        "scan_seconds": round(scan_s, 2),
        "mb_per_s": round(mb / scan_s, 1),
        "mb_per_s_per_core": round(mb / scan_s / workers, 1),
        "mb_per_s_end_to_end": round(mb / wall, 1),
        # Per core by CPU time (the shards' process time): what one core does when it is not shared.
        "shard_cpu_seconds": record["timing"]["shard_cpu_seconds"],
        "mb_per_cpu_second": round(mb / record["timing"]["shard_cpu_seconds"], 1),
        "peak_rss_mb_largest_process": round(
            max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024, 1
        ),
        "peak_rss_mb_process_tree": round(peak / 1e6, 1),
        "dirty_items": sorted(i["item_id"] for i in record["items"] if i["dirty"]),
        "records_read": record["accounting"]["records_read"],
    }


def run_janitor(paths: list[Path], megabytes: float) -> dict:
    """lm-eval's Janitor on the first `megabytes` MB: register the test sets, clean each document."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        from lm_eval.decontamination.janitor import Janitor
    from harness.data import load_benchmark

    janitor = Janitor()  # lm-eval's defaults: 13-grams, GPT-3's window and cut-offs
    t0 = time.monotonic()
    for name in BENCHMARKS:
        for item in load_benchmark(name).items:
            for text in item.texts().values():
                janitor.register_contaminant_python(text)
    register_s = time.monotonic() - t0
    budget = int(megabytes * 1_000_000)
    done = 0
    docs = dirty = 0
    t0, c0 = time.monotonic(), time.process_time()
    for path in paths:
        with open(path, "rb") as fh:
            for line in fh:
                text = orjson.loads(line)["text"]
                chunks = janitor.clean_python(text)
                docs += 1
                dirty += int(len(chunks) != 1 or chunks[0] != text)
                done += len(line)
                if done >= budget:
                    break
        if done >= budget:
            break
    clean_s, clean_cpu = time.monotonic() - t0, time.process_time() - c0
    return {
        "mode": "python (janitor_util C++ helper not built)",
        "megabytes": round(done / 1e6, 2),
        "register_seconds": round(register_s, 2),
        "registered_ngrams": len(janitor.dirt_ngrams),
        "clean_seconds": round(clean_s, 2),
        "mb_per_s": round(done / 1e6 / clean_s, 3),
        "mb_per_cpu_second": round(done / 1e6 / clean_cpu, 3),
        "documents": docs,
        "documents_changed": dirty,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=300, help="corpus size in MB")
    ap.add_argument(
        "--janitor-mb", type=float, default=5.0, help="MB of the corpus given to lm-eval's Janitor"
    )
    ap.add_argument("--out", type=Path, default=Path("/tmp/harness-bench"))
    ap.add_argument("--workers", default="1,2", help="worker counts to run harness scan with")
    ap.add_argument("--files", type=int, default=4, help="files the corpus is written in")
    ap.add_argument("--engines", default="local", help="engines to run: local, ray or local,ray")
    ap.add_argument("--options", action="store_true", help="also time --profile and --rephrased (1 worker)")
    args = ap.parse_args()
    corpus, planted = generate(args.out / f"corpus-{args.files}", args.mb, files=args.files)
    # The index cache: built (and cached) by a first run if needed, so that every timed run loads it.
    warm = subprocess.run(
        [sys.executable, "-c", "from harness.leakage.index import load_index; from harness.leakage.scan import "
         "DEFAULT_BENCHMARKS; load_index(list(DEFAULT_BENCHMARKS))"], cwd=ROOT, check=True
    )  # fmt: skip
    del warm
    summary: dict = {
        "corpus": {
            "files": [str(p) for p in corpus],
            "megabytes": round(sum(p.stat().st_size for p in corpus) / 1e6, 1),
        },
        "planted": planted,
        "machine": {"cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()},
        "harness": [],
    }
    for engine in args.engines.split(","):
        for w in [int(x) for x in args.workers.split(",")]:
            res = run_harness(corpus, args.out / f"scan-{engine}-w{w}", w, engine)
            res["planted_found"] = sorted(set(planted) & set(res["dirty_items"]))
            summary["harness"].append(res)
            print(json.dumps(res), flush=True)
    for engine in args.engines.split(","):
        runs = {r["workers"]: r for r in summary["harness"] if r["engine"] == engine}
        if 1 in runs and 2 in runs:
            # efficiency of 2 workers against 1: speed-up / 2 (wall clock of the scan phase)
            summary[f"{engine}_two_worker_efficiency"] = round(
                runs[1]["scan_seconds"] / runs[2]["scan_seconds"] / 2, 3
            )
    if args.options:
        base = next(r for r in summary["harness"] if r["workers"] == 1 and r["engine"] == "local")
        for flag in ("--profile", "--rephrased"):
            res = run_harness(corpus, args.out / f"scan{flag}", 1, "local", (flag,))
            res["cpu_seconds_vs_plain"] = round(res["shard_cpu_seconds"] / base["shard_cpu_seconds"], 3)
            summary["harness"].append(res)
            print(json.dumps(res), flush=True)
    jan = run_janitor(corpus, args.janitor_mb)
    summary["janitor"] = jan
    one = summary["harness"][0]
    summary["ratio_per_core"] = round(one["mb_per_s_per_core"] / jan["mb_per_s"], 1)
    summary["ratio_per_cpu_second"] = round(one["mb_per_cpu_second"] / jan["mb_per_cpu_second"], 1)
    summary["machine"]["load_average_at_end"] = os.getloadavg()
    (args.out / "bench.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "corpus"}, indent=2))


if __name__ == "__main__":
    main()

"""Record what verify and the data layer do, so that a refactor can prove it changed nothing.

Issue 10 reshapes code that must not change behaviour. Run this on the commit before and the commit
after (each with its own tree first on PYTHONPATH), then compare the two files:

    PYTHONPATH=/path/to/old python scripts/behaviour_snapshot.py before.json --full --work /tmp/snap
    PYTHONPATH=$PWD          python scripts/behaviour_snapshot.py after.json  --full --work /tmp/snap
    python scripts/behaviour_snapshot.py --compare before.json after.json

What it records, per benchmark: the loaded items (ids and contents, checksums), the default setting,
the label-error ceiling and ceiling tests, the cluster key, and lm-eval task plans (YAML text, doc-row
maps) in several settings (shots, chain of thought, impossible shot counts); claims-file errors; a
``--plausibility-only`` record and its Markdown. With ``--full``, two runs of a tiny random-weight
Llama (built offline, kept under ``--work``) on all five benchmarks (``--limit 2`` and a per-benchmark
``--sample``, with claims and a leakage file): the record, the Markdown, ``items.parquet`` and a
re-score. Wall-clock facts (``timing``) and package ``versions`` are left out; the data files'
install location differs between checkouts and is reported, not hidden.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

CLAIMS: dict[str, Any] = {
    "model": "m",
    "gsm8k": {"value": 99.2, "filter": "flexible-extract", "n_shot": 0, "chain_of_thought": True},
    "mmlu": {"value": 89.9},
    "arc_challenge": {"value": 96.9, "metric": "acc"},
    "arc_easy": {"value": 80},
    "hellaswag": {"value": 99.5, "n_shot": 10},
}
BAD_CLAIMS: list[dict[str, Any]] = [
    {"mmlu": {"value": 50, "metric": "acc_norm"}},
    {"arc_easy": {"value": 50, "filter": "strict-match"}},
    {"hellaswag": {"value": 50, "chain_of_thought": True}},
    {"mmlu": {"value": 50, "max_gen_toks": 10}},
    {"gsm8k": {"value": 50, "filter": "none"}},
    {"gsm8k": {"value": 50, "metric": "acc"}},
    {"nope": {"value": 1}},
]


def _plans(name: str, bs: Any) -> dict[str, Any]:
    from harness.verify.claims import Setting, default_setting
    from harness.verify.tasks import prepare_task

    base = default_setting(name)
    settings = [
        base,
        Setting(base.metric, base.filter, n_shot=0),
        Setting(base.metric, base.filter, n_shot=2),
    ]
    if name == "gsm8k":
        settings += [
            Setting("exact_match", "flexible-extract", n_shot=0, chain_of_thought=True),
            Setting("exact_match", "strict-match", n_shot=8, chain_of_thought=True),
            Setting("exact_match", "strict-match", n_shot=3, chain_of_thought=True),
        ]
    out: dict[str, Any] = {}
    rows = list(range(0, min(len(bs), 400), 7))
    with tempfile.TemporaryDirectory() as td:
        for k, setting in enumerate(settings):
            try:
                plan = prepare_task(bs, setting, Path(td) / str(k), rows=rows)
                d = {**plan.to_dict(), "doc_rows": plan.doc_rows, "subjects": plan.subjects}
                out[str(k)] = json.loads(json.dumps(d, default=str).replace(td, "{td}"))
            except Exception as exc:  # the error is part of the behaviour
                out[str(k)] = f"{type(exc).__name__}: {str(exc).replace(td, '{td}')}"
    return out


def snapshot(full: bool, work: Path) -> dict[str, Any]:
    from harness.data import BENCHMARKS, load_benchmark
    from harness.verify import sections
    from harness.verify.ceilings import ceiling_test, label_error_ceiling, no_ceiling_reason
    from harness.verify.claims import ClaimsError, default_setting, parse_claims
    from harness.verify.runner import run_verify

    res: dict[str, Any] = {"names": list(BENCHMARKS)}
    for name in BENCHMARKS:
        bs = load_benchmark(name)
        res[f"data/{name}"] = {
            "sha": bs.content_sha256,
            "ids": hashlib.sha256("\n".join(i.item_id for i in bs.items).encode()).hexdigest(),
            "items": hashlib.sha256(repr(list(bs.items)).encode()).hexdigest(),
            "source": bs.source.to_dict(),
        }
        res[f"default_setting/{name}"] = default_setting(name).to_dict()
        ceiling = label_error_ceiling(name)
        res[f"ceiling/{name}"] = ceiling.to_dict() if ceiling else no_ceiling_reason(name)
        if ceiling:
            tests = ((0.992, 1), (0.999, 1), (0.899, 1), (0.98, 2), (1.0, 0))
            res[f"ceiling_test/{name}"] = [ceiling_test(ceiling, v, d).to_dict() for v, d in tests]
        res[f"cluster_key/{name}"] = sections.cluster_key(name, list(bs.rows))
        res[f"plans/{name}"] = _plans(name, bs)
    for k, bad in enumerate(BAD_CLAIMS):
        try:
            parse_claims(bad, "f.toml")
            res[f"bad_claims/{k}"] = "accepted"
        except ClaimsError as exc:
            res[f"bad_claims/{k}"] = str(exc)
    res["claims"] = parse_claims(CLAIMS, "f.toml").to_dict()
    with tempfile.TemporaryDirectory() as td:
        record = run_verify(out_dir=Path(td), claims=CLAIMS, plausibility_only=True)
        res["plausibility"] = _without_run_facts(record)
        res["plausibility_md"] = _markdown(Path(td) / "verify.md")
    if full:
        res.update(_full_runs(work))
    return res


def _without_run_facts(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("timing", "versions")}


def _markdown(path: Path) -> str:
    return "\n".join(line for line in path.read_text().splitlines() if not line.startswith("- Versions"))


def _full_runs(work: Path) -> dict[str, Any]:
    import pandas as pd

    from harness.data import BENCHMARKS, load_benchmark

    try:
        from harness.testing.variants import tiny_llama
    except ImportError:  # a tree from before issue 10 phase 2 moved the test doubles
        from harness.testing.variants import tiny_llama
    from harness.verify.records import rescore
    from harness.verify.runner import run_verify

    work.mkdir(parents=True, exist_ok=True)
    model = work / "tiny"
    if not model.exists():
        texts = [r["question"] + "\n" + r["answer"] for r in load_benchmark("gsm8k", "train").rows]
        tiny_llama(model, texts=texts, seed=0, max_position_embeddings=8192)
    claims = {
        "model": "tiny",
        "gsm8k": {"value": 99.9, "filter": "flexible-extract", "n_shot": 2, "chat_template": True},
        "arc_easy": {"value": 25.0},
        "mmlu": {"value": 25.0},
        "hellaswag": {"value": 30.0},
    }
    mmlu, arc = load_benchmark("mmlu"), load_benchmark("arc_easy")
    dirty = [it.item_id for it in mmlu.items[:100:2]] + [arc.items[0].item_id]
    leakage = work / "leakage.json"
    leakage.write_text(json.dumps({"items": [{"item_id": i, "dirty": True} for i in dirty]}))
    out: dict[str, Any] = {}
    for label, kw in (("limit", {"limit": 2}), ("sample", {"sample": {"default": 3, "mmlu": 20}})):
        run_dir = work / f"run-{label}"
        record = run_verify(
            model=str(model), backend="hf", out_dir=run_dir, claims=claims, benchmarks=list(BENCHMARKS),
            gen_kwargs={"max_gen_toks": 4}, clean_from=leakage, progress=False, **kw,
        )  # fmt: skip
        out[f"run/{label}"] = json.loads(json.dumps(_without_run_facts(record)).replace(str(work), "{work}"))
        out[f"run_md/{label}"] = _markdown(run_dir / "verify.md").replace(str(work), "{work}")
        out[f"items/{label}"] = pd.read_parquet(run_dir / "items.parquet").to_json()
        out[f"rescore/{label}"] = rescore(run_dir / "items.parquet")
    return out


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    if type(a) is not type(b):
        return [f"{path}: {type(a).__name__} != {type(b).__name__}"]
    if isinstance(a, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in {'after' if k not in a else 'before'}")
            else:
                out += differences(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list):
        out = [f"{path}: {len(a)} != {len(b)} entries"] if len(a) != len(b) else []
        return out + [
            d for i, (x, y) in enumerate(zip(a, b, strict=False)) for d in differences(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [f"{path}: {str(a)[:200]!r} != {str(b)[:200]!r}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, help="where to write the snapshot (JSON)")
    parser.add_argument("--full", action="store_true", help="also run a tiny model on all benchmarks")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "harness-snapshot")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        before, after = (orjson.loads(p.read_bytes()) for p in args.compare)
        found = differences(before, after)
        moved = [d for d in found if ".source.location" in d]  # the checkout's own path
        real = [d for d in found if d not in moved]
        print(f"{len(real)} difference(s); {len(moved)} install-location difference(s) not counted")
        print("\n".join(real[:100]))
        return 1 if real else 0
    if args.out is None:
        parser.error("give OUT, or --compare BEFORE AFTER")
    args.out.write_bytes(
        orjson.dumps(snapshot(args.full, args.work), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    )
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

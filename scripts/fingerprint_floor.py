"""Measure the fingerprint's honest floor (false `mismatch`) and its power on substitutes, on the zoo.

For every endpoint of the zoo (``harness/testing/zoo.py``: honest servings of SmolLM2-135M-Instruct's
float32 weights and substitutes, all built offline), start its real server(s), run
``harness.fingerprint.run_fingerprint`` ``--runs`` times (seeds ``--seed0`` ...), and append one JSON row
per run to ``OUT/floor.jsonl``. Rows are keyed by endpoint, seed, budget and a digest of the
``harness/fingerprint`` sources, so a rerun skips what is done (resume after a stop) and a changed
fingerprint code is measured afresh. Then ``OUT/floor.md`` and ``OUT/floor.json`` hold the tables
(``harness.testing.floor``), and ``OUT/zoo_manifest.json`` the artefacts' provenance (recipe, sha256,
size, build seconds, measured weight error of each quantisation).

    nice -n 10 python scripts/fingerprint_floor.py --out reports/fingerprint_floor --runs 10
    python scripts/fingerprint_floor.py --quick --out /tmp/floor-smoke      # a smoke test (5 runs)
    python scripts/fingerprint_floor.py --endpoints 'llama.cpp-*' 'ft-*' --runs 3
    python scripts/fingerprint_floor.py --summary-only --out reports/fingerprint_floor

CPU seconds per run (this process plus the endpoint's server processes) are recorded beside wall time,
because the machine may be shared. Exit status: 0 when every requested run completed, 2 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import harness.fingerprint as fingerprint_pkg
from harness.records.files import write_json
from harness.testing import floor
from harness.testing.zoo import Endpoint, select, serve_endpoint


def _read_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    if path.is_file():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a kill: that run is redone
                print(f"{path}:{n}: unreadable row skipped (will be redone)", file=sys.stderr)
    return rows


def _append(path: Path, row: dict[str, Any]) -> None:
    with path.open("a") as f:
        f.write(json.dumps(row, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _cpu_seconds(pids: list[int]) -> float:
    """CPU seconds used so far by this process and by the given processes and their children."""
    import psutil

    total = sum(os.times()[:2])
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for p in [proc, *proc.children(recursive=True)]:
                t = p.cpu_times()
                total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _server_pids() -> list[int]:
    import psutil

    return [c.pid for c in psutil.Process().children(recursive=False)]


def run_endpoint(
    ep: Endpoint, seeds: list[int], *, args: argparse.Namespace, code: str, jsonl: Path, manifest: dict
) -> int:
    """Fingerprint ``ep`` once per seed not done yet; returns the number of harness failures."""
    from harness.fingerprint import run_fingerprint

    failures = 0
    try:
        started = time.monotonic()
        with serve_endpoint(ep, args.reference_dir) as running:
            manifest[ep.name] = {
                **ep.to_dict(),
                "artifacts": running.artifacts,
                "start_seconds": round(time.monotonic() - started, 1),
            }
            write_json(args.out / "zoo_manifest.json", manifest)
            honest, klass = floor.claim_class(ep.honest, ep.klass, ep.within(args.tolerance), args.tolerance)
            for seed in seeds:
                key = floor.run_key(ep.name, seed, args.budget, code, args.tolerance)
                out_dir = args.out / "runs" / ep.name / f"seed{seed}"
                pids = _server_pids()
                cpu0, t0 = _cpu_seconds(pids), time.monotonic()
                record = run_fingerprint(
                    out_dir=out_dir,
                    endpoint=running.base_url,
                    model=running.model,
                    reference=args.reference,
                    budget=args.budget,
                    seed=seed,
                    progress=False,
                    tolerance=args.tolerance,
                )
                row = {
                    "key": key,
                    "endpoint": ep.name,
                    "class": klass,
                    "honest": honest,
                    "seed": seed,
                    "budget": args.budget,
                    "tolerance": args.tolerance,
                    "code": code,
                    **floor.compact_run(record),
                    "wall_seconds": round(time.monotonic() - t0, 2),
                    "cpu_seconds": round(_cpu_seconds(pids) - cpu0, 2),
                }
                _append(jsonl, row)
                print(
                    f"{ep.name:45s} seed {seed:3d}: {row['verdict']:12s} {row['requests']:4d} req "
                    f"{row['tokens']:6d} tok {row['wall_seconds']:6.1f}s wall {row['cpu_seconds']:6.1f}s cpu",
                    flush=True,
                )
    except Exception as e:  # a build or server failure: recorded, retried on the next run
        failures += 1
        msg = f"{type(e).__name__}: {e}"
        print(f"{ep.name}: FAILED {msg[:500]}", file=sys.stderr, flush=True)
        _append(
            jsonl,
            {
                "key": f"{ep.name}|failure",
                "endpoint": ep.name,
                "failure": True,
                "error": msg[:4000],
                "traceback": traceback.format_exc()[-4000:],
                "code": code,
            },
        )
    return failures


def _exit_on_sigterm() -> None:
    """SIGTERM (kill, a CI timeout) unwinds like Ctrl-C, so every server this run started is stopped."""
    import signal

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("reports/fingerprint_floor"))
    ap.add_argument("--runs", type=int, default=10, help="fingerprints per endpoint (seeds seed0..)")
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--budget", type=int, default=200, help="request budget per fingerprint")
    ap.add_argument("--endpoints", nargs="*", help="endpoint names or globs (default: the whole zoo)")
    ap.add_argument("--honest-only", action="store_true")
    ap.add_argument("--substitutes-only", action="store_true")
    ap.add_argument("--quick", action="store_true", help="smoke test: 5 endpoints, 1 run each")
    ap.add_argument("--reference", default="smollm2", help="the claimed model (default: SmolLM2 float32)")
    ap.add_argument(
        "--tolerance",
        default="4bit",
        choices=("16bit", "8bit", "4bit"),
        help="the claimed numerics passed to every fingerprint; under 8bit or 16bit, honest endpoints "
        "computing with fewer bits count as substitutes ('quantised below the claimed ...')",
    )
    ap.add_argument("--summary-only", action="store_true", help="only rewrite the tables from the JSONL")
    ap.add_argument(
        "--code",
        help="with --summary-only: tabulate the rows of this fingerprint code digest (default: the code "
        "installed now); rows of other code are never mixed in",
    )
    ap.add_argument("--list", action="store_true", help="list the zoo and exit")
    args = ap.parse_args(argv)

    eps = select(args.endpoints, quick=args.quick)
    if args.honest_only:
        eps = [e for e in eps if e.honest]
    if args.substitutes_only:
        eps = [e for e in eps if not e.honest]
    if args.list:
        for e in eps:
            print(
                f"{e.name:45s} {'honest' if e.honest else 'substitute':10s} {e.klass:35s} {e.model.describe()}"
            )
        return 0
    runs = 1 if args.quick and args.runs == 10 else args.runs
    args.out.mkdir(parents=True, exist_ok=True)
    jsonl = args.out / "floor.jsonl"
    code = floor.code_digest(Path(fingerprint_pkg.__file__).parent)
    if args.code:
        if not args.summary_only:
            ap.error("--code only with --summary-only: new runs always use the installed code")
        code = args.code
    failures = 0
    if not args.summary_only:
        _exit_on_sigterm()
        from harness.models.smollm2 import resolve_model_path

        args.reference_dir = Path(resolve_model_path(args.reference))
        manifest_path = args.out / "zoo_manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
        done = floor.completed(_read_rows(jsonl))
        seeds = list(range(args.seed0, args.seed0 + runs))
        for ep in eps:
            todo = [
                s for s in seeds if floor.run_key(ep.name, s, args.budget, code, args.tolerance) not in done
            ]
            if not todo:
                continue
            failures += run_endpoint(ep, todo, args=args, code=code, jsonl=jsonl, manifest=manifest)
    rows = [
        r
        for r in _read_rows(jsonl)
        if r.get("code") == code
        and r.get("budget", args.budget) == args.budget
        and r.get("tolerance", "4bit") == args.tolerance
    ]
    summary = floor.summarise(rows)
    meta = {
        "fingerprint code digest": code,
        "budget (requests)": args.budget,
        "tolerance (claimed numerics)": args.tolerance,
        "reference": args.reference,
        "harness failures (retried on resume)": sum(1 for r in rows if r.get("failure")),
    }
    write_json(args.out / "floor.json", {"meta": meta, **summary})
    (args.out / "floor.md").write_text(floor.render_markdown(summary, meta=meta))
    print(f"tables: {args.out / 'floor.md'}")
    return 2 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Check the fingerprint calibration's honest-numerics assumption against real quantised files.

The tests' null bounds rest on one stated assumption per numerics tier: an honest implementation
perturbs the reference's per-token log-probabilities by at most RHO times the tier's strongest simulated
variant (in mean square over pool texts), and flips a confident greedy token no more often than the
calibrated ``flip_rate``. This script measures both on real llama.cpp GGUF files made *from* the
reference's float32 weights (never the other way round), by evaluating the same calibration texts with
llama-cpp-python and comparing full distributions:

    python scripts/fingerprint_calibration_check.py --reference smollm2 \
        --gguf Q8_0=/path/model-Q8_0.gguf --gguf Q4_K_M=/path/model-Q4_K_M.gguf --out check.json

For each file and tier it reports the mean of the logprob test's Y (must stay <= 1 for files the tier
calls honest), the RMS per-token difference against the tier's band, and the flips at confident
positions (margin > tau) against the bound. Wall time and CPU seconds are printed (the machine may be
shared); results go to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", default="smollm2")
    ap.add_argument("--gguf", action="append", default=[], help="NAME=PATH of a GGUF made from the reference")
    ap.add_argument(
        "--model",
        action="append",
        default=[],
        help="NAME=DIR of a transformers model (e.g. a fine-tune) to place",
    )
    ap.add_argument("--texts", type=int, default=24)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    import llama_cpp
    import numpy as np
    import torch

    from harness.fingerprint import pool
    from harness.fingerprint.reference import CALIBRATION_SEED, TIERS, load_reference

    t0, c0 = time.time(), _cpu_seconds()
    ref = load_reference(args.reference)
    cal = ref.calibration()
    seqs = [ref.encode(it.text) for it in pool.draw("natural", CALIBRATION_SEED, args.texts)]
    ref_rows = ref._forward(seqs, ref.model)
    results: dict[str, dict] = {"calibration": cal.to_dict(), "files": {}}

    def gguf_rows(path):
        llm = llama_cpp.Llama(path, logits_all=True, n_threads=args.threads, n_ctx=1024, verbose=False)
        for s in seqs:
            llm.reset()
            llm.eval(s)
            yield torch.log_softmax(torch.tensor(np.array(llm.scores[: len(s)])).float(), dim=-1)

    def hf_rows(path):
        from transformers import AutoModelForCausalLM

        m = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
        with torch.inference_mode():
            for s in seqs:
                yield torch.log_softmax(m(input_ids=torch.tensor([s])).logits[0].float(), dim=-1)

    specs = [(spec, gguf_rows) for spec in args.gguf] + [(spec, hf_rows) for spec in args.model]
    for spec, rows_of in specs:
        name, path = spec.split("=", 1)
        ds, flips, highs = [], {t: 0 for t in TIERS}, {t: 0 for t in TIERS}
        per_text_r2 = []
        for s, r, lp in zip(seqs, ref_rows, rows_of(path), strict=True):
            obs = lp[:-1].gather(1, torch.tensor(s[1:])[:, None])[:, 0].double().numpy()
            d = obs - r["obs"]
            ds.append(d)
            per_text_r2.append(float(np.mean(d**2)))
            top1 = lp.argmax(dim=-1).numpy()
            for tier in TIERS:
                high = r["margin"] > cal.tau[tier]
                highs[tier] += int(high.sum())
                flips[tier] += int((high & (top1 != r["top1"])).sum())
        all_d = np.concatenate(ds)
        row = {"rms": float(np.sqrt(np.mean(all_d**2))), "tiers": {}}
        for tier in TIERS:
            band = cal.band(tier, generated=False)
            ys = [min(25.0, r2 / (cal.rho * band) ** 2) for r2 in per_text_r2]
            row["tiers"][tier] = {
                "band": band,
                "mean_Y_logprob": float(np.mean(ys)),
                "logprob_assumption_holds": float(np.mean(ys)) <= 1.0,
                "confident_positions": highs[tier],
                "flips_at_confident_positions": flips[tier],
                "flip_rate_observed": flips[tier] / highs[tier] if highs[tier] else None,
                "flip_rate_bound": cal.flip_rate[tier],
            }
        results["files"][name] = row
        print(name, json.dumps(row), flush=True)
    results["seconds"] = round(time.time() - t0, 1)
    results["cpu_seconds"] = round(_cpu_seconds() - c0, 1)
    print(f"wall {results['seconds']} s, CPU {results['cpu_seconds']} s")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

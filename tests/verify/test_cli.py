"""`harness verify` end to end on a tiny random-weight Llama (hf backend, CPU), and its bad-input errors.

The tiny model scores at chance, which is what makes its runs useful here: every verdict path that
does not need a good model (implausible, inconclusive, clean-vs-dirty, exit codes, reproducibility,
the report contract) is exercised on all five benchmarks in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pandas as pd
import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.data import load_benchmark

BENCHMARKS = ["gsm8k", "mmlu", "arc_challenge", "arc_easy", "hellaswag"]
CLAIMS = """
model = "tiny random llama"

[gsm8k]
value = 99.9
filter = "flexible-extract"
n_shot = 2
chat_template = true
source = "https://example.org/launch"

[arc_easy]
value = 25.0
source = "hand-written for the test"

[mmlu]
value = 25.0
"""


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["verify", *args])
    return result.exit_code, result.output


@pytest.fixture(scope="session")
def tiny_run(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One CLI run over all five benchmarks, with claims and a leakage file (shared by the tests)."""
    root = tmp_path_factory.mktemp("verify-tiny")
    claims = root / "claims.toml"
    claims.write_text(CLAIMS, encoding="utf-8")
    mmlu = load_benchmark("mmlu")
    arc = load_benchmark("arc_easy")
    dirty = [it.item_id for it in mmlu.items[:100:2]] + [arc.items[0].item_id]  # half of abstract_algebra
    leakage = root / "leakage.json"
    leakage.write_text(
        json.dumps(
            {"items": [{"item_id": i, "dirty": True} for i in dirty] + [{"item_id": "x", "dirty": False}]}
        )
    )
    out = root / "out"
    code, output = invoke(
        "--model", str(tiny_llama_dir), "--backend", "hf", "--claims", str(claims),
        "--benchmarks", ",".join(BENCHMARKS), "--limit", "2", "--max-gen-toks", "4",
        "--clean-from", str(leakage), "--out", str(out), "--quiet",
    )  # fmt: skip
    report = orjson.loads((out / "verify.json").read_bytes())
    return {"code": code, "output": output, "out": out, "report": report, "model": tiny_llama_dir}


def test_exit_code_table_and_files(tiny_run):
    assert tiny_run["code"] == 1, tiny_run["output"]  # GSM8K 99.9 is implausible: a claim fails
    assert "implausible" in tiny_run["output"] and "harness verify: flagged" in tiny_run["output"]
    out = tiny_run["out"]
    assert {p.name for p in out.iterdir()} >= {"verify.json", "verify.md", "items.parquet", "lm_eval_tasks"}
    md = (out / "verify.md").read_text()
    assert "**Status: flagged.**" in md and "GSM8K-Platinum" in md and "PARTIAL" in md


def test_every_benchmark_measured_on_the_first_items(tiny_run):
    report = tiny_run["report"]
    assert report["status"] == "flagged" and report["settings"]["benchmarks"] == BENCHMARKS
    frame = pd.read_parquet(tiny_run["out"] / "items.parquet")
    for name in BENCHMARKS:
        sec = report["benchmarks"][name]
        n = 114 if name == "mmlu" else 2  # MMLU: the first 2 of each of 57 subjects
        assert sec["measurement"]["n"] == n == sec["data"]["items_scored"]
        # lm-eval's own aggregate is the plain mean over the items scored; for MMLU the measurement is
        # the stratified micro-average of the full test set, which keeps the plain mean beside it
        plain = sec["measurement"]["sample_mean"] if name == "mmlu" else sec["measurement"]["score"]
        assert sec["lm_eval_score"] == pytest.approx(plain)
        ids = list(frame.loc[frame["benchmark"] == name, "item_id"])
        items = load_benchmark(name).items
        if name != "mmlu":
            assert ids == [items[0].item_id, items[1].item_id]
        assert frame.loc[frame["benchmark"] == name, "correct"].mean() == pytest.approx(plain)
        assert sec["data"]["selection"]["method"] == "first_n"
        assert sec["lm_eval"]["results"], "lm-eval's own results are kept"
    # MMLU: the full test set's micro-average, subjects as strata (not clusters)
    assert report["benchmarks"]["mmlu"]["measurement"]["se_method"] == "stratified"
    assert report["benchmarks"]["mmlu"]["measurement"]["cluster_key"] == "subject"
    # HellaSwag: clustered by the source key the copy has (the bundled text release: activity_label)
    assert report["benchmarks"]["hellaswag"]["measurement"]["se_method"] in ("clustered", "binomial")
    assert report["schema"] == "harness.verify" and report["schema_version"] == 2
    assert report["family"]["correction"] == "Holm"
    assert report["benchmarks"]["mmlu"]["partial"] is True
    assert report["benchmarks"]["gsm8k"]["setting"] == {
        "metric": "exact_match", "filter": "flexible-extract", "n_shot": 2,
        "chain_of_thought": False, "chat_template": True, "max_gen_toks": None,
    }  # fmt: skip
    # the claim's chat template and 2 shots reached lm-eval: multi-turn ChatML prompts
    prompt = json.loads(frame.loc[frame["benchmark"] == "gsm8k", "prompt"].iloc[0])[0][0]
    assert prompt.count("<|im_start|>user") == 3 and prompt.endswith("<|im_start|>assistant\n")
    assert report["benchmarks"]["gsm8k"]["lm_eval"]["fewshot_source"]["split"] == "train"
    arc_prompt = json.loads(frame.loc[frame["benchmark"] == "arc_easy", "prompt"].iloc[0])[0][0]
    assert arc_prompt.startswith("Question: ") and "<|im_start|>" not in arc_prompt


def test_verdicts_and_caveats(tiny_run):
    b = tiny_run["report"]["benchmarks"]
    assert b["gsm8k"]["verdict"]["label"] == "implausible"
    assert b["gsm8k"]["claim_test"]["claimed"] == pytest.approx(0.999)
    assert b["gsm8k"]["ceiling_test"]["p_value"] == 0.0
    assert any("max_gen_toks=4" in r for r in b["gsm8k"]["verdict"]["reasons"])
    # the run capped generations at 4 tokens: a setting the claim was not made under
    assert "capped generations at 4" in b["gsm8k"]["setting_comparison"]["differences"][0]
    assert b["gsm8k"]["truncation"]["max_gen_toks"] == 4 and b["gsm8k"]["truncation"]["truncated"] >= 0
    for name in ("arc_easy", "mmlu"):
        # 25% claimed, a chance-level model, 2 items (114 for MMLU): nothing refutes it
        assert b[name]["verdict"]["label"] in ("consistent", "inconclusive")
        assert any("not a random sample" in r for r in b[name]["verdict"]["reasons"])
    assert b["hellaswag"]["verdict"] is None and b["hellaswag"]["claim"] is None
    assert b["mmlu"]["full_test_estimate"]["strata"] == 57


def test_clean_versus_dirty(tiny_run):
    b = tiny_run["report"]["benchmarks"]
    mmlu = b["mmlu"]["contamination"]
    assert mmlu["dirty_items_scored"] == 1  # only abstract_algebra's first item is both dirty and scored
    assert mmlu["clean"]["n"] == 113 and mmlu["dirty"]["n"] == 1
    assert 0.0 <= mmlu["p_value"] <= 1.0 and mmlu["difference_test"]["method"] == "score"
    assert mmlu["adjusted_score"] == mmlu["clean"]["score"]
    assert b["arc_easy"]["contamination"]["dirty"]["n"] == 1
    hs = b["hellaswag"]["contamination"]
    assert hs["dirty"] is None and hs["p_value"] is None and hs["clean"]["n"] == 2
    assert tiny_run["report"]["settings"]["clean_from"]["dirty_items"] == 51


def test_record_identifies_model_and_data(tiny_run):
    report = tiny_run["report"]
    model = report["model"]
    assert model["lm_eval_model"] == "hf" and model["model_args"]["device"] == "cpu"
    assert model["identity"]["revision"].startswith("sha256:")
    assert "model.safetensors" in model["identity"]["files"]
    # the shared package list (harness.records.files), keyed by distribution name
    assert report["versions"]["lm-eval"] == "0.4.13" and report["versions"]["statsmodels"]
    for sec in report["benchmarks"].values():
        assert len(sec["data"]["content_sha256"]) == 64
    text = (tiny_run["out"] / "verify.json").read_text()
    assert str(tiny_run["out"]) not in text  # paths inside the run folder are relative


def test_the_written_record_validates_against_its_model(tiny_run):
    """verify.json is a VerifyRecord: read back through the model, it is the file, key for key."""
    from harness.records.io import record_dict
    from harness.records.verify import read_verify_record

    record = read_verify_record(tiny_run["out"] / "verify.json")
    assert record.mode == "measured" and record.benchmarks["mmlu"].full_test_estimate is not None
    assert record_dict(record) == tiny_run["report"]


def test_report_views_read_this_shape(tiny_run):
    """The audit report's reader (harness.report.views.claim_rows) finds every number it shows."""
    from harness.report.views import claim_rows

    rows = {r.benchmark: r for r in claim_rows("weights", tiny_run["report"])}
    g = rows["gsm8k"]
    m = tiny_run["report"]["benchmarks"]["gsm8k"]["measurement"]
    assert g.claimed == pytest.approx(0.999)
    assert (g.measured, g.ci_low, g.ci_high, g.n) == (
        m["score"],
        m["ci_low"],
        m["ci_high"],
        2,
    )
    assert g.verdict == "implausible" and g.failing and g.reasons and g.ceiling == pytest.approx(1 - 2 / 1319)
    assert g.source == "https://example.org/launch"
    assert "exact_match" in g.setting
    mm = rows["mmlu"]
    assert mm.partial and mm.clean_n == 113 and mm.dirty_n == 1 and mm.contamination_p is not None


def test_same_inputs_give_the_same_json(tiny_llama_dir, tmp_path):
    claims = tmp_path / "claims.toml"
    claims.write_text("[arc_challenge]\nvalue = 30\n[gsm8k]\nvalue = 10\n")
    reports = []
    for name in ("a", "b"):
        code, output = invoke(
            "--model", str(tiny_llama_dir), "--backend", "hf", "--claims", str(claims),
            "--sample", "3", "--seed", "7", "--max-gen-toks", "3", "--out", str(tmp_path / name), "-q",
        )  # fmt: skip
        # nothing refuted; GSM8K's 10% against 0 of 3 is not significant: unresolved (exit 3)
        assert code == 3, output
        reports.append(orjson.loads((tmp_path / name / "verify.json").read_bytes()))
    for report in reports:
        assert report.pop("timing")["total_s"] > 0
    assert reports[0] == reports[1]
    rows = reports[0]["benchmarks"]["arc_challenge"]["data"]
    assert rows["selection"] == {
        "method": "random_sample", "n": 3, "seed": 7,
        "description": "random sample of 3 of 1172 items (seed 7)",
    }  # fmt: skip
    texts = [(tmp_path / n / "verify.json").read_text() for n in ("a", "b")]
    strip = [json.dumps({k: v for k, v in json.loads(t).items() if k != "timing"}) for t in texts]
    assert strip[0] == strip[1]


# --- bad input: exit code 2 and a message that says what to fix, before any model is loaded ----------


@pytest.fixture
def claims_file(tmp_path: Path) -> Path:
    path = tmp_path / "claims.toml"
    path.write_text('[arc_easy]\nvalue = 60\n[gsm8k]\nvalue = 50\nsource = "x"\n')
    return path


# port 9 (discard) on loopback: nothing listens there
ENDPOINT_GSM8K = [
    "--backend",
    "openai-completions",
    "--benchmarks",
    "gsm8k",
    "--base-url",
    "http://127.0.0.1:9/v1",
]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--backend", "hf", "--claims", "{bad_toml}"], "not valid TOML"),
        (["--backend", "hf", "--claims", "{bad_metric}"], "arc_easy.metric = 'exact_match'"),
        (["--backend", "hf", "--benchmarks", "humaneval"], "unknown benchmark(s) ['humaneval']"),
        (["--backend", "hf"], "nothing to run"),
        (["--backend", "tgi", "--claims", "{claims}"], "unknown backend 'tgi'"),
        (["--backend", "hf", "--claims", "{claims}", "--limit", "0"], "--limit must be a positive"),
        (["--backend", "hf", "--claims", "{claims}", "--limit", "2", "--sample", "3"], "not both"),
        (
            ["--backend", "hf", "--claims", "{claims}", "--base-url", "http://x/v1"],
            "--base-url is for the endpoint",
        ),
        (
            ["--backend", "hf", "--claims", "{claims}", "--tensor-parallel-size", "2"],
            "tensor_parallel_size do not apply",
        ),
        (["--backend", "hf", "--claims", "{claims}", "--model-arg", "dtype"], "expected KEY=VALUE"),
        (["--backend", "hf", "--claims", "{claims}", "--model-arg", "api_key=sk-123"], "--api-key-env VAR"),
        (["--backend", "hf", "--claims", "{claims}", "--clean-from", "{missing}"], "--clean-from"),
        (["--backend", "openai-chat", "--claims", "{claims}"], "needs --base-url"),
        (
            ["--backend", "openai-chat", "--claims", "{claims}", "--base-url", "http://127.0.0.1:9/v1"],
            "chat endpoints do not return",
        ),
        (
            [
                "--backend",
                "openai-completions",
                "--claims",
                "{claims}",
                "--base-url",
                "http://127.0.0.1:9/v1",
            ],
            "--tokenizer",
        ),
        (
            [*ENDPOINT_GSM8K, "--api-key-env", "HARNESS_TEST_UNSET_KEY"],
            "HARNESS_TEST_UNSET_KEY: that environment variable is not set",
        ),
        (ENDPOINT_GSM8K, "not reachable"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(tmp_path, claims_file, monkeypatch, extra, message):
    monkeypatch.delenv("HARNESS_TEST_UNSET_KEY", raising=False)
    (tmp_path / "bad.toml").write_text("[arc_easy\nvalue = 1\n")
    (tmp_path / "metric.toml").write_text("[arc_easy]\nvalue = 1\nmetric = 'exact_match'\n")
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    subs = {
        "{claims}": str(claims_file),
        "{bad_toml}": str(tmp_path / "bad.toml"),
        "{bad_metric}": str(tmp_path / "metric.toml"),
        "{missing}": str(tmp_path / "missing.json"),
    }
    args = [subs.get(a, a) for a in extra]
    code, output = invoke("--model", str(model), *args, "--out", str(tmp_path / "out"))
    assert code == 2, output
    assert message in " ".join(output.split()), output
    assert "Traceback" not in output


# --- --plausibility-only: the ceilings alone, no model, the same verify.json shape ----------------------


def test_plausibility_only_without_a_model(tmp_path, tiny_run):
    from harness.records.header import RecordHeader
    from harness.records.verify import read_verify_record

    possible = tmp_path / "possible.toml"
    possible.write_text(
        '[gsm8k]\nvalue = 96.8\nsource = "Llama 3.1 405B Instruct model card"\n[mmlu]\nvalue = 88.6\n'
    )
    code, output = invoke("--claims", str(possible), "--plausibility-only", "--out", str(tmp_path / "p"))
    assert code == 3, output  # possible, but nothing measured: unresolved
    report = orjson.loads((tmp_path / "p" / "verify.json").read_bytes())
    assert report["mode"] == "plausibility-only" and report["status"] == "unresolved"
    RecordHeader.model_validate(report)  # the shared header: schema, schema_version, status, headline, timing
    assert read_verify_record(tmp_path / "p" / "verify.json").mode == "plausibility-only"
    measured = tiny_run["report"]
    for name, sec in report["benchmarks"].items():
        assert set(sec) == set(measured["benchmarks"][name]), name  # the same shape as a measured run
        assert sec["measurement"] is None and sec["verdict"]["label"] == "inconclusive"
        assert sec["ceiling_test"]["p_value"] == 1.0
    assert not (tmp_path / "p" / "items.parquet").exists()

    impossible = tmp_path / "impossible.toml"
    impossible.write_text("[gsm8k]\nvalue = 99.9\n[mmlu]\nvalue = 89.9\n")
    code, output = invoke("--claims", str(impossible), "--plausibility-only", "--out", str(tmp_path / "q"))
    assert code == 1, output
    report = orjson.loads((tmp_path / "q" / "verify.json").read_bytes())
    assert report["benchmarks"]["gsm8k"]["verdict"]["label"] == "implausible"
    assert report["benchmarks"]["mmlu"]["verdict"]["label"] == "inconclusive"
    assert report["family"]["correction"] == "Holm" and len(report["family"]["accusing_tests"]) == 2

    code, output = invoke("--plausibility-only", "--out", str(tmp_path / "r"))
    assert code == 2 and "needs --claims" in output
    code, output = invoke("--claims", str(possible), "--out", str(tmp_path / "s"))
    assert code == 2 and "--model and --backend" in " ".join(output.split())


# --- --json: the record on stdout, nothing else; progress and errors on stderr ------------------------


def test_json_prints_the_record_alone(tmp_path):
    claims = tmp_path / "claims.toml"
    claims.write_text("[gsm8k]\nvalue = 99.9\n[mmlu]\nvalue = 89.9\n")
    result = CliRunner().invoke(
        app,
        ["verify", "--claims", str(claims), "--plausibility-only", "--json", "--out", str(tmp_path / "o")],
    )
    assert result.exit_code == 1, result.output  # the same exit code as without --json
    assert orjson.loads(result.stdout) == orjson.loads((tmp_path / "o" / "verify.json").read_bytes())
    assert "harness verify" not in result.stdout  # no table

    bad = CliRunner().invoke(app, ["verify", "--plausibility-only", "--json", "--out", str(tmp_path / "b")])
    assert bad.exit_code == 2 and bad.stdout == "" and "needs --claims" in bad.stderr


@pytest.mark.slow
def test_json_keeps_library_output_off_stdout(tiny_llama_dir, tmp_path):
    """A real run in a pipe: lm-eval's and the progress lines go to stderr, the record alone to stdout."""
    import subprocess
    import sys

    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "verify", "--model", str(tiny_llama_dir), "--backend", "hf",
         "--benchmarks", "arc_easy", "--limit", "2", "--json", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]  # no claims: clean
    assert orjson.loads(proc.stdout) == orjson.loads((out / "verify.json").read_bytes())
    assert "lm-eval task harness_arc_easy" in proc.stderr

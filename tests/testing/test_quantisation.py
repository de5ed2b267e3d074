"""llama.cpp quantisations made from the float32 weights: converter extraction, weight error, a real build."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from harness.testing import quantisation as q


def _tarball(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_extract_converter_takes_only_the_converter(tmp_path: Path) -> None:
    root = "llama_cpp_python-0.3.36/vendor/llama.cpp/"
    sdist = _tarball(
        tmp_path / "s.tar.gz",
        {
            root + "convert_hf_to_gguf.py": b"print('convert')",
            root + "conversion/llama.py": b"x = 1",
            root + "gguf-py/gguf/__init__.py": b"",
            root + "src/llama.cpp": b"int main(){}",
            "llama_cpp_python-0.3.36/llama_cpp/__init__.py": b"",
            "llama_cpp_python-0.3.36/evil/convert_hf_to_gguf.py": b"",
        },
    )
    out = tmp_path / "out"
    taken = q.extract_converter(sdist, out)
    assert taken == ["conversion/llama.py", "convert_hf_to_gguf.py", "gguf-py/gguf/__init__.py"]
    assert (out / "convert_hf_to_gguf.py").read_bytes() == b"print('convert')"
    assert not (out / "src").exists()


def test_extract_converter_names_the_sdist_without_one(tmp_path: Path) -> None:
    sdist = _tarball(tmp_path / "s.tar.gz", {"pkg-1/vendor/llama.cpp/README.md": b""})
    with pytest.raises(q.QuantisationError, match=r"s\.tar\.gz: no vendor/llama.cpp/convert_hf_to_gguf.py"):
        q.extract_converter(sdist, tmp_path / "out")


def _write_gguf(path: Path, tensors: dict[str, tuple[np.ndarray, str]]) -> Path:
    from gguf import GGMLQuantizationType, GGUFWriter
    from gguf.quants import quantize

    w = GGUFWriter(str(path), arch="llama")
    for name, (arr, qtype) in tensors.items():
        t = GGMLQuantizationType[qtype]
        if qtype == "F32":
            w.add_tensor(name, arr.astype(np.float32))
        else:
            w.add_tensor(name, quantize(arr.astype(np.float32), t), raw_dtype=t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_weight_error_measures_distance_and_triviality(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(8, 64)).astype(np.float32)
    norm = rng.normal(size=(64,)).astype(np.float32)
    ref = _write_gguf(tmp_path / "f32.gguf", {"w": (a, "F32"), "n": (norm, "F32")})
    same = _write_gguf(tmp_path / "same.gguf", {"w": (a, "F32"), "n": (norm, "F32")})
    q8 = _write_gguf(tmp_path / "q8.gguf", {"w": (a, "Q8_0"), "n": (norm, "F32")})
    q4 = _write_gguf(tmp_path / "q4.gguf", {"w": (a, "Q4_0"), "n": (norm, "F32")})
    e_same = q.weight_error(ref, same)
    assert e_same["relative_rms_error"] == 0 and e_same["trivial"] and e_same["tensors_bit_identical"] == 2
    e8, e4 = q.weight_error(ref, q8), q.weight_error(ref, q4)
    assert not e8["trivial"] and 1e-4 < e8["relative_rms_error"] < 1e-2
    assert e4["relative_rms_error"] > 5 * e8["relative_rms_error"]
    assert e8["tensor_types"] == {"F32": 1, "Q8_0": 1}
    # A quantisation of already-quantised weights onto the same grid is trivial: the circularity trap.
    deq = _write_gguf(tmp_path / "deq.gguf", {"w": (_dequantised(q4), "F32"), "n": (norm, "F32")})
    again = _write_gguf(tmp_path / "again.gguf", {"w": (_dequantised(q4), "Q4_0"), "n": (norm, "F32")})
    assert q.weight_error(deq, again)["trivial"]


def _dequantised(path: Path) -> np.ndarray:
    from gguf import GGUFReader
    from gguf.quants import dequantize

    t = next(t for t in GGUFReader(str(path)).tensors if t.name == "w")
    return dequantize(t.data, t.tensor_type).reshape(8, 64)


def test_unknown_quant_type(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    with pytest.raises(ValueError, match="Q9_9"):
        q.quantise_gguf(tmp_path / "a.gguf", tmp_path / "b.gguf", "Q9_9")


@pytest.mark.slow
def test_real_quantisation_from_float32_is_served_by_llama_cpp(tiny_same_tokenizer) -> None:
    """llama.cpp's converter and quantiser on a real save_pretrained model; llama-cpp-python serves it."""
    pytest.importorskip("llama_cpp")
    import httpx

    from harness.testing.servers import serve_llama_cpp

    art = q.quantised_gguf(tiny_same_tokenizer.path, "Q8_0")
    facts = art.provenance["facts"]["weight_error"]
    assert not facts["trivial"] and 0 < facts["relative_rms_error"] < 0.02
    assert art.provenance["recipe"]["inputs"]["f32_gguf"]
    assert q.quantised_gguf(tiny_same_tokenizer.path, "Q8_0").path == art.path  # cached
    with serve_llama_cpp(art.file(".gguf"), served_model_name="smollm2", n_ctx=256) as server:
        r = httpx.post(
            server.base_url + "/completions",
            json={
                "model": "smollm2",
                "prompt": "The capital of France is",
                "max_tokens": 3,
                "temperature": 0,
            },
            timeout=120,
        )
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["completion_tokens"] >= 1

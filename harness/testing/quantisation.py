"""Honest llama.cpp quantisations of the float32 weights, made with llama.cpp's own converter and quantiser.

Why not serve the Q4_1 GGUF that SmolLM2 ships in? Because harness's float32 reference is de-quantised
*from* that file: serving it back is bit-identical to the reference's weights, so a fingerprint that
"matches" it proves nothing about honest quantisations in general (the circularity issue 13 calls out).
Here every quantisation is made FROM the float32 weights (``convert_hf_to_gguf.py --outtype f32``, then
``llama_model_quantize``), exactly as a provider would make one from a Hub checkpoint, and the record
says how far each one moved the weights (``weight_error``): a type whose grid contains the reference's
grid (Q4_1 here, as the reference sits on a Q4_1 grid) is trivial, and the provenance says so.

The converter comes from llama-cpp-python's source distribution on PyPI (its ``vendor/llama.cpp`` holds
``convert_hf_to_gguf.py``, ``conversion/`` and ``gguf-py/``), fetched once with ``pip download`` and
cached beside the other zoo artefacts; the quantiser is the compiled one in the installed
``llama_cpp`` package (the dev extra), so converter and quantiser come from the same llama.cpp.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from harness.testing.artifacts import Artifact, Recipe, build_cached, tools_dir, weights_digest

DEFAULT_LLAMA_CPP_VERSION = "0.3.36"
CONVERTER_MEMBERS = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/")
# llama.cpp's ftype names (``LLAMA_FTYPE_MOSTLY_<NAME>``) the zoo builds. Q4_1 is kept on purpose: it is
# the trivial control (the reference's weights already lie on its grid).
QUANT_TYPES = ("Q8_0", "Q6_K", "Q5_K_M", "Q5_0", "Q4_K_M", "Q4_K_S", "Q4_0", "Q4_1", "Q3_K_M", "Q2_K")
# A type whose weights differ from the float32 ones by less than this (relative RMS) is called trivial.
TRIVIAL_RELATIVE_RMS = 1e-6


class QuantisationError(RuntimeError):
    """The converter or the quantiser failed; the message carries its output."""


def llama_cpp_version() -> str:
    """The installed llama-cpp-python's version (the sdist must match the compiled quantiser)."""
    try:
        return metadata.version("llama_cpp_python")
    except metadata.PackageNotFoundError:
        return DEFAULT_LLAMA_CPP_VERSION


def _download_sdist(version: str, dest: Path) -> Path:
    local = os.environ.get("HARNESS_LLAMA_CPP_SDIST")  # a pre-fetched tarball (air-gapped machines)
    if local:
        return Path(local)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    cmd += ["--disable-pip-version-check", f"llama-cpp-python=={version}", "-d", str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    found = sorted(dest.glob("llama_cpp_python-*.tar.gz"))
    if proc.returncode != 0 or not found:
        raise QuantisationError(
            f"pip download of the llama-cpp-python {version} sdist failed:\n{proc.stderr[-2000:]}"
        )
    return found[0]


def extract_converter(sdist: Path, out_dir: Path) -> list[str]:
    """Unpack only llama.cpp's converter (script, ``conversion/``, ``gguf-py/``) from the sdist."""
    out_dir = Path(out_dir)
    taken = []
    with tarfile.open(sdist, "r:gz") as tar:
        for member in tar.getmembers():
            parts = member.name.split("/", 1)
            if len(parts) < 2 or not parts[1].startswith("vendor/llama.cpp/"):
                continue
            rel = parts[1].removeprefix("vendor/llama.cpp/")
            if not member.isfile() or not any(
                rel == m or (m.endswith("/") and rel.startswith(m)) for m in CONVERTER_MEMBERS
            ):
                continue
            target = out_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src:  # type: ignore[union-attr]
                target.write_bytes(src.read())
            taken.append(rel)
    if "convert_hf_to_gguf.py" not in taken:
        raise QuantisationError(f"{sdist}: no vendor/llama.cpp/convert_hf_to_gguf.py inside")
    return sorted(taken)


def converter() -> Artifact:
    """llama.cpp's HF-to-GGUF converter matching the installed llama-cpp-python (built once)."""
    version = llama_cpp_version()

    def build(out: Path) -> dict[str, Any]:
        from harness.records.files import sha256_file

        with tempfile.TemporaryDirectory(prefix="harness-sdist-") as tmp:
            sdist = _download_sdist(version, Path(tmp))
            files = extract_converter(sdist, out)
            return {"sdist": sdist.name, "sdist_sha256": sha256_file(sdist), "members": len(files)}

    return build_cached(Recipe("llama-cpp-converter", {"llama_cpp_python": version}), build, root=tools_dir())


def convert_hf_to_gguf(model_dir: Path, outfile: Path, *, outtype: str = "f32") -> None:
    """Run llama.cpp's converter on a ``save_pretrained`` directory (its vendored gguf-py first on path)."""
    conv = converter().path
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(conv / "gguf-py"), str(conv)]))
    cmd = [sys.executable, str(conv / "convert_hf_to_gguf.py"), str(model_dir)]
    cmd += ["--outtype", outtype, "--outfile", str(outfile)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0 or not Path(outfile).is_file():
        raise QuantisationError(f"convert_hf_to_gguf.py failed on {model_dir}:\n{proc.stderr[-3000:]}")


def quantise_gguf(src: Path, dst: Path, quant_type: str, *, nthread: int = 2) -> None:
    """``llama_model_quantize(src, dst)`` to ``LLAMA_FTYPE_MOSTLY_<quant_type>`` (llama.cpp's own code)."""
    import ctypes

    import llama_cpp

    ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{quant_type}", None)
    if ftype is None:
        raise ValueError(f"unknown llama.cpp quantisation type {quant_type!r}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = nthread
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params))
    if rc != 0 or not Path(dst).is_file():
        raise QuantisationError(f"llama_model_quantize({src} -> {quant_type}) returned {rc}")


def weight_error(reference_gguf: Path, other_gguf: Path) -> dict[str, Any]:
    """How far ``other``'s de-quantised tensors lie from ``reference``'s (both GGUF, same tensor names).

    Relative RMS error over all weights (sqrt(sum err^2 / sum w^2)), the largest absolute error, and how
    many tensors are bit-identical after de-quantisation. Uses the ``gguf`` package's numpy
    de-quantisers, which implement every type the zoo builds.
    """
    import numpy as np
    from gguf import GGUFReader
    from gguf.quants import dequantize

    ref = {t.name: t for t in GGUFReader(str(reference_gguf)).tensors}
    err2 = ref2 = 0.0
    max_abs = 0.0
    identical = total = 0
    types: dict[str, int] = {}
    for t in GGUFReader(str(other_gguf)).tensors:
        r = ref.get(t.name)
        if r is None:
            raise QuantisationError(f"{other_gguf}: tensor {t.name} is not in {reference_gguf}")
        a = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float64).ravel()
        b = np.asarray(dequantize(r.data, r.tensor_type), dtype=np.float64).ravel()
        if a.shape != b.shape:
            raise QuantisationError(f"tensor {t.name}: shape {a.shape} vs {b.shape}")
        d = a - b
        err2 += float(d @ d)
        ref2 += float(b @ b)
        max_abs = max(max_abs, float(np.abs(d).max()) if d.size else 0.0)
        identical += int(not d.any())
        total += 1
        types[t.tensor_type.name] = types.get(t.tensor_type.name, 0) + 1
    rel = (err2 / ref2) ** 0.5 if ref2 > 0 else 0.0
    return {
        "relative_rms_error": float(f"{rel:.4g}"),
        "max_abs_error": float(f"{max_abs:.4g}"),
        "tensors": total,
        "tensors_bit_identical": identical,
        "tensor_types": dict(sorted(types.items())),
        "trivial": rel < TRIVIAL_RELATIVE_RMS,
    }


def f32_gguf(model_dir: Path) -> Artifact:
    """The float32 weights of ``model_dir`` as a GGUF (llama.cpp's converter, ``--outtype f32``)."""
    model_dir = Path(model_dir)
    recipe = Recipe(
        "gguf-f32",
        {"outtype": "f32", "llama_cpp_python": llama_cpp_version()},
        inputs={"source_weights": weights_digest(model_dir)},
    )

    def build(out: Path) -> dict[str, Any]:
        convert_hf_to_gguf(model_dir, out / "model-f32.gguf", outtype="f32")
        return {"source": str(model_dir)}

    return build_cached(recipe, build)


def quantised_gguf(model_dir: Path, quant_type: str) -> Artifact:
    """``model_dir``'s float32 weights quantised by llama.cpp to ``quant_type`` (e.g. ``Q4_K_M``).

    The provenance's ``facts.weight_error`` measures the distance to the float32 GGUF, so the report
    can say which quantisations are non-trivial for this reference.
    """
    quant_type = quant_type.upper()
    src = f32_gguf(model_dir)
    src_file = src.file(".gguf")
    recipe = Recipe(
        f"gguf-{quant_type.lower()}",
        {"quant_type": quant_type, "llama_cpp_python": llama_cpp_version()},
        inputs={"f32_gguf": src.files[src_file.name]["sha256"]},
    )

    def build(out: Path) -> dict[str, Any]:
        dst = out / f"model-{quant_type}.gguf"
        quantise_gguf(src_file, dst, quant_type)
        return {"source_gguf": str(src_file), "weight_error": weight_error(src_file, dst)}

    return build_cached(recipe, build)

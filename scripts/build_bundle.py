"""Build the snapshot bundled in the package from the real sets in ../shared/benchmarks.

Run once by maintainers (`python scripts/build_bundle.py [SHARED_BENCHMARKS_DIR]`); the output under
harness/data/bundled/ is committed. Every source file's sha256 is checked against the value
published in the shared README before anything is written.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from harness.data import snapshot
from harness.data.formats import to_hub_row
from harness.data.label_errors import normalise_error_type
from harness.data.local_copy import read_local_rows
from harness.data.readers import decode_text, iter_records
from harness.data.registry import get_spec
from harness.data.schemas import validate_row
from harness.records.files import sha256_file

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "harness" / "data" / "bundled"

# (benchmark, split, path under shared/benchmarks, sha256 published in its README, repository@commit)
SOURCES = [
    ("gsm8k", "test", "gsm8k/test.jsonl", "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14",
     "openai/grade-school-math@3101c7d5 grade_school_math/data/test.jsonl"),
    ("gsm8k", "train", "gsm8k/train.jsonl", "17f347dc51477c50d4efb83959dbb7c56297aba886e5544ee2aaed3024813465",
     "openai/grade-school-math@3101c7d5 grade_school_math/data/train.jsonl"),
    ("arc_challenge", "test", "arc/arc_challenge_test.jsonl",
     "1ae3aeedf1951d881cbd5c2e3a31e78a1993d251479afbe4cb413b6707244636",
     "mosaicml/llm-foundry@8c8dd48f scripts/eval/local_data/world_knowledge/arc_challenge.jsonl"),
    ("arc_easy", "test", "arc/arc_easy_test.jsonl",
     "d2d12e59543acf9a5ef6079634a72b30215e36c2fd4236fff3bc855d287b87f5",
     "mosaicml/llm-foundry@8c8dd48f scripts/eval/local_data/world_knowledge/arc_easy.jsonl"),
    ("hellaswag", "validation", "hellaswag/hellaswag_val_full.txt.bz2",
     "50b637899e4263c2bc456c2dc726c95d2c8cd8e2a552ea5bd7719ce3cb03fe5b",
     "klosax/hellaswag_text_data@1105d370 hellaswag_val_full.txt.bz2 (from rowanz/hellaswag hellaswag_val.jsonl)"),
]  # fmt: skip

NOTES = {
    "arc_challenge": "re-formatted copy without AI2's native ids: items are known by row; labels re-lettered A-E",
    "arc_easy": "re-formatted copy without AI2's native ids: items are known by row; labels re-lettered A-E",
    "hellaswag": "6-line text copy without 'ind': items are known by row; ctx_a/ctx_b split recovered "
    "heuristically (only the case of ctx_b's first letter in lm-eval's prompt can differ from the Hub)",
}
REDUX_REPO = "aryopg/mmlu-redux@4563cfa7 mmlu_redux/"
REDUX_ENCODINGS = {"mmlu_moral_scenarios.csv": "mac_roman"}  # the one file that is not UTF-8, as found


def main(shared: Path) -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    for benchmark, split, rel, sha, origin in SOURCES:
        path = shared / rel
        actual = sha256_file(path)
        if actual != sha:
            raise SystemExit(f"{path}: sha256 {actual} does not match the published {sha}")
        rows, _ = read_local_rows(path, benchmark, split)
        spec = get_spec(benchmark)
        assert len(rows) == spec.splits[split], (benchmark, split, len(rows))
        snapshot.write_split(
            OUT, benchmark, split, rows,
            source={"origin": origin, "sha256": sha, "revision": origin.split("@")[1].split()[0]},
            complete=True, licence=spec.licence, note=NOTES.get(benchmark, ""), stamp=False,
        )  # fmt: skip
        print(f"{benchmark}/{split}: {len(rows)} rows")
    build_mmlu_redux(shared / "mmlu_redux")
    licences = OUT / "LICENSES"
    licences.mkdir()
    shutil.copyfile(shared / "gsm8k" / "LICENSE", licences / "GSM8K-MIT.txt")
    shutil.copyfile(shared / "mmlu_redux" / "LICENSE", licences / "MMLU-Redux-CC-BY-4.0.txt")
    (OUT / "ATTRIBUTION.md").write_text(ATTRIBUTION)


def build_mmlu_redux(folder: Path) -> None:
    """MMLU test questions from MMLU-Redux (100 per subject, original labels) and its error annotations."""
    questions, annotations, checksums = [], [], {}
    for path in sorted(folder.glob("mmlu_*.csv")):
        subject = re.sub(r"^mmlu_|\.csv$", "", path.name)
        checksums[path.name] = sha256_file(path)
        encoding = REDUX_ENCODINGS.get(path.name, "utf-8")
        decode_text(path.read_bytes(), path, encoding)  # fails loudly on any other undecodable file
        for k, (_, rec) in enumerate(iter_records(path, encoding)):
            hub = validate_row("mmlu", {**to_hub_row("mmlu", rec, path=path, line=k + 2), "redux_row": k},
                               path=path, line=k + 2)  # fmt: skip
            questions.append(hub)
            correct = (rec.get("correct_answer") or "").strip()
            annotations.append({
                "subject": subject, "redux_row": k, "question": hub["question"],
                "original_answer": hub["answer"],
                "error_type": normalise_error_type(rec.get("error_type") or ""),
                "error_type_raw": rec.get("error_type") or "",
                "correct_answer": correct,
            })  # fmt: skip
    source = {"origin": REDUX_REPO, "revision": "4563cfa7", "files_sha256": checksums}
    snapshot.write_split(
        OUT, "mmlu", "test", questions, source=source, complete=False, licence="CC BY 4.0 (MMLU-Redux); MIT (MMLU)",
        note="MMLU-Redux sample: 100 test questions per subject (5700 of 14042) with the original MMLU labels; "
        "official row numbers unknown, so ids are mmlu/<subject>/test/redux-<n>", stamp=False,
    )  # fmt: skip
    snapshot.write_split(
        OUT, "mmlu_redux", "annotations", annotations, source=source, complete=True, licence="CC BY 4.0",
        note="Gema et al. 2024 error annotations, error types normalised (raw label kept)", stamp=False,
    )  # fmt: skip
    print(f"mmlu/test (MMLU-Redux sample): {len(questions)} rows; annotations: {len(annotations)}")


ATTRIBUTION = """# Bundled benchmark data: sources and licences

Stored as zstd-compressed Parquet (not plain text) with sha256 checksums in manifest.json,
checked on every load. Built by scripts/build_bundle.py from verified copies.

- GSM8K (test, train): Cobbe et al. 2021, openai/grade-school-math @ 3101c7d5. MIT licence
  (LICENSES/GSM8K-MIT.txt), Copyright (c) 2021 OpenAI.
- ARC-Challenge and ARC-Easy (test): Clark et al. 2018, Allen Institute for AI. CC BY-SA 4.0
  (https://creativecommons.org/licenses/by-sa/4.0/). Copy taken from mosaicml/llm-foundry @ 8c8dd48f;
  changed here: converted to the Hub schema, choices re-lettered A-E. This derived copy is shared under
  the same licence.
- HellaSwag (validation): Zellers et al. 2019, rowanz/hellaswag, MIT licence. Copy from
  klosax/hellaswag_text_data @ 1105d370; converted to the Hub schema.
- MMLU (test questions in the MMLU-Redux sample): Hendrycks et al. 2021, MIT licence; selection and error
  annotations from MMLU-Redux, Gema et al. 2024, "Are We Done with MMLU?", aryopg/mmlu-redux @ 4563cfa7,
  CC BY 4.0 (LICENSES/MMLU-Redux-CC-BY-4.0.txt); error-type labels normalised here.
"""

if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "benchmarks")

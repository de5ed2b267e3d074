"""The scan's outputs (`report.py`): items.parquet row for row against the record, and a scan process that
stays light (no pandas, torch or scipy: their imports cost more than a whole scan of a 50 MB file)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from harness.leakage import run_scan
from tests.leakage.corpora import page, write_jsonl

ROOT = Path(__file__).resolve().parents[2]


def test_items_parquet_is_the_record_row_for_row(index, sets, tmp_path) -> None:
    gsm, arc = sets["gsm8k"].items[8], sets["arc_easy"].items[3]
    pages = [{"text": page(f"note {i}")} for i in range(20)]
    pages[3]["text"] = page(gsm.question + " " + gsm.answer)
    pages[9]["body"] = "Q: " + arc.question + "\n" + "\n".join(arc.choices)
    write_jsonl(tmp_path / "c.jsonl", pages)
    rec = run_scan([tmp_path / "c.jsonl"], out_dir=tmp_path / "out", index=index, workers=1)
    table = pq.read_table(tmp_path / "out" / "items.parquet")
    assert table.schema.field("longest_match").type == pa.int32()
    assert table.schema.field("excerpt").type == pa.string()
    rows = table.to_pylist()
    assert [r["item_id"] for r in rows] == list(index.items.item_id)
    assert [r["detectable"] for r in rows] == index.items.detectable.tolist()
    by_id = {r["item_id"]: r for r in rows}
    assert len(rec["items"]) >= 2
    for item in rec["items"]:
        row = by_id[item["item_id"]]
        for key in ("benchmark", "dirty", "overlap", "longest_match", "records", "dirty_records"):
            assert row[key] == item[key], key
        for key in ("matched_field", "similarity", "excerpt"):
            assert row[key] == item[key], key
        assert {k: row[k] for k in ("file", "record", "line", "field", "offset")} == item["where"]
    found = {i["item_id"] for i in rec["items"]}
    blank = next(r for r in rows if r["item_id"] not in found)
    assert (blank["dirty"], blank["overlap"], blank["records"], blank["excerpt"], blank["file"]) == (
        False,
        0.0,
        0,
        None,
        None,
    )


def test_a_scan_process_imports_no_heavy_library(tmp_path) -> None:
    """`harness scan` with its index cached: numpy, orjson and pyarrow, but not pandas, torch or scipy."""
    home = tmp_path / "home"
    env = {**os.environ, "HARNESS_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("HARNESS_DATA_SOURCE", None)
    warm = "from harness.leakage.index_cache import load_cached_index; print(load_cached_index(['gsm8k'])[1])"
    built = subprocess.run([sys.executable, "-c", warm], env=env, capture_output=True, text=True, check=True)
    assert "cached" in built.stdout
    write_jsonl(tmp_path / "c.jsonl", [{"text": page(f"note {i}")} for i in range(50)])
    probe = (
        "import sys\n"
        "from harness.cli import app\n"
        "try:\n"
        f"    app(['scan', {str(tmp_path / 'c.jsonl')!r}, '--benchmarks', 'gsm8k', '--out', "
        f"{str(tmp_path / 'out')!r}, '--no-progress', '--workers', '1'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "heavy = ('pandas', 'torch', 'scipy', 'sklearn', 'transformers', 'datasets', 'matplotlib', 'ray')\n"
        "print('HEAVY', sorted(m for m in heavy if m in sys.modules))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "HEAVY []" in run.stdout, run.stdout
    assert (tmp_path / "out" / "leakage.json").is_file()

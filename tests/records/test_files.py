import hashlib
import math
from pathlib import Path

import numpy as np
import orjson
import pytest

from harness.records.files import (
    atomic_write_bytes,
    dumps_json,
    json_safe,
    package_versions,
    read_json,
    sha256_file,
    write_json,
)
from harness.records.header import RecordHeader


def test_sha256_file_matches_hashlib(tmp_path):
    p = tmp_path / "f.bin"
    data = bytes(range(256)) * 10_000
    p.write_bytes(data)
    assert sha256_file(p, chunk=4096) == hashlib.sha256(data).hexdigest()


def test_json_safe_has_no_nan_and_converts_numpy_and_paths():
    value = {
        "a": math.nan,
        "b": [np.float32(1.5), np.int64(3)],
        "c": (Path("x/y"), math.inf),
        4: np.array([1, 2]),
    }
    assert json_safe(value) == {"a": None, "b": [1.5, 3], "c": ["x/y", None], "4": [1, 2]}
    with pytest.raises(TypeError, match="cannot write object"):
        json_safe(object())


def test_dumps_json_is_canonical():
    assert dumps_json({"b": 1, "a": 2}) == dumps_json({"a": 2, "b": 1})
    assert dumps_json({"a": 1}).endswith(b"\n")


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path):
    p = tmp_path / "sub" / "r.json"
    write_json(p, {"x": 1})
    write_json(p, {"x": 2})
    assert read_json(p) == {"x": 2}
    assert sorted(q.name for q in p.parent.iterdir()) == ["r.json"]


def test_atomic_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    p = tmp_path / "r.bin"
    p.write_bytes(b"old")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(p, b"new")
    assert p.read_bytes() == b"old"
    assert [q.name for q in tmp_path.iterdir()] == ["r.bin"]


def test_read_json_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ValueError, match=r"bad\.json: not valid JSON"):
        read_json(bad)
    with pytest.raises(FileNotFoundError, match=r"missing\.json"):
        read_json(tmp_path / "missing.json")


def test_package_versions_records_python_and_missing_packages():
    v = package_versions()
    assert v["python"].count(".") == 2
    assert v["numpy"] == np.__version__
    assert "vllm" in v


def test_record_header_round_trip():
    h = RecordHeader.model_validate(
        {"schema": "harness.scan", "schema_version": 2, "status": "unresolved", "headline": "x", "extra": 1}
    )
    assert h.header_dict()["schema"] == "harness.scan"
    assert orjson.loads(dumps_json(h))["schema"] == "harness.scan"
    with pytest.raises(ValueError):
        RecordHeader.model_validate({"schema": "s", "schema_version": 1, "status": "bogus", "headline": ""})

"""The one contract between capabilities: typed records, their shared header, the exit-code table,
and the small file helpers every record writer needs (checksums, atomic writes, JSON, versions).

Each capability writes one record (``verify.json``, ``leakage.json``, ``fingerprint.json``,
``contamination.json``, ``audit.json``) whose top level carries the same header (``schema``,
``schema_version``, ``status``, ``headline``, ``timing``); reports render records and never
re-compute or guess. Model: inspect_ai's ``EvalLog`` read and written through one module.
"""

from harness._lazy import lazy_exports

__all__ = [
    "COMPRESSIONS",
    "EXIT_CODES",
    "WEIGHT_SUFFIXES",
    "ExitCode",
    "RecordHeader",
    "Status",
    "atomic_write_bytes",
    "atomic_write_text",
    "combine_status",
    "compression_of",
    "dumps_json",
    "exit_code",
    "json_safe",
    "package_version",
    "package_versions",
    "read_json",
    "sha256_bytes",
    "sha256_file",
    "strip_compression",
    "write_json",
]
__getattr__ = lazy_exports(
    __name__,
    {
        "EXIT_CODES": "status",
        "ExitCode": "status",
        "Status": "status",
        "combine_status": "status",
        "exit_code": "status",
        "RecordHeader": "header",
        "COMPRESSIONS": "files",
        "WEIGHT_SUFFIXES": "files",
        "compression_of": "files",
        "strip_compression": "files",
        "package_version": "files",
        "atomic_write_bytes": "files",
        "atomic_write_text": "files",
        "dumps_json": "files",
        "json_safe": "files",
        "package_versions": "files",
        "read_json": "files",
        "sha256_bytes": "files",
        "sha256_file": "files",
        "write_json": "files",
    },
)

"""The one contract between capabilities: typed records, their shared header, the exit-code table,
and the small file helpers every record writer needs (checksums, atomic writes, JSON, versions).

Each capability writes one record (``verify.json``, ``leakage.json``, ``fingerprint.json``,
``contamination.json``, ``audit.json``) whose top level carries the same header (``schema``,
``schema_version``, ``status``, ``headline``, ``timing``); reports render records and never
re-compute or guess. Model: inspect_ai's ``EvalLog`` read and written through one module.
"""

from harness._lazy import lazy_exports

__all__ = [
    "EXIT_CODES",
    "ExitCode",
    "RecordHeader",
    "Status",
    "atomic_write_bytes",
    "atomic_write_text",
    "combine_status",
    "dumps_json",
    "exit_code",
    "json_safe",
    "package_versions",
    "read_json",
    "sha256_bytes",
    "sha256_file",
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

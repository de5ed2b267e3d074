"""The `harness` command: parses arguments and calls the capability packages; no logic lives here.

Each capability owns its command in its own `cli.py`; this file only mounts them.
"""

from __future__ import annotations

import typer

from harness.audit.cli import audit
from harness.contamination.cli import contamination
from harness.data.cli import data_app
from harness.fingerprint.cli import fingerprint, fingerprint_signature
from harness.leakage.cli import scan
from harness.verify.cli import verify

app = typer.Typer(
    name="harness",
    help="Audit language-model benchmark claims: verify scores, fingerprint endpoints, "
    "scan training data for test-set leakage, test models for contamination.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command("audit")(audit)
app.command("verify")(verify)
app.command("fingerprint")(fingerprint)
app.command("fingerprint-signature")(fingerprint_signature)
app.command("scan")(scan)
app.command("contamination")(contamination)
app.add_typer(data_app, name="data")


if __name__ == "__main__":
    app()

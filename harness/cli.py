"""The `harness` command: parses arguments and calls the capability packages; no logic lives here."""

from __future__ import annotations

import typer

from harness.data.cli import data_app

app = typer.Typer(
    name="harness",
    help="Audit language-model benchmark claims: verify scores, fingerprint endpoints, "
    "scan training data for test-set leakage.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(data_app, name="data")

# Each capability registers its command here (one line each).
# harness scan          -> harness/leakage/cli.py
# harness verify        -> harness/verify/cli.py
# harness fingerprint   -> harness/fingerprint/cli.py
# harness audit         -> harness/report/cli.py
from harness.leakage.cli import scan  # noqa: E402
from harness.fingerprint.cli import fingerprint  # noqa: E402
from harness.report.cli import audit  # noqa: E402
from harness.verify.cli import verify  # noqa: E402

app.command("audit")(audit)
app.command("fingerprint")(fingerprint)
app.command("scan")(scan)
app.command("verify")(verify)


if __name__ == "__main__":
    app()

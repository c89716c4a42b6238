"""``kvnb audit``: audit one or more vaults. Thin: resolve, call kvnb.audit, render.

Exit codes: 0 no finding at or above ``--fail-on`` (the default ``none`` never fails on findings),
1 findings at or above it, 2 usage or access error.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .options import persona_option, vault_option
from .progress import TerminalBar

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

# kvnb.audit (and pandas) load when the command runs, so `kvnb local …` starts fast.
FORMATS = ("table", "json", "csv", "html", "markdown")  # kvnb.audit.FORMATS; a test pins them equal

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
PROGRESS_AFTER_SECONDS = 1.0  # short runs finish before a bar would be worth reading


class AuditError(click.ClickException):
    """A usage or access problem, reported in one line with exit code 2."""

    exit_code = EXIT_ERROR


def _open(vaults: tuple[str, ...], persona: str | None) -> list:
    from ..errors import KvnbError
    from ..vault import open_vault

    targets = []
    try:
        for vault in vaults:
            targets.append(open_vault(vault, persona=persona))
    except KvnbError as exc:
        for target in targets:
            target.close()
        raise AuditError(str(exc)) from None
    return targets


def identity_of(target: VaultTarget) -> str | None:
    """Who the audit ran as, from the ARM token's own claims (names only; the token is not kept)."""
    from ..tokens import unverified_claims

    try:
        token = target.credential.get_token(target.arm_scope).token
        claims = unverified_claims(token)
    except Exception:  # labelling only: an audit without a label is still an audit
        return None
    name = claims.get("upn") or claims.get("unique_name") or claims.get("appid")
    return f"{name} ({claims.get('oid')})" if name else claims.get("oid")


class _Progress:
    """Version counts of every vault audited, as one bar, for runs that last."""

    def __init__(self):
        self.started = time.monotonic()
        self.bar = TerminalBar(desc="version counts", unit="secret")
        self.done: dict[str, tuple[int, int]] = {}

    def __call__(self, event) -> None:
        self.done[event.vault] = (event.versions_done, event.secrets_listed)
        if time.monotonic() - self.started >= PROGRESS_AFTER_SECONDS:
            self.bar.show(sum(d for d, _ in self.done.values()), sum(t for _, t in self.done.values()))

    def close(self) -> None:
        self.bar.close()


async def _collect_all(targets, on_progress):
    from ..audit.collect import collect_vault

    return await asyncio.gather(*(collect_vault(t, on_progress=on_progress) for t in targets))


@click.command("audit")
@click.argument("vaults", nargs=-1, metavar="[VAULT ...]")
@vault_option
@click.option(
    "--output",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table for the terminal, json for scripts, csv (one file per table with --out DIR), "
    "html (a report to open in a browser) or markdown.",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Write the report to FILE (for csv, a directory gets one file per table).",
)
@click.option(
    "--fail-on",
    type=click.Choice(["high", "medium", "low", "info", "none"]),
    default="none",
    show_default=True,
    help="Exit 1 when a finding has this severity or higher.",
)
@persona_option
def audit(
    vaults: tuple[str, ...], vault: str | None, output: str, out_path: Path | None, fail_on: str, persona: str | None
) -> None:
    """Audit VAULTs (else --vault / KVNB_VAULT): secret hygiene, vault configuration, role assignments
    and access reviews.

    Reads metadata only, never a secret value. A Key Vault Reader can run it; what they cannot see
    is listed as a limitation. Exit code 0: nothing at or above --fail-on, 1: findings at or above
    it, 2: usage or access error.
    """
    from ..audit import AuditAccessError, Severity, at_or_above, render, write_csv_tables
    from ..audit.runner import run_blocking

    if not vaults:
        if not vault:
            raise AuditError(
                "No vault given. Name one (kvnb audit azDevOpsKV01, or local), "
                "or pass --vault VAULT, or set KVNB_VAULT."
            )
        vaults = (vault,)
    targets = _open(vaults, persona)
    progress = _Progress()
    try:
        identity = identity_of(targets[0])
        audits = run_blocking(_collect_all(targets, progress))
    except AuditAccessError as exc:
        raise AuditError(str(exc)) from None
    finally:
        progress.close()
        for target in targets:
            target.close()
    if output == "csv" and out_path is not None and out_path.is_dir():
        written = write_csv_tables(audits, out_path)
        for path in written:
            click.echo(str(path), err=True)
        click.echo(f"Wrote {len(written)} CSV file{'' if len(written) == 1 else 's'} to {out_path}.", err=True)
    else:
        text = render(audits, output, identity=identity)
        if out_path is not None:
            out_path.write_text(text, encoding="utf-8")
            click.echo(f"Wrote the {output} report of {_counted(audits)} to {out_path}.", err=True)
        else:
            click.echo(text, nl=not text.endswith("\n"))
    if fail_on != "none":
        failing = [(a.name, f) for a in audits for f in at_or_above(a.findings, Severity(fail_on))]
        if failing:
            named = "; ".join(f"{f.id} {f.severity} ({name}): {f.title}" for name, f in failing)
            click.echo(
                f"Exit 1: {len(failing)} finding{'' if len(failing) == 1 else 's'} at or above "
                f"--fail-on {fail_on}: {named}",
                err=True,
            )
            sys.exit(EXIT_FINDINGS)


def _counted(audits) -> str:
    vaults = ", ".join(a.name for a in audits)
    findings = sum(len(a.findings) for a in audits)
    return f"{vaults} ({findings} finding{'' if findings == 1 else 's'})"

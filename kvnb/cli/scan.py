"""``kvnb scan``: find copies of a secret's value in files. Thin: fetch, call kvnb.scan, render.

Exit codes: 0 nothing found, 1 found, 2 usage or access error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import click

from ..scan import (
    DEFAULT_MAX_FILE_SIZE,
    ScanResult,
    load_fingerprints,
    scan_paths,
    write_fingerprints,
)
from .options import persona_option, vault_option
from .progress import TerminalBar

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

EXIT_CLEAN, EXIT_FOUND, EXIT_ERROR = 0, 1, 2
MB = 1024 * 1024
# A bar for a few hundred files flickers for less time than it takes to read it.
PROGRESS_MIN_FILES = 1000
MAX_LISTED_NAMES = 2000


class ScanError(click.ClickException):
    """A usage or access problem, reported in one line with exit code 2."""

    exit_code = EXIT_ERROR


@click.command("scan")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=str))
@click.option("--secret", "secret_name", metavar="NAME", help="The secret whose value to look for.")
@click.option("--all-versions", is_flag=True, help="Look for every enabled version, not only the current one.")
@vault_option
@persona_option
@click.option(
    "--fingerprints",
    "fingerprints_path",
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=str),
    help="Scan with fingerprints from --export-fingerprints; needs no vault access.",
)
@click.option(
    "--export-fingerprints",
    "export_path",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=str),
    help="Write keyed fingerprints of the value(s) to FILE for a --fingerprints scan.",
)
@click.option(
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table for people, json for scripts.",
)
@click.option("--include-ignored", is_flag=True, help="Also scan files that .gitignore excludes.")
@click.option(
    "--binary",
    is_flag=True,
    help="Also scan binary files: pickles (such as %store's) by their strings, others as bytes.",
)
@click.option(
    "--max-file-size",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_FILE_SIZE // MB,
    show_default=True,
    metavar="MB",
    help="Skip files larger than this.",
)
@click.pass_context
def scan(
    ctx: click.Context,
    paths: tuple[str, ...],
    secret_name: str | None,
    all_versions: bool,
    vault: str | None,
    persona: str | None,
    fingerprints_path: str | None,
    export_path: str | None,
    output: str,
    include_ignored: bool,
    binary: bool,
    max_file_size: int,
) -> None:
    """Find copies of a secret's value in PATHS: whole or partial, raw or in any encoded form.

    A partial copy is a run of at least K characters of a form (KVNB_REDACT_MIN_RUN, default 16).
    Notebooks are read cell by cell. Exit code 0: nothing found, 1: found, 2: usage or access error.
    """
    options = {
        "output": output,
        "respect_gitignore": not include_ignored,
        "max_file_size": max_file_size * MB,
        "binary": binary,
    }
    if fingerprints_path:
        if secret_name or all_versions or export_path:
            raise click.UsageError(
                "--fingerprints scans without the vault: drop --secret, --all-versions and --export-fingerprints"
            )
        if not paths:
            raise click.UsageError("give at least one PATH to scan")
        try:
            entries = load_fingerprints(fingerprints_path)
        except ValueError as exc:
            raise ScanError(str(exc)) from None
        ctx.exit(_scan_and_report(paths, entries, **options))
    if not secret_name:
        raise click.UsageError("name the secret with --secret NAME, or scan with --fingerprints FILE")
    if not paths and not export_path:
        raise click.UsageError("give at least one PATH to scan")
    values, vault_url = fetch_secret_values(secret_name, vault=vault, persona=persona, all_versions=all_versions)
    if export_path:
        try:
            write_fingerprints(export_path, values, vault_url)
        except (OSError, ValueError) as exc:
            raise ScanError(f"cannot write fingerprints: {exc}") from None
        click.echo(f"Wrote fingerprints of {len(values)} version(s) of {secret_name} to {export_path}.", err=True)
    ctx.exit(run_scan(paths, values, **options) if paths else EXIT_CLEAN)


def run_scan(
    paths: Sequence[str],
    values: Mapping[str, str],
    *,
    output: str = "table",
    respect_gitignore: bool = True,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    binary: bool = False,
) -> int:
    """Scan ``paths`` for ``values`` (label → value, held only in memory), print, return the exit code."""
    return _scan_and_report(
        paths,
        dict(values),
        output=output,
        respect_gitignore=respect_gitignore,
        max_file_size=max_file_size,
        binary=binary,
    )


def _scan_and_report(
    paths: Sequence[str], searched, *, output: str, respect_gitignore: bool, max_file_size: int, binary: bool = False
) -> int:
    progress = _TerminalProgress()
    try:
        result = scan_paths(
            paths,
            searched,
            respect_gitignore=respect_gitignore,
            max_file_size=max_file_size,
            binary=binary,
            progress=progress,
        )
    except (FileNotFoundError, RuntimeError, ValueError) as exc:
        raise ScanError(str(exc)) from None
    finally:
        progress.close()
    if output == "json":
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_table(result))
    return EXIT_FOUND if result.found else EXIT_CLEAN


def fetch_secret_values(
    name: str, *, vault: str | None, persona: str | None, all_versions: bool
) -> tuple[dict[str, str], str]:
    """Read the value(s) of ``name``: ({"name/version": value}, vault URL). ScanError on failure."""
    from ..errors import KvnbError
    from ..vault import open_vault

    try:
        target = open_vault(vault, persona=persona)
    except KvnbError as exc:
        # open_vault never sees a value, so its messages are safe to show as they are.
        raise ScanError(str(exc)) from None
    try:
        return _read_values(target, name, all_versions), target.url
    finally:
        target.close()


def _read_values(target: VaultTarget, name: str, all_versions: bool) -> dict[str, str]:
    from azure.core.exceptions import AzureError

    client = target.secret_client
    values: dict[str, str] = {}
    try:
        if all_versions:
            disabled = 0
            for properties in client.list_properties_of_secret_versions(name):
                if properties.enabled is False:  # Key Vault answers 403 SecretDisabled to a read
                    disabled += 1
                    continue
                secret = client.get_secret(name, properties.version)
                if secret.value:
                    values[f"{name}/{properties.version}"] = secret.value
            if disabled:
                click.echo(
                    f"Note: {disabled} disabled version(s) of {name} not searched: Key Vault does not "
                    "return disabled values (enable one briefly to include it).",
                    err=True,
                )
        else:
            secret = client.get_secret(name)
            if secret.value:
                values[f"{name}/{secret.properties.version}"] = secret.value
    except AzureError as exc:
        raise ScanError(_explained(exc, name, target, client, all_versions)) from None
    if not values:
        raise ScanError(f"{name} has no readable value to search for in {target.url}.")
    return values


def _explained(exc: Exception, name: str, target: VaultTarget, client, all_versions: bool) -> str:
    """kvnb's usual message for a failed read (``kvnb.errors``), plus the scan's own way out."""
    from itertools import islice

    from ..errors import AccessDeniedError, SecretDisabledError
    from ..fetch import explained

    def list_names() -> list[str]:  # for "did you mean"; a vault may hold many, a hint needs few
        return [item.name for item in islice(client.list_properties_of_secrets(), MAX_LISTED_NAMES)]

    error = explained(exc, name, target, list_names=list_names)  # re-raises what no user can fix
    message = str(error)
    if isinstance(error, AccessDeniedError):
        message += (
            f" Or ask someone who may read it to run `kvnb scan --export-fingerprints FILE --secret {name}`,"
            " then scan with --fingerprints FILE."
        )
    elif isinstance(error, SecretDisabledError) and not all_versions:
        message += " --all-versions searches its enabled versions."
    return message


def render_table(result: ScanResult) -> str:
    """Findings as aligned columns, then the summary. Excerpts are already masked."""
    lines = []
    if result.findings:
        rows = [("PATH", "LOCATION", "SECRET", "FORM", "COPY", "EXCERPT")]
        rows += [(f.path, f.location, f.label, f.form, f.copy, f.excerpt) for f in result.findings]
        widths = [max(len(row[column]) for row in rows) for column in range(5)]
        lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[5] for row in rows]
        lines.append("")
    lines += summary_lines(result)
    return "\n".join(lines)


def summary_lines(result: ScanResult) -> list[str]:
    searched = ", ".join(result.labels)
    if result.found:
        copies = _counted([(len(result.findings), "copy", "copies")])[0]
        head = f"Found {copies} in {_counted([(result.files_with_findings, 'file', 'files')])[0]}."
    else:
        head = "No copy found."
    files = f"{result.files_scanned:,} file{'' if result.files_scanned == 1 else 's'}"
    lines = [head, f"Scanned {files} ({_size(result.bytes_scanned)}) in {result.seconds:.2f} s for {searched}."]
    skipped = _counted(
        [(result.files_binary, "binary file", "binary files"), (result.files_too_large, "file", "files")]
    )
    if result.files_too_large:
        skipped[-1] += f" over {result.max_file_size // MB} MB"
    skipped += _counted([(result.files_unreadable, "unreadable file or folder", "unreadable files or folders")])
    ignored = _counted([(result.files_ignored, "file", "files"), (result.dirs_ignored, "folder", "folders")])
    if ignored:
        skipped.append(f"{' and '.join(ignored)} excluded by .gitignore (--include-ignored scans them)")
    if skipped:
        lines.append("Skipped: " + "; ".join(skipped) + ".")
    return lines


def _size(count: int) -> str:
    return f"{count / MB:.1f} MB" if count >= MB else f"{count / 1024:.0f} KB"


def _counted(counts: Iterable[tuple[int, str, str]]) -> list[str]:
    return [f"{count:,} {one if count == 1 else many}" for count, one, many in counts if count]


class _TerminalProgress:
    """Files scanned, as a bar, only for large trees."""

    def __init__(self) -> None:
        self._bar = TerminalBar(unit="file")

    def __call__(self, done: int, total: int) -> None:
        if total >= PROGRESS_MIN_FILES:
            self._bar.show(done, total)

    def close(self) -> None:
        self._bar.close()

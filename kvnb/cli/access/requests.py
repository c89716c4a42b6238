"""``kvnb access request | requests | approve | deny``: access packages, asked for and decided."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ._common import note, output_option, show, vault_command

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

# the columns people read first (the rest are in --output json)
REQUEST_VIEW = ["request_id", "package", "requested_by", "justification", "state", "created"]


def register(access: click.Group) -> None:
    @vault_command(access, "request")
    @click.argument("wanted", nargs=-1, required=True, metavar="ROLE|PACKAGE")
    @click.option("--reason", required=True, metavar="TEXT", help="Why you need it (the approver reads it).")
    def request(target: VaultTarget, wanted: tuple[str, ...], reason: str) -> None:
        """Request the access package that grants ROLE on the vault, or PACKAGE by name."""
        from kvnb.governance import package_or_role, request_access
        from kvnb.surface import access_command

        made = request_access(target, justification=reason, **package_or_role(target, " ".join(wanted)))
        click.echo(
            f"Requested {made.package_name} (request {made.id}, {made.state}). "
            f"Its approvers see it with `{access_command('requests')}`."
        )

    @vault_command(access, "requests")
    @output_option
    def requests(target: VaultTarget, output: str) -> None:
        """Access requests waiting for your decision."""
        from kvnb.governance import list_pending_approvals

        pending = list_pending_approvals(target)
        if pending.empty and output == "table":
            click.echo("No access request waits for your decision.")
            return
        show(pending, output, REQUEST_VIEW if output == "table" else None)

    for verb in ("approve", "deny"):
        _decision(access, verb)


def _decision(access: click.Group, verb: str) -> None:
    @vault_command(access, verb, help=f"{verb.capitalize()} access request ID (from `kvnb access requests`).")
    @click.argument("request_id", metavar="ID")
    @click.option("--reason", metavar="TEXT", help="Your justification, recorded with the decision.")
    def decide(target: VaultTarget, request_id: str, reason: str | None) -> None:
        from kvnb.governance import approve_request, deny_request

        decided = (approve_request if verb == "approve" else deny_request)(target, request_id, justification=reason)
        note(
            f"Request {decided.id}: {decided.state}" + (f" ({decided.status})" if decided.status else "") + ".", "table"
        )

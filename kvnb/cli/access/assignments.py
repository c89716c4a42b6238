"""``kvnb access grant | revoke``: direct role assignments, on the vault or one secret."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ._common import vault_command

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

scope_option = click.option("--scope", metavar="secret/NAME", help="One secret instead of the vault.")


def _where(target: VaultTarget, secret: str | None) -> str:
    return f"secret {secret}" if secret else f"vault {target.name}"


def register(access: click.Group) -> None:
    @vault_command(access, "grant")
    @click.argument("principal", metavar="PRINCIPAL")
    @click.argument("role", nargs=-1, required=True, metavar="ROLE")
    @scope_option
    @click.option("--for", "for_", metavar="DURATION", help="Time-bound, e.g. 61m, 8h, 60d.")
    @click.option("--reason", metavar="TEXT", help="The justification, recorded with a time-bound grant.")
    def grant(
        target: VaultTarget,
        principal: str,
        role: tuple[str, ...],
        scope: str | None,
        for_: str | None,
        reason: str | None,
    ) -> None:
        """Assign ROLE to PRINCIPAL (object id, user principal name, group name or persona)."""
        from kvnb.access import grant as grant_role
        from kvnb.access.grants import secret_of_scope

        secret = secret_of_scope(scope)
        made = grant_role(target, principal, " ".join(role), secret=secret, duration=for_, justification=reason)
        until = f" until {made.end_time:%Y-%m-%d %H:%M} UTC" if made.end_time else ""
        verb = "Granted" if made.created else "Already granted:"
        click.echo(f"{verb} {made.role.name} to {made.principal.label} on {_where(target, secret)}{until}.")

    @vault_command(access, "revoke")
    @click.argument("principal", metavar="PRINCIPAL")
    @click.argument("role", nargs=-1, required=True, metavar="ROLE")
    @scope_option
    def revoke(target: VaultTarget, principal: str, role: tuple[str, ...], scope: str | None) -> None:
        """Remove PRINCIPAL's own assignments of ROLE (not those through groups or from above)."""
        from kvnb.access import revoke as revoke_role
        from kvnb.access.grants import secret_of_scope

        secret = secret_of_scope(scope)
        done = revoke_role(target, principal, " ".join(role), secret=secret)
        place = _where(target, secret)
        if done.removed:
            count = len(done.removed)
            click.echo(
                f"Revoked {done.role.name} from {done.principal.label} on {place} "
                f"({count} assignment{'s' if count > 1 else ''})."
            )
        else:
            click.echo(
                f"{done.principal.label} held no {done.role.name} assignment on {place} to revoke "
                "(roles through groups or from above are not touched)."
            )

"""``kvnb access whoami`` (= ``%kvaccess``) and ``kvnb access check SECRET`` (= ``%kvaccess SECRET``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ._common import fail, note, output_option, show, vault_command

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget


def _report(target: VaultTarget, secret: str | None, output: str):
    from kvnb.access import effective_access, whoami
    from kvnb.access.advice import missing_access_advice

    me = whoami(target)
    access = effective_access(target, secret=secret)
    where = f"secret {secret} in {target.name}" if secret else f"vault {target.name}"
    lines = [
        f"You are {me.name} ({me.kind}, object id {me.object_id}) in tenant {me.tenant_id}.",
        f"Your roles on {where}:" if access.roles else f"You hold no role on {where}.",
    ]
    lines += [f"  {role.role_name or role.role_id}: {role.how}" for role in access.roles]
    lines += [f"Note: {text}" for text in access.notes]
    note("\n".join(lines), output)
    show(access.to_frame(), output)
    advice = missing_access_advice(target, access, secret=secret)
    if advice:
        note("\n".join(advice), output)
    return access


def register(access: click.Group) -> None:
    @vault_command(access, "whoami")
    @output_option
    def whoami(target: VaultTarget, output: str) -> None:
        """Who you are, your roles on the vault, what they allow and how to get more."""
        _report(target, None, output)

    @vault_command(access, "check")
    @click.argument("secret", metavar="SECRET")
    @output_option
    def check(target: VaultTarget, secret: str, output: str) -> None:
        """Your roles on SECRET and what they allow. Exit code 1 when you may not read its value."""
        from kvnb.names import check_name

        check_name(secret)
        if not _report(target, secret, output).allows("get"):
            fail()

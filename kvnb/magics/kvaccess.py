"""``%kvaccess``: who am I, what may I do and why — and thin wrappers over the governance layer.

Each subcommand calls one function of ``kvnb.access`` or ``kvnb.governance`` and renders what it
returns; the logic lives there.
"""

from __future__ import annotations

import argparse

from IPython.core.error import UsageError

from kvnb.magics.settings import effective

SUBCOMMANDS = ("request", "requests", "approve", "deny", "grant", "revoke", "review", "plan")
# The least-privileged built-in role for each secret operation (reference B.1).
ROLE_FOR_OPERATION = {
    "get": "Key Vault Secrets User",
    "list": "Key Vault Reader", "list_versions": "Key Vault Reader",
    "get_deleted": "Key Vault Reader", "list_deleted": "Key Vault Reader",
}
OFFICER = "Key Vault Secrets Officer"  # every other secret operation


def run(magics, args):
    """Route ``%kvaccess``; kvnb errors become UsageErrors."""
    from kvnb import errors, fetch

    words = [_unquoted(w) for w in args.words]
    args = argparse.Namespace(**vars(args))  # parsed arguments are shared: unquote a copy
    for option in ("reason", "scope", "for_"):
        if getattr(args, option) is not None:
            setattr(args, option, _unquoted(getattr(args, option)))
    try:
        target = fetch.open_target(effective(magics, "vault", args.vault),
                                   persona=effective(magics, "persona", args.persona),
                                   credential_options=effective(magics, "credential_options") or None)
        if words and words[0] in SUBCOMMANDS:
            return _SUBCOMMANDS[words[0]](target, words[1:], args)
        if len(words) > 1:
            raise UsageError(f"%kvaccess takes one secret name or a subcommand ({', '.join(SUBCOMMANDS)}).")
        if args.scope or args.for_:
            raise UsageError("--scope and --for go with `grant`, `revoke` or `request`.")
        return show_access(target, words[0] if words else None)
    except errors.KvnbError as exc:
        raise UsageError(str(exc)) from None
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith(("kvnb.access", "kvnb.governance")):
            raise
        raise UsageError(f"%kvaccess {' '.join(words[:1]) or ''} is not available yet: this kvnb has no "
                         f"{exc.name}.") from None
    except ValueError as exc:  # the layers' argument checks (durations, justification)
        raise UsageError(str(exc)) from None


def _unquoted(word: str) -> str:
    # IPython splits magic lines without removing quotes: 'AzureAD team' arrives quoted.
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "'\"":
        return word[1:-1]
    return word


def _display(frame) -> None:
    """A DataFrame, whole: rich HTML in a notebook, every column in a terminal."""
    import pandas as pd
    from IPython.display import display

    with pd.option_context("display.max_columns", None, "display.width", 250, "display.max_colwidth", 60):
        display(frame)


# -- who am I, and what may I do ----------------------------------------------------------------------
def show_access(target, secret: str | None) -> None:
    from kvnb.access import effective_access, whoami
    from kvnb.fetch import check_name

    if secret is not None:
        check_name(secret)
    me = whoami(target)
    access = effective_access(target, secret=secret)
    where = f"secret {secret} in {target.name}" if secret else f"vault {target.name}"
    print(f"You are {me.name} ({me.kind}, object id {me.object_id}) in tenant {me.tenant_id}.")
    print(f"Your roles on {where}:" if access.roles else f"You hold no role on {where}.")
    for role in access.roles:
        print(f"  {role.role_name or role.role_id}: {role.how}")
    for note in access.notes:
        print(f"Note: {note}")
    _display(access.to_frame())
    for line in missing_access_advice(target, access):
        print(line)


def missing_access_advice(target, access) -> list[str]:
    """For each role you lack: which operations it would allow and which access package gives it."""
    lacking: dict[str, list[str]] = {}
    for operation, allowed in access.operations.items():
        if not allowed:
            lacking.setdefault(ROLE_FOR_OPERATION.get(operation, OFFICER), []).append(operation)
    if not lacking:
        return []
    held_names = [r.role_name or r.role_id for r in access.roles]
    lines = [f"Why not: none of your roles ({', '.join(held_names) or 'none'}) allows them where Key Vault "
             "checks them (listing on the vault, the rest on the secret)."]
    for role, operations in lacking.items():
        if role in held_names:
            lines.append(f"To {', '.join(operations)}: you hold {role}, but not on the whole vault; ask for it there.")
            continue
        package = _package_for(target, role)
        how = (f"request the access package {package}: `%kvaccess request {role} --reason WHY`" if package
               else "no access package grants it; ask the vault's owner for a grant")
        lines.append(f"To {', '.join(operations)}: you need {role}; {how}.")
    return lines


def _package_for(target, role: str) -> str | None:
    from azure.core.exceptions import AzureError

    from kvnb.errors import KvnbError
    from kvnb.governance import find_access_package

    try:
        return find_access_package(target, role=role).display_name
    except (KvnbError, AzureError):  # a hint: the table above already says what is missing
        return None


# -- subcommands ---------------------------------------------------------------------------------------
def _need(words: list[str], count: int, usage: str) -> None:
    if len(words) < count:
        raise UsageError(f"Usage: %kvaccess {usage}")


def _secret_scope(args) -> str | None:
    if args.scope in (None, "vault"):
        return None
    kind, _, name = args.scope.partition("/")
    if kind != "secret" or not name:
        raise UsageError("--scope takes secret/NAME (or vault).")
    from kvnb.fetch import check_name

    check_name(name)
    return name


def request(target, words, args) -> None:
    from kvnb.governance import request_access

    _need(words, 1, "request ROLE --reason WHY")
    if not args.reason:
        raise UsageError("Say why you need it: --reason 'partner API client' (the approver reads it).")
    if args.for_:
        raise UsageError("--for does not apply to requests: the access package's policy sets how long.")
    wanted = " ".join(words)
    made = request_access(target, justification=args.reason, **_role_or_package(target, wanted))
    print(f"Requested {made.package_name} (request {made.id}, {made.state}). "
          "Its approvers see it with `%kvaccess requests`.")


def _role_or_package(target, wanted: str) -> dict:
    """``package=`` when *wanted* names an access package (anyone may list them), else ``role=``.

    Finding a package by role needs the vault's role assignments, which someone without any
    access (the AzureAD team) may not read; by name it needs only the package list.
    """
    from kvnb.governance import get_access_packages

    folded = wanted.casefold()
    for package in get_access_packages(target):
        if folded in (package.display_name.casefold(), package.display_name.split(" (")[0].casefold()):
            return {"package": package.display_name}
    return {"role": wanted}


REQUEST_VIEW = ["request_id", "package", "requested_by", "justification", "state", "created"]
REVIEW_VIEW = ["group_name", "roles", "status", "reason", "last_completed", "next_due", "days_left"]
DRIFT_VIEW = ["kind", "principal_name", "principal_type", "role_name", "secret"]
DECISION_VIEW = ["principal_name", "principal_type", "decision", "recommendation", "reviewed_by", "apply_result"]


def _view(frame, columns: list[str]):
    return frame[[c for c in columns if c in frame.columns]]


def requests(target, words, args) -> None:
    from kvnb.governance import list_pending_approvals

    pending = list_pending_approvals(target)
    if pending.empty:
        print("No access request waits for your decision.")
        return
    _display(_view(pending, REQUEST_VIEW))


def _decide(decide, verb: str):
    def subcommand(target, words, args) -> None:
        _need(words, 1, f"{verb} ID [--reason TEXT]")
        decided = decide(target, words[0], justification=args.reason)
        print(f"Request {decided.id}: {decided.state}" + (f" ({decided.status})" if decided.status else "") + ".")
    return subcommand


def approve(target, words, args) -> None:
    from kvnb.governance import approve_request

    _decide(approve_request, "approve")(target, words, args)


def deny(target, words, args) -> None:
    from kvnb.governance import deny_request

    _decide(deny_request, "deny")(target, words, args)


def grant(target, words, args) -> None:
    from kvnb.access import grant as grant_role

    _need(words, 2, "grant PRINCIPAL ROLE [--scope secret/NAME] [--for DURATION]")
    secret = _secret_scope(args)
    made = grant_role(target, words[0], " ".join(words[1:]), secret=secret, duration=args.for_,
                      justification=args.reason)
    where = f"secret {secret}" if secret else f"vault {target.name}"
    until = f" until {made.end_time:%Y-%m-%d %H:%M} UTC" if made.end_time else ""
    verb = "Granted" if made.created else "Already granted:"
    print(f"{verb} {made.role.name} to {made.principal.label} on {where}{until}.")


def revoke(target, words, args) -> None:
    from kvnb.access import revoke as revoke_role

    _need(words, 2, "revoke PRINCIPAL ROLE [--scope secret/NAME]")
    if args.for_:
        raise UsageError("--for goes with grant.")
    secret = _secret_scope(args)
    done = revoke_role(target, words[0], " ".join(words[1:]), secret=secret)
    where = f"secret {secret}" if secret else f"vault {target.name}"
    if done.removed:
        print(f"Revoked {done.role.name} from {done.principal.label} on {where} "
              f"({len(done.removed)} assignment{'s' if len(done.removed) > 1 else ''}).")
    else:
        print(f"{done.principal.label} held no {done.role.name} assignment on {where} to revoke "
              "(roles through groups or from above are not touched).")


def review(target, words, args) -> None:
    from kvnb.governance import ReviewNotFoundError, review_decisions, review_status

    if not words:
        _display(_view(review_status(target), REVIEW_VIEW))
        return
    group = " ".join(words)
    try:
        decisions, which = review_decisions(target, group), "open"
    except ReviewNotFoundError as exc:
        if "no open instance" not in str(exc):
            raise
        decisions, which = review_decisions(target, group, instance="last_completed"), "last completed"
    print(f"Decisions of the {which} review of {group}:")
    _display(_view(decisions, DECISION_VIEW))


def plan(target, words, args) -> None:
    """Drift between the vault and a plan: the seed's group convention, or a JSON plan file."""
    from kvnb.access import GovernancePlan, check_plan, seed_plan

    if words:
        import json
        from pathlib import Path

        try:
            chosen = GovernancePlan.from_dict(json.loads(Path(words[0]).read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"Cannot read the plan {words[0]}: {exc}") from None
    else:
        chosen = seed_plan(target.name)
    drift = check_plan(target, chosen)
    print(f"Governance plan for {target.name}: " + ("no drift." if drift.clean else f"{len(drift.items())} drift items."))
    if not drift.clean:
        _display(_view(drift.to_frame(), DRIFT_VIEW))


_SUBCOMMANDS = {"request": request, "requests": requests, "approve": approve, "deny": deny, "grant": grant,
                "revoke": revoke, "review": review, "plan": plan}

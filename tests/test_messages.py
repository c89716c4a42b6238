"""Messages that name what the reader can type where they are (a `kvnb` command in a terminal, a magic
in a notebook), "did you mean" for a mistyped name, and a vault name that does not resolve said as such."""

from __future__ import annotations

import socket

import pytest
from azure.core.exceptions import ServiceRequestError

from kvnb import surface
from kvnb.azure_errors import access_denied, from_azure_error
from kvnb.errors import VaultNameError, VaultReferenceError, VaultUnreachableError
from kvnb.permissions import GET_SECRET
from kvnb.vault import VaultTarget, open_vault, resolve_reference


def test_an_access_denial_names_the_magic_in_a_notebook_and_the_command_in_a_terminal():
    package = "azDevOpsKV01_secAccess (Key Vault Secrets User)"
    notebook = str(access_denied("APICaller", "azDevOpsKV01", GET_SECRET, package))
    assert notebook.endswith(
        f'Request the access package {package}: `%kvaccess request "Key Vault Secrets User" --reason "WHY"`.'
    )
    with surface.using(surface.CLI):
        terminal = str(access_denied("APICaller", "azDevOpsKV01", GET_SECRET, package))
        no_package = str(access_denied("APICaller", "azDevOpsKV01", GET_SECRET))
    assert terminal.endswith('`kvnb access request "Key Vault Secrets User" --reason WHY`.')
    assert no_package.endswith("`kvnb access whoami` shows what you have.")
    assert surface.current() == surface.NOTEBOOK  # the terminal's surface ended with its block


def test_no_vault_given_says_how_to_choose_one_here(monkeypatch):
    monkeypatch.delenv("KVNB_VAULT", raising=False)
    with pytest.raises(VaultNameError, match=r"set `%config KvMagics\.vault = \.\.\.`, or set KVNB_VAULT"):
        resolve_reference(None)
    with surface.using(surface.CLI), pytest.raises(VaultNameError) as info:
        resolve_reference(None)
    assert "pass --vault VAULT, or set KVNB_VAULT" in str(info.value) and "%config" not in str(info.value)


def test_a_vault_name_that_does_not_resolve_is_named_as_such():
    # The chain azure-core → requests → urllib3 builds around a failed lookup, without looking anything up.
    try:
        try:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        except socket.gaierror as lookup:
            raise ConnectionError("Max retries exceeded") from lookup
    except ConnectionError as transport:
        failure = ServiceRequestError(transport, error=transport)
    target = VaultTarget(
        name="azDevOpsKV1", url="https://azdevopskv1.vault.azure.net/", is_local=False, credential=None
    )
    error = from_azure_error(failure, "APICaller", target)
    assert isinstance(error, VaultUnreachableError)
    assert str(error).startswith(
        "No vault named azDevOpsKV1 (DNS lookup of azdevopskv1.vault.azure.net failed): check the name"
    )
    assert "ServiceRequestError" not in str(error)
    refused = from_azure_error(ServiceRequestError("Connection refused"), "APICaller", target)
    assert "No vault named" not in str(refused)  # only a failed lookup means a wrong name


def test_a_mistyped_local_vault_or_persona_gets_a_suggestion(local_vault, monkeypatch):
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    monkeypatch.delenv("KVNB_PERSONA", raising=False)
    with pytest.raises(VaultNameError, match=r"No local vault 'azDevOpsKV1' .*Did you mean azDevOpsKV01\?"):
        open_vault("local:azDevOpsKV1", start_local=False)
    with pytest.raises(VaultReferenceError, match=r"Did you mean member, newmember\? Pick one with --persona NAME"):
        open_vault("local", persona="membre", start_local=False)

"""A notebook executed by nbclient in a real ipykernel, against the test's local vault.

The kernel finds the vault as a user's kernel would: ``KVNB_HOME`` points at the vault's home
(its runtime file names the port), ``KVNB_VAULT=local``. The vault runs in this pytest process.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from nboutputs import outputs_text
from valuecheck import assert_not_leaked

pytestmark = pytest.mark.slow

CELLS = {
    "load": "%load_ext kvnb",
    "member": "%kvget APICaller --persona member",
    "ping": (
        "import os, ssl, httpx\n"
        "context = ssl.create_default_context(cafile=os.path.join(os.environ['KVNB_HOME'], 'ca.pem'))\n"
        "answer = httpx.get(api_caller.vault_url + '/demo-api/ping',\n"
        "                   headers={'X-API-Key': api_caller.reveal()}, verify=context)\n"
        "print('demo api', answer.status_code)"
    ),
    "display": "api_caller",
    "newmember": "%kvget APICaller --persona newmember --as refused",
    "aad-team": (
        "from kvnb.errors import AccessDeniedError\n"
        "from kvnb.fetch import list_secret_names\n"
        "try:\n"
        "    list_secret_names(persona='aad-team')\n"
        "except AccessDeniedError as refused:\n"
        "    print('aad-team may not list; needs', refused.missing_role)"
    ),
    "aad-team-get": "%kvget APICaller --persona aad-team",
    "kvaccess": "%kvaccess --persona newmember",
    "ledger": "frame = %kvget --ledger\nprint(list(frame['result']))",
    "unload": "%unload_ext kvnb\nprint('kvget' in get_ipython().magics_manager.magics['line'])",
}
RAISES = {"newmember", "aad-team-get"}


def _notebook():
    nb = new_notebook()
    for key, source in CELLS.items():
        cell = new_code_cell(source, metadata={"kvnb_test": key})
        if key in RAISES:
            cell.metadata["tags"] = ["raises-exception"]
        nb.cells.append(cell)
    return nb


def _outputs(nb) -> dict[str, list]:
    return {cell.metadata["kvnb_test"]: cell.outputs for cell in nb.cells}


@pytest.fixture
def kernel_env(local_vault, monkeypatch):

    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    monkeypatch.setenv("KVNB_VAULT", "local")
    monkeypatch.delenv("KVNB_PERSONA", raising=False)
    return local_vault


def test_the_seed_personas_in_a_real_kernel(kernel_env, tmp_path):
    value = kernel_env.secret_client("lead").get_secret("APICaller").value
    nb = _notebook()
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    out = {key: outputs_text(outputs) for key, outputs in _outputs(nb).items()}

    assert "APICaller → api_caller" in out["member"]
    assert "demo api 200" in out["ping"]
    assert out["display"].startswith("<secret APICaller ")
    assert "UsageError" in out["newmember"] and "Key Vault Secrets User" in out["newmember"]
    assert "azDevOpsKV01_secAccess" in out["newmember"]
    assert "aad-team may not list; needs Key Vault Reader" in out["aad-team"]
    assert "Access denied" in out["aad-team-get"]
    assert "Key Vault Reader: through group azDevOpsKV01_reader" in out["kvaccess"]
    assert "request the access package azDevOpsKV01_secAccess" in out["kvaccess"]
    html = [o for o in _outputs(nb)["kvaccess"] if o.output_type == "display_data"]
    assert html and "<table" in html[0].data["text/html"]  # the operations table, rendered
    assert "['OK', 'ForbiddenByRbac', 'ForbiddenByRbac']" in out["ledger"]
    assert out["unload"].strip() == "False"

    saved = tmp_path / "executed.ipynb"
    nbformat.write(nb, saved)
    assert_not_leaked(value, saved.read_text())
    assert_not_leaked(value, json.dumps(nb))

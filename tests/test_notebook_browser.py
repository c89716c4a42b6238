"""Notebook 02 opened in JupyterLab in Debian's Chromium and run to the end, as a new member would:
through `./scripts/demo`, the README's first command (as root when the suite runs as root).

Uses the browser fixtures of conftest.py, as `test_panel_browser` does (skipped loudly, with the
reason, when /usr/bin/chromium is missing).
"""

from __future__ import annotations

import shutil

import pytest

from labbrowser import ARTIFACTS, REPO, kvnb_home, open_and_run, running_demo
from valuecheck import assert_not_leaked

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = "02_new_team_member.ipynb"
ALL_CELLS_RAN = """() => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = widget && widget.sessionContext && widget.sessionContext.session
                 && widget.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  return widget.content.widgets.every(c => c.model.type !== 'code' || c.model.executionCount !== null);
}"""
OUTPUTS = """() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter(c => c.model.type === 'code')
  .map(c => ({id: c.model.id, outputs: c.model.outputs.toJSON()}))"""


def _output_text(output: dict) -> str:
    text = output.get("text", "")
    data = output.get("data", {})
    parts = [text if isinstance(text, str) else "".join(text)]
    for mime in ("text/plain", "text/html", "text/markdown"):
        value = data.get(mime, "")
        parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


def _all_values(home) -> list[str]:
    from kvnb.vault import open_vault

    with kvnb_home(home):
        lead = open_vault("local", persona="lead", start_local=False)
        try:
            client = lead.secret_client
            return [
                client.get_secret(p.name, v.version).value
                for p in client.list_properties_of_secrets()
                for v in client.list_properties_of_secret_versions(p.name)
                if v.enabled
            ]
        finally:
            lead.close()


@pytest.fixture(scope="module")
def demo_lab(chromium, tmp_path_factory):
    """JupyterLab and the local vault, started by `./scripts/demo` with free ports."""
    with running_demo(tmp_path_factory.mktemp("demo")) as started:
        yield started


def test_new_member_notebook_runs_to_the_end_in_jupyterlab(page, demo_lab):
    lab, seed_vault = demo_lab, demo_lab.home
    # The notebook as committed, kernel included: the demo's JupyterLab runs it with the venv's kernel.
    shutil.copy(REPO / "notebooks" / NOTEBOOK, lab.root / NOTEBOOK)

    open_and_run(page, lab, NOTEBOOK)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.wait_for_function(ALL_CELLS_RAN, timeout=180_000)
    finally:
        page.screenshot(path=str(ARTIFACTS / "notebook-02-jupyterlab.png"), full_page=True)
    cells = page.evaluate(OUTPUTS)

    errors = [c["id"] for c in cells for o in c["outputs"] if o.get("output_type") == "error"]
    assert errors == [], f"cells with errors: {errors}"
    # JupyterLab renders only the cells in view, so read what the kernel sent from the notebook model.
    text = "\n".join(_output_text(o) for c in cells for o in c["outputs"])
    assert "Refused: Access denied" in text and "azDevOpsKV01_secAccess" in text
    assert "APICaller → api_caller" in text
    assert "API answered 200 OK" in text

    html = page.content()
    for value in _all_values(seed_vault):
        assert_not_leaked(value, text)  # in the notebook
        assert_not_leaked(value, html)  # on the page
    shutil.rmtree(lab.root / ".ipynb_checkpoints", ignore_errors=True)

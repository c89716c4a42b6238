"""A fetched ``Secret`` as JupyterLab draws it, in Debian's Chromium: one line, no JSON tree.

IPython puts every ``_repr_*_`` method's output in the display bundle and JupyterLab renders the
richest mimetype it knows; an ``application/json`` entry once made a ``Secret`` a collapsible JSON
tree (▾ root, fingerprint, value, a Find box). Fixtures (`lab`, `page`, `seed_vault`) are in conftest.py.
"""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from labbrowser import ARTIFACTS, open_and_run
from test_notebook_browser import ALL_CELLS_RAN, OUTPUTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = "secret_display.ipynb"
CELLS = [
    "%load_ext kvnb",
    "from kvnb.fetch import fetch_secret\napi = fetch_secret('APICaller', persona='lead')",
    "api",
]
# What the last cell's output area shows: its text as laid out, and whether a JSON tree is in it.
LAST_OUTPUT = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.widgets;
  const area = cells[cells.length - 1].outputArea.node;
  const output = area.querySelector('.jp-OutputArea-output');
  return {text: output ? output.innerText : null,
          height: output ? output.getBoundingClientRect().height : null,
          lineHeight: output ? parseFloat(getComputedStyle(output).lineHeight) || 20 : null,
          jsonTree: !!area.querySelector('.jp-RenderedJSON, [class*="json-tree"], .cm-editor')};
}"""


def test_a_fetched_secret_shows_as_one_line_not_a_json_tree(page, lab, seed_vault):
    notebook = new_notebook(cells=[new_code_cell(source) for source in CELLS])
    kernel = lab.add_kernel("kvnb-secret-display", seed_vault)
    notebook.metadata["kernelspec"] = {"name": kernel, "display_name": "kvnb", "language": "python"}
    nbformat.write(notebook, lab.root / NOTEBOOK)

    open_and_run(page, lab, NOTEBOOK)
    try:
        page.wait_for_function(ALL_CELLS_RAN, timeout=120_000)
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "secret-display-jupyterlab.png"))
    shown = page.evaluate(LAST_OUTPUT)
    assert not shown["jsonTree"], "the Secret was drawn as a JSON tree"
    lines = [line for line in shown["text"].splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("<secret APICaller ") and "••••••••" in lines[0], lines
    assert shown["height"] < 2 * shown["lineHeight"] + 8, shown  # drawn on one line, not wrapped

    outputs = page.evaluate(OUTPUTS)[-1]["outputs"]
    assert [o["output_type"] for o in outputs] == ["execute_result"]
    assert sorted(outputs[0]["data"]) == ["text/html", "text/plain"]

"""Read a notebook as Jupyter shows it: the decoded text of each cell's parts.

Searching the decoded strings, not the file, is what lets a finding say "cell 4, source, line 2"
and report the value as typed (raw) even though the file holds it JSON-escaped. The notebook is read
with ``json`` rather than nbformat: validation would cost more than the search and would reject the
half-broken notebooks where leaks like to hide.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class TextUnit:
    """One decoded string of a notebook and where it lives."""

    cell: int | None  # 1-based, counting every cell from the top; None for notebook metadata
    part: str  # "source", "output", "attachments" or "metadata"
    pointer: str  # RFC 6901 JSON pointer into the file, e.g. /cells/3/outputs/0/text
    text: str
    cell_id: str | None = None


_CELL_PARTS = {"source": "source", "input": "source", "outputs": "output", "attachments": "attachments"}


def notebook_units(text: str) -> list[TextUnit] | None:
    """The notebook's text units, or None if ``text`` is not a notebook (then scan it as text)."""
    try:
        notebook = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(notebook, dict):
        return None
    cells = _cells(notebook)
    if cells is None:
        return None
    units = [
        TextUnit(None, "metadata", pointer, string)
        for key, value in notebook.items()
        if key not in ("cells", "worksheets")
        for pointer, string in _strings(value, "/" + _escape(key))
    ]
    for number, (pointer, cell) in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            continue
        cell_id = cell.get("id") if isinstance(cell.get("id"), str) else None
        for key, value in cell.items():
            part = _CELL_PARTS.get(key, "metadata")
            for where, string in _strings(value, f"{pointer}/{_escape(key)}"):
                units.append(TextUnit(number, part, where, string, cell_id))
    return units


def _cells(notebook: dict) -> list[tuple[str, object]] | None:
    if isinstance(notebook.get("cells"), list):  # nbformat 4
        return [(f"/cells/{index}", cell) for index, cell in enumerate(notebook["cells"])]
    if isinstance(notebook.get("worksheets"), list):  # nbformat 3
        return [
            (f"/worksheets/{sheet}/cells/{index}", cell)
            for sheet, worksheet in enumerate(notebook["worksheets"])
            if isinstance(worksheet, dict)
            for index, cell in enumerate(worksheet.get("cells") or [])
        ]
    return None


def _strings(value: object, pointer: str) -> Iterator[tuple[str, str]]:
    """Every string below ``value``, keys included; a list of strings is one multi-line text."""
    stack = [(pointer, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, list):
            if item and all(isinstance(line, str) for line in item):
                yield where, "".join(item)  # nbformat's way of storing multi-line strings
            else:
                stack.extend((f"{where}/{index}", child) for index, child in reversed(list(enumerate(item))))
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                child_where = f"{where}/{_escape(key)}"
                stack.append((child_where, child))
                stack.append((child_where, key))


def _escape(key: str) -> str:
    if "~" not in key and "/" not in key:  # nearly every key: no new string
        return key
    return key.replace("~", "~0").replace("/", "~1")

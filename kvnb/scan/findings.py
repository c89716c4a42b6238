"""What a scan reports: findings with masked excerpts, and the summary of what was read or skipped."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from .matching import Hit

MASK = "••••••••"  # fixed width, so an excerpt does not even tell the value's length
CONTEXT_CHARS = 20


@dataclass(frozen=True)
class Finding:
    """One copy of a searched value.

    ``line`` and ``column`` are 1-based and count characters. In a notebook they are relative to the
    decoded string named by ``cell``, ``part`` and ``pointer`` (a cell's source, one output field...);
    in any other file, to the file.
    """

    path: str
    label: str
    form: str
    line: int
    column: int
    excerpt: str
    whole: bool = True  # an entire form of the value; else a run of ``run`` characters of one
    run: int = 0  # characters of the copy as found (its span in the text searched)
    cell: int | None = None
    part: str | None = None
    pointer: str | None = None
    cell_id: str | None = None

    @property
    def location(self) -> str:
        where = f"{self.line}:{self.column}"
        if self.part is None:
            return where
        if self.part in ("pickle", "bytes"):  # a binary file (--binary)
            return f"{self.part} {self.pointer}"
        if self.cell is None:
            return f"notebook {self.part} {self.pointer} {where}"
        return f"cell {self.cell} {self.part} {where}"

    @property
    def copy(self) -> str:
        """``whole`` or ``partial, N chars``: how much of the value the copy shows."""
        return "whole" if self.whole else f"partial, {self.run} chars"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ScanResult:
    findings: tuple[Finding, ...]
    labels: tuple[str, ...]
    files_scanned: int = 0
    bytes_scanned: int = 0
    files_ignored: int = 0  # excluded by .gitignore
    dirs_ignored: int = 0  # excluded by .gitignore, not entered
    files_binary: int = 0
    files_too_large: int = 0
    files_unreadable: int = 0
    max_file_size: int = 0
    seconds: float = 0.0
    skipped_examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return bool(self.findings)

    @property
    def files_with_findings(self) -> int:
        return len({finding.path for finding in self.findings})

    def summary(self) -> dict:
        summary = {item.name: getattr(self, item.name) for item in fields(self) if item.name != "findings"}
        summary["labels"] = list(self.labels)
        summary["skipped_examples"] = {reason: list(paths) for reason, paths in self.skipped_examples.items()}
        summary["findings"] = len(self.findings)
        summary["files_with_findings"] = self.files_with_findings
        summary["seconds"] = round(self.seconds, 3)
        return summary

    def as_dict(self) -> dict:
        return {"findings": [finding.as_dict() for finding in self.findings], "summary": self.summary()}


def findings_in(text: str, hits: list[Hit], *, path: str, unit=None) -> list[Finding]:
    """Findings for ``hits`` in ``text``; every hit on an excerpt's line is masked, not just its own."""
    findings = []
    for hit in hits:
        line_start = text.rfind("\n", 0, hit.start) + 1
        line = text.count("\n", 0, hit.start) + 1
        findings.append(
            Finding(
                path=path,
                label=hit.label,
                form=hit.form,
                line=line,
                column=hit.start - line_start + 1,
                excerpt=_masked_excerpt(text, hit, hits, line_start),
                whole=getattr(hit, "whole", True),
                run=hit.end - hit.start,
                cell=getattr(unit, "cell", None),
                part=getattr(unit, "part", None),
                pointer=getattr(unit, "pointer", None),
                cell_id=getattr(unit, "cell_id", None),
            )
        )
    return findings


def _masked_excerpt(text: str, hit: Hit, hits: list[Hit], line_start: int) -> str:
    line_end = text.find("\n", hit.start)
    if line_end < 0:
        line_end = len(text)
    first = max(line_start, hit.start - CONTEXT_CHARS)
    last = min(line_end, max(hit.end, hit.start) + CONTEXT_CHARS)
    # The masked spans are merged first, so context printed next to one copy never shows a second
    # copy (or another form of it) on the same line.
    spans = sorted((max(h.start, first), min(h.end, last)) for h in hits if h.start < last and h.end > first)
    pieces = []
    cursor = first
    for start, end in spans:
        if end <= cursor:
            continue
        if start > cursor:
            pieces.append(_printable(text[cursor:start]))
        elif pieces and pieces[-1] == MASK:
            cursor = max(cursor, end)
            continue
        pieces.append(MASK)
        cursor = max(cursor, end)
    if cursor < last:
        pieces.append(_printable(text[cursor:last]))
    excerpt = "".join(pieces).strip()
    if first > line_start:
        excerpt = "…" + excerpt
    if last < line_end:
        excerpt += "…"
    return excerpt


def _printable(text: str) -> str:
    return "".join(
        char if char.isprintable() and not 0xD800 <= ord(char) <= 0xDFFF else (" " if char in "\t\r" else "?")
        for char in text
    )

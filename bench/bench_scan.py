"""Benchmark ``kvnb scan`` against detect-secrets 1.5.0 and ``grep -rF`` on one generated tree.

    python bench/bench_scan.py [--files 2000] [--runs 3] [--keep DIR]

Builds a tree of mixed files (py, ipynb, yaml, md in equal parts, about 6 MB for 2,000 files) in a
temporary directory, plants a random value in code, notebook code cells, notebook outputs and
base64 ``Authorization`` headers, and partial copies (runs of K to 30 characters of it, as a
truncated display leaves them) in every kind of file, then measures for each tool its recall
(planted copies found) and files per second. ``grep -rF`` searches the whole forms only (every form
of ``kvnb.matching.forms_of``): it is the speed baseline, not a partial-copy finder. detect-secrets is optional: ``pip install detect-secrets==1.5.0`` to include it.
The value is made here at random, lives only in this process and in the throwaway tree, and is
never printed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kvnb.matching import forms_of, redact_min_run
from kvnb.scan import export_fingerprints, scan_paths
from kvnb.scan.fingerprints import FingerprintEntry, FingerprintForm

KINDS = ("py", "ipynb", "yaml", "md")
PLANTS_PER_KIND = 13  # as in the detect-secrets baseline: 13 assignments in notebook code cells
PARTIALS_PER_KIND = 5  # partial copies per kind of file
LABEL = "APICaller/bench"


@dataclass(frozen=True)
class Plant:
    path: str
    file_line: int  # 1-based line in the file, as line-oriented tools report it
    where: str  # "code", "cell source", "cell output", "base64 header", "partial ..." (a run of K+)


def _words(rng: secrets.SystemRandom, count: int) -> str:
    vocabulary = (
        "vault",
        "secret",
        "client",
        "token",
        "rotate",
        "access",
        "review",
        "group",
        "notebook",
        "request",
        "value",
        "policy",
        "member",
        "expiry",
        "version",
        "audit",
        "scope",
        "role",
    )
    return " ".join(rng.choice(vocabulary) for _ in range(count))


def _partial(value: str, index: int) -> str:
    """A run of K to 30 characters of ``value``, from a different place each time."""
    k = redact_min_run()
    length = k + index % (31 - k)
    start = (index * 7) % (len(value) - length + 1)
    return value[start : start + length]


def _py(rng, index: int, plant: str | None) -> str:
    lines = [f'"""Module {index}: {_words(rng, 8)}."""', "", "import os", ""]
    for function in range(11):
        lines += [
            f"def step_{function}(client, name):",
            f"    # {_words(rng, 10)}",
            f"    value = client.get_secret(name + '-{secrets.token_hex(4)}')",
            f"    return value.properties.version  # {_words(rng, 4)}",
            "",
        ]
    if plant is not None:
        lines.insert(4, f'client_secret = "{plant}"')
    return "\n".join(lines) + "\n"


def _yaml(rng, index: int, plant: str | None) -> str:
    lines = [f"# config {index}: {_words(rng, 6)}", "service:", f"  name: svc-{index}", "  endpoints:"]
    for entry in range(19):
        lines += [f"    - url: https://api{entry}.example.org/{secrets.token_hex(3)}", f"      note: {_words(rng, 5)}"]
    if plant is not None:
        lines.insert(3, f"  client_secret: {plant}")
    return "\n".join(lines) + "\n"


def _md(rng, index: int, plant: str | None, header: str | None) -> str:
    lines = [f"# Runbook {index}", ""]
    for _ in range(10):
        lines += [f"{_words(rng, 18)}.", f"{_words(rng, 12)} `kvnb scan` {_words(rng, 4)}.", ""]
    if plant is not None:
        lines[2:2] = ["```python", f'client_secret = "{plant}"', "```", ""]
    if header is not None:
        lines[2:2] = [f"    Authorization: Basic {header}", ""]
    return "\n".join(lines) + "\n"


def _ipynb(rng, index: int, plant: str | None, printed: str | None) -> str:
    image = base64.b64encode(os.urandom(1700)).decode("ascii")
    cells = []
    for number in range(6):
        source = [f"# {_words(rng, 8)}\n", f"result_{number} = compute({number})\n", f"result_{number}"]
        outputs = [
            {
                "output_type": "execute_result",
                "execution_count": number + 1,
                "metadata": {},
                "data": {"text/plain": [f"'{_words(rng, 6)}'"]},
            }
        ]
        cells.append(
            {
                "cell_type": "code",
                "execution_count": number + 1,
                "id": secrets.token_hex(4),
                "metadata": {},
                "source": source,
                "outputs": outputs,
            }
        )
    cells[2]["outputs"].append({"output_type": "display_data", "metadata": {}, "data": {"image/png": image}})
    if plant is not None:
        cells[1]["source"].insert(1, f'client_secret = "{plant}"\n')
    if printed is not None:
        cells[3]["outputs"].append({"output_type": "stream", "name": "stdout", "text": [f"token: {printed}\n"]})
    notebook = {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def build_tree(root: Path, files: int, value: str) -> list[Plant]:
    rng = secrets.SystemRandom()
    header = base64.b64encode(b"apicaller:" + value.encode()).decode("ascii")
    plants: list[Plant] = []
    per_kind = files // len(KINDS)
    for kind in KINDS:
        folder = root / kind
        folder.mkdir(parents=True)
        for index in range(per_kind):
            planted = index < PLANTS_PER_KIND
            extra = PLANTS_PER_KIND <= index < PLANTS_PER_KIND + 5  # outputs and base64 headers
            partial = (
                _partial(value, index)
                if PLANTS_PER_KIND + 5 <= index < (PLANTS_PER_KIND + 5 + PARTIALS_PER_KIND)
                else None
            )
            path = folder / f"{kind}_{index:04d}.{kind}"
            if kind == "py":
                text = _py(rng, index, value if planted else partial)
            elif kind == "yaml":
                text = _yaml(rng, index, value if planted else partial)
            elif kind == "md":
                text = _md(rng, index, value if planted else partial, header if extra else None)
            else:
                text = _ipynb(rng, index, value if planted else None, value if extra else partial)
            path.write_text(text, encoding="utf-8")
            for number, line in enumerate(text.splitlines(), start=1):
                if value in line:
                    where = {"ipynb": "cell output" if "token: " in line else "cell source"}.get(kind, "code")
                    plants.append(Plant(str(path), number, where))
                elif header in line:
                    plants.append(Plant(str(path), number, "base64 header"))
                elif partial is not None and partial in line:
                    where = "partial cell output" if kind == "ipynb" else "partial code"
                    plants.append(Plant(str(path), number, where))
    return plants


def fingerprint_entries(value: str) -> list[FingerprintEntry]:
    document = export_fingerprints({LABEL: value}, "https://bench.vault.azure.net")
    return [
        FingerprintEntry(
            e["label"],
            e["vault_url"],
            e["length"],
            tuple(FingerprintForm(f["form"], f["length"], f["fingerprint"], f["whitespace"]) for f in e["forms"]),
        )
        for e in document["entries"]
    ]


def run_kvnb(root: Path, value: str, plants: list[Plant], runs: int, fingerprints: bool = False) -> dict:
    needles = fingerprint_entries(value) if fingerprints else {LABEL: value}
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = scan_paths([root], needles)
        times.append(time.perf_counter() - started)
    found_files = {finding.path for finding in result.findings}
    # Notebook findings are per cell; count a plant found if its file has a finding of that kind.
    found = 0
    for plant in plants:
        matches = [f for f in result.findings if f.path == plant.path]
        if plant.where == "cell source":
            found += any(f.part == "source" and f.whole for f in matches)
        elif plant.where == "cell output":
            found += any(f.part == "output" and f.whole for f in matches)
        elif plant.where == "partial cell output":
            found += any(f.part == "output" and not f.whole for f in matches)
        else:
            found += any(f.line == plant.file_line and f.whole != plant.where.startswith("partial") for f in matches)
    return {
        "seconds": statistics.median(times),
        "first_seconds": times[0],
        "files": result.files_scanned,
        "found": found,
        "findings": len(result.findings),
        "files_flagged": len(found_files),
    }


def run_detect_secrets(root: Path, value: str, plants: list[Plant]) -> dict | None:
    executable = shutil.which("detect-secrets") or str(Path(sys.executable).with_name("detect-secrets"))
    if not os.path.exists(executable):
        return None
    version = subprocess.run([executable, "--version"], capture_output=True, text=True).stdout.strip()
    started = time.perf_counter()
    completed = subprocess.run(
        [executable, "scan", "--all-files", "."], cwd=root, capture_output=True, text=True, timeout=3600
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit("detect-secrets failed: " + completed.stderr[-500:])
    results = json.loads(completed.stdout)["results"]
    # Two readings. Strict: it reported the value itself (its baseline hash is an unsalted SHA-1 of
    # the secret). Generous: it reported anything at all on the planted line.
    value_hash = hashlib.sha1(value.encode()).hexdigest()
    reported = [
        (str(root / name), item["line_number"], item["hashed_secret"])
        for name, items in results.items()
        for item in items
    ]
    strict = {(path, line) for path, line, hashed in reported if hashed == value_hash}
    generous = {(path, line) for path, line, _ in reported}
    by_where: dict[str, list[int]] = {}
    for plant in plants:
        counts = by_where.setdefault(plant.where, [0, 0, 0])
        counts[0] += (plant.path, plant.file_line) in strict
        counts[1] += (plant.path, plant.file_line) in generous
        counts[2] += 1
    return {
        "seconds": seconds,
        "strict": sum(c[0] for c in by_where.values()),
        "generous": sum(c[1] for c in by_where.values()),
        "reported": len(reported),
        "version": version,
        "by_where": by_where,
    }


def run_grep(root: Path, value: str, plants: list[Plant], runs: int) -> dict | None:
    grep = shutil.which("grep")
    if grep is None:
        return None
    # The whole forms, one line each (a multi-line form cannot be a grep pattern; none here).
    patterns = "\n".join(form.text for form in forms_of(value) if "\n" not in form.text) + "\n"
    times, listed = [], set()
    for _ in range(runs):
        started = time.perf_counter()
        # Patterns go through stdin, so no needle is ever written to disk.
        completed = subprocess.run(
            [grep, "-rlF", "-f", "-", str(root)], input=patterns, capture_output=True, text=True, timeout=600
        )
        times.append(time.perf_counter() - started)
        listed = set(completed.stdout.splitlines())
    planted_files = {plant.path for plant in plants if not plant.where.startswith("partial")}
    return {
        "seconds": statistics.median(times),
        "found_files": len(planted_files & listed),
        "planted_files": len(planted_files),
    }


def paired_ratio(root: Path, value: str, runs: int) -> tuple[float, list[float]]:
    """kvnb's wall time over grep's, one kvnb run then one grep run, ``runs`` times: the median of
    the pairs' ratios. Each pair shares the machine's load of the moment, which on a busy 2-core
    machine moves single timings by 2x."""
    grep = shutil.which("grep")
    patterns = "\n".join(form.text for form in forms_of(value) if "\n" not in form.text) + "\n"
    ratios = []
    for _ in range(runs):
        started = time.perf_counter()
        scan_paths([root], {LABEL: value})
        middle = time.perf_counter()
        subprocess.run(
            [grep, "-rlF", "-f", "-", str(root)], input=patterns, capture_output=True, text=True, timeout=600
        )
        ratios.append((middle - started) / (time.perf_counter() - middle))
    return statistics.median(ratios), ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3, help="kvnb and grep runs (the median is reported)")
    parser.add_argument("--keep", metavar="DIR", help="build the tree in DIR and keep it")
    args = parser.parse_args()
    value = secrets.token_urlsafe(32)
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="kvnb-bench-scan-"))
    try:
        tree = root / "tree"
        plants = build_tree(tree, args.files, value)
        size = sum(path.stat().st_size for path in tree.rglob("*") if path.is_file())
        print(
            f"Tree: {args.files:,} files, {size / 1e6:.1f} MB, {len(plants)} planted copies "
            f"({', '.join(f'{sum(p.where == w for p in plants)} {w}' for w in sorted({p.where for p in plants}))}); "
            f"{os.cpu_count()} CPUs"
        )
        kvnb = run_kvnb(tree, value, plants, args.runs)
        kvnb_rate = kvnb["files"] / kvnb["seconds"]
        print(
            f"kvnb scan (K={redact_min_run()}): recall {kvnb['found']}/{len(plants)} "
            f"({100 * kvnb['found'] / len(plants):.0f} %), "
            f"{kvnb['seconds']:.3f} s median of {args.runs} (first {kvnb['first_seconds']:.3f} s), "
            f"{kvnb_rate:,.0f} files/s, 1 process"
        )
        fingerprinted = run_kvnb(tree, value, plants, 1, fingerprints=True)
        raw_plants = sum(plant.where != "base64 header" and not plant.where.startswith("partial") for plant in plants)
        print(
            f"kvnb scan --fingerprints: recall {fingerprinted['found']}/{raw_plants} raw copies "
            f"(base64 and partial copies need the value), {fingerprinted['seconds']:.2f} s, "
            f"{fingerprinted['files'] / fingerprinted['seconds']:,.0f} files/s"
        )
        grep = run_grep(tree, value, plants, args.runs)
        if grep:
            grep_rate = args.files / grep["seconds"]
            print(
                f"grep -rF:       {grep['found_files']}/{grep['planted_files']} planted files listed, "
                f"{grep['seconds']:.3f} s, {grep_rate:,.0f} files/s (whole forms only)"
            )
            ratio, ratios = paired_ratio(tree, value, max(args.runs, 5))
            print(
                f"kvnb scan wall time = {ratio:.2f}x grep -rF's (goal: <= 2x; median of {len(ratios)} "
                f"kvnb-then-grep pairs, range {min(ratios):.2f}-{max(ratios):.2f}x; medians above: "
                f"{kvnb['seconds'] / grep['seconds']:.2f}x), with partial copies and notebooks parsed"
            )
        detect = run_detect_secrets(tree, value, plants)
        if detect is None:
            print("detect-secrets: not installed; `pip install detect-secrets==1.5.0` to compare with it")
        else:
            detect_rate = args.files / detect["seconds"]
            strict = ", ".join(f"{w} {n}/{t}" for w, (n, _, t) in sorted(detect["by_where"].items()))
            generous = ", ".join(f"{w} {n}/{t}" for w, (_, n, t) in sorted(detect["by_where"].items()))
            print(
                f"detect-secrets {detect['version']}: {detect['seconds']:.2f} s, {detect_rate:,.1f} files/s "
                f"(all CPUs), {detect['reported']} secrets reported"
            )
            print(
                f"  recall, the value itself reported: {detect['strict']}/{len(plants)} "
                f"({100 * detect['strict'] / len(plants):.0f} %: {strict})"
            )
            print(
                f"  recall, anything reported on the planted line: {detect['generous']}/{len(plants)} "
                f"({100 * detect['generous'] / len(plants):.0f} %: {generous})"
            )
            print(f"kvnb/detect-secrets = {kvnb_rate / detect_rate:,.0f}x files per second (goal: >= 100x)")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Which files a scan reads: walk the given paths, honouring ``.gitignore`` as git does.

A path named on the command line is always read, even if ignored (as with ``git add -f``). Below it,
``.gitignore`` files apply to their own directory and everything under it, a deeper file overriding
a shallower one; the repository's ``.gitignore`` files above the scan root and ``.git/info/exclude``
apply too. An ignored directory is not entered, since git cannot re-include anything inside it.
Symbolic links to directories are not followed, so a link loop cannot make the walk endless.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

# The walk never needs more directory levels than this to reach a repository's top.
_MAX_PARENT_LEVELS = 64
EXAMPLES_KEPT = 5


@dataclass(frozen=True)
class _Rules:
    prefix: str  # walk path of the directory below which these patterns apply
    above: str  # path from the .gitignore's own directory down to ``prefix`` ("" when the same)
    spec: object  # pathspec.GitIgnoreSpec

    def verdict(self, path: str, is_dir: bool) -> bool | None:
        cut = len(self.prefix) if self.prefix.endswith(os.sep) else len(self.prefix) + 1
        relative = self.above + path[cut:]
        if os.sep != "/":
            relative = relative.replace(os.sep, "/")
        return self.spec.check_file(relative + "/" if is_dir else relative).include


@dataclass
class FileSelection:
    files: list[str] = field(default_factory=list)
    ignored_files: int = 0
    ignored_dirs: int = 0
    unreadable_dirs: int = 0
    ignored_examples: list[str] = field(default_factory=list)


def select_files(paths: Iterable[str | os.PathLike], *, respect_gitignore: bool = True) -> FileSelection:
    """The files to read under ``paths``. FileNotFoundError if a path does not exist."""
    selection = FileSelection()
    for given in paths:
        root = os.path.normpath(os.fspath(given))
        if not os.path.exists(root):
            raise FileNotFoundError(f"no such file or directory: {root}")
        if not os.path.isdir(root):
            selection.files.append(root)
            continue
        rules = _rules_above(root) if respect_gitignore else []
        _walk(root, rules, selection, respect_gitignore)
    return selection


def _walk(root: str, rules: list[_Rules], selection: FileSelection, respect_gitignore: bool) -> None:
    stack = [(root, rules)]
    while stack:  # every directory is pushed once: the walk neither follows links nor revisits
        directory, inherited = stack.pop()
        here = inherited + _rules_in(directory, directory) if respect_gitignore else inherited
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError:
            selection.unreadable_dirs += 1
            continue
        subdirectories = []
        for entry in entries:
            if entry.name == ".git":
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = not is_dir and entry.is_file()
            except OSError:
                continue
            if not (is_dir or is_file):
                continue
            if here and _ignored(here, entry.path, is_dir):
                if is_dir:
                    selection.ignored_dirs += 1
                else:
                    selection.ignored_files += 1
                if len(selection.ignored_examples) < EXAMPLES_KEPT:
                    selection.ignored_examples.append(entry.path + (os.sep if is_dir else ""))
            elif is_dir:
                subdirectories.append((entry.path, here))
            else:
                selection.files.append(entry.path)
        stack.extend(reversed(subdirectories))


def _ignored(rules: list[_Rules], path: str, is_dir: bool) -> bool:
    ignored = False
    for rules_here in rules:  # shallow to deep: the deepest file with a matching pattern decides
        verdict = rules_here.verdict(path, is_dir)
        if verdict is not None:
            ignored = verdict
    return ignored


def _rules_in(directory: str, prefix: str, above: str = "", name: str = ".gitignore") -> list[_Rules]:
    path = os.path.join(directory, name)
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            lines = file.read().splitlines()
    except OSError:
        return []
    try:
        from pathspec import GitIgnoreSpec
    except ImportError:
        raise RuntimeError("kvnb needs the pathspec package to honour .gitignore: pip install pathspec") from None
    return [_Rules(prefix, above, GitIgnoreSpec.from_lines(lines))]


def _rules_above(root: str) -> list[_Rules]:
    """Rules from the enclosing repository's .gitignore files above ``root`` and .git/info/exclude."""
    absolute = os.path.abspath(root)
    chain = [absolute]
    for _ in range(_MAX_PARENT_LEVELS):
        if os.path.exists(os.path.join(chain[-1], ".git")):
            break
        parent = os.path.dirname(chain[-1])
        if parent == chain[-1]:
            return []  # not inside a repository: only the tree's own .gitignore files count
        chain.append(parent)
    else:
        return []
    top = chain[-1]
    rules = _rules_in(os.path.join(top, ".git", "info"), root, _above(absolute, top), name="exclude")
    for directory in reversed(chain[1:]):  # the root's own .gitignore is read by the walk
        rules += _rules_in(directory, root, _above(absolute, directory))
    return rules


def _above(absolute_root: str, directory: str) -> str:
    relative = os.path.relpath(absolute_root, directory)
    return "" if relative == "." else relative + os.sep

"""IPython's test shell for the magics tests, and ``run``, which runs a cell in it and re-raises the
cell's error (as jupysql's TestingShell does), so a refused fetch surfaces as the ``UsageError`` a
notebook user would see."""

from __future__ import annotations


def ipython_shell():
    """The process's IPython shell (one per process, shared by every test module that uses it, so
    always configured the same way: history in memory, never in the user's profile)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    return InteractiveShell.instance(config=config)


def run(ip, text: str):
    """Run a cell; raise its error like jupysql's TestingShell."""
    result = ip.run_cell(text)
    result.raise_error()
    return result

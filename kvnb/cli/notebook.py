"""``kvnb notebook``: set up Jupyter for kvnb. Thin: find the config file, add one line."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import click

CONFIG_NAME = "jupyter_server_config.py"
HOOK = "kvnb.saveguard.pre_save_hook"
# ContentsManager, not FileContentsManager: the trait is defined there and every contents manager
# (the default AsyncLargeFileManager included) inherits it.
CONFIG_LINE = f'c.ContentsManager.pre_save_hook = "{HOOK}"'
COMMENT = "# kvnb save guard: scrub values fetched from Key Vault before a notebook is saved"
_ANY_PRE_SAVE_HOOK = re.compile(r"^\s*c\.\w+\.pre_save_hook\s*=.*$", re.MULTILINE)


@click.group("notebook")
def notebook() -> None:
    """Set up Jupyter for kvnb."""


@notebook.command("install-save-guard")
@click.option(
    "--user",
    "where",
    flag_value="user",
    default=True,
    help="Your Jupyter config folder (jupyter --config-dir), the default.",
)
@click.option(
    "--sys-prefix",
    "where",
    flag_value="sys-prefix",
    help="This Python environment's etc/jupyter, for every user of it.",
)
def install_save_guard(where: str) -> None:
    """Add the save guard's pre-save hook to jupyter_server_config.py (idempotent).

    Restart Jupyter afterwards. The server and its kernels must see the same KVNB_HOME.
    """
    path = config_dir(where) / CONFIG_NAME
    try:
        changed = add_hook_line(path)
    except HookConflict as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot update {path}: {exc.strerror}") from None
    if changed:
        click.echo(f"Save guard installed in {path}. Restart Jupyter to use it.")
    else:
        click.echo(f"Save guard already installed in {path}.")


class HookConflict(Exception):
    """The config already sets a different pre-save hook (the trait holds only one)."""


def config_dir(where: str) -> Path:
    if where == "sys-prefix":
        return Path(sys.prefix) / "etc" / "jupyter"
    from jupyter_core.paths import jupyter_config_dir

    return Path(jupyter_config_dir())


def add_hook_line(path: Path) -> bool:
    """Append the hook line to ``path`` unless it is there; True when the file changed."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    for line in _ANY_PRE_SAVE_HOOK.findall(text):
        if HOOK in line:
            return False
        raise HookConflict(
            f"{path} already sets a pre-save hook ({line.strip()}); only one is allowed. "
            f"Call {HOOK}(model=model, path=path, contents_manager=contents_manager) "
            "from yours, or replace it."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    addition = (
        ("" if not text or text.endswith("\n") else "\n") + ("\n" if text else "") + f"{COMMENT}\n{CONFIG_LINE}\n"
    )
    tmp = path.with_name(path.name + ".kvnb-tmp")
    tmp.write_text(text + addition, encoding="utf-8")
    if path.exists():
        os.chmod(tmp, path.stat().st_mode & 0o7777)
    os.replace(tmp, path)
    return True

# Shared by scripts/test and scripts/demo: a virtual environment with kvnb installed from source.
# Usage: source scripts/_setup.sh EXTRAS
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# kvnb is installed editable, so source edits need no reinstall: install again only when what pip
# reads (pyproject.toml, the extras asked for) changed since the last install into this venv.
stamp=".venv/.kvnb-installed-$1"
wanted="$1 $(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
  echo "Installing kvnb[$1] and its dependencies into .venv (a few minutes the first time)…"
  log="$(mktemp)"
  # pip's and setuptools' notices (the editable-install box prints even with --quiet) go to a log
  # that is shown only when the install fails.
  if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip \
         && .venv/bin/python -m pip install --disable-pip-version-check -e ".[$1]"; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "Installing kvnb failed (the end of pip's log is above; the whole log: $log)." >&2
    exit 1
  fi
  rm -f "$log"
  echo "$wanted" >"$stamp"
  # The test extra includes the notebook extra, so the demo needs no install after the tests.
  if [ "$1" = test ]; then echo "notebook ${wanted#* }" >.venv/.kvnb-installed-notebook; fi
fi
export PATH="$root/.venv/bin:$PATH"

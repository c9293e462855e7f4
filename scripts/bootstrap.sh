#!/usr/bin/env bash
# Create .venv and install requirements.txt into it (again only when the file changed), and the
# browser tests' axe-core (tests/e2e/package-lock.json, with npm ci) when npm is there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "Python 3.11 or newer is needed (found $("$PY" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  echo "$want" > "$stamp"
fi

# axe-core for the accessibility checks of the browser journeys (tests/e2e/a11y.py); without npm
# those checks skip locally and fail under CI=true.
e2e=tests/e2e
if command -v npm >/dev/null 2>&1; then
  lock=$(sha256sum "$e2e/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$e2e/node_modules/axe-core/axe.min.js" ] \
    || [ "$(cat "$e2e/node_modules/.lock.sha256" 2>/dev/null)" != "$lock" ]; then
    npm ci --prefix "$e2e" --no-audit --no-fund --loglevel=error >/dev/null
    echo "$lock" > "$e2e/node_modules/.lock.sha256"
  fi
fi

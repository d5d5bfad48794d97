#!/usr/bin/env bash
# Makes sure the Python virtualenv with the test peers (tests/peers/requirements.txt) exists and is
# current, then prints its path on stdout. Everything else goes to stderr.
#
# The venv lives outside the work tree so that fresh clones (CI) reuse it:
#   ${TENANTRY_PEERS_VENV:-$HOME/.cache/tenantry-peers-venv}
# It is rebuilt only when requirements.txt or the Python interpreter changes (a stamp file records
# both), so a second run costs nothing.
#
# Usage: VENV=$(scripts/peers-venv.sh) && "$VENV/bin/schemathesis" --version
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
requirements="$root/tests/peers/requirements.txt"
venv="${TENANTRY_PEERS_VENV:-$HOME/.cache/tenantry-peers-venv}"
python="${PYTHON:-python3}"

log() { echo "peers-venv: $*" >&2; }

command -v "$python" >/dev/null || { log "$python not found"; exit 1; }
if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    log "$python cannot create virtualenvs (on Debian: apt-get install python3-venv)"
    exit 1
fi

mkdir -p "$(dirname "$venv")"
# One installer at a time (CI and a developer's shell may share the venv).
exec 9>"$venv.lock"
flock -w 600 9 || { log "timed out waiting for $venv.lock"; exit 1; }

stamp="$(sha256sum "$requirements" | cut -d' ' -f1) $("$python" -c 'import sys; print(sys.version.split()[0])')"
if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c '' 2>/dev/null \
    && [[ -f "$venv/.tenantry-stamp" ]] && [[ "$(cat "$venv/.tenantry-stamp")" == "$stamp" ]]; then
    log "up to date: $venv"
    echo "$venv"
    exit 0
fi

if ! { [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c '' 2>/dev/null; }; then
    log "creating $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
fi
log "installing $requirements"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
echo "$stamp" >"$venv/.tenantry-stamp"
log "ready: $venv"
echo "$venv"

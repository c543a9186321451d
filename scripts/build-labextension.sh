#!/usr/bin/env bash
# Build the JupyterLab extension (extensions/reifier-lab → reifier/labextension) and
# install it into the venv for development: the built front end is symlinked into
# $VENV/share/jupyter/labextensions/reifier-lab and the server extension is enabled
# through $VENV/etc/jupyter/jupyter_server_config.d/reifier.json.
# A wheel install does the same through hatch shared-data; this is for a source checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${REIFIER_VENV:-$ROOT/.venv}
EXT=$ROOT/extensions/reifier-lab
export PATH="$VENV/bin:$PATH"

log() { printf '==> %s\n' "$*" >&2; }

command -v npm >/dev/null || { log "npm is missing (apt-get install nodejs npm)"; exit 2; }
[[ -x $VENV/bin/jupyter ]] || { log "no jupyter in $VENV: install the package first"; exit 2; }

# npm ci only when the lock file changed since the last install (it wipes node_modules).
stamp=$EXT/node_modules/.package-lock.json
if [[ ! -f $stamp || $EXT/package-lock.json -nt $stamp ]]; then
    log "npm ci (extensions/reifier-lab)"
    (cd "$EXT" && npm ci --no-audit --no-fund --loglevel=error)
fi
log "building the lab extension"
start=$(date +%s)
(cd "$EXT" && npm run --silent build >/dev/null)
log "built in $(($(date +%s) - start)) s"

dest=$VENV/share/jupyter/labextensions/reifier-lab
mkdir -p "$(dirname "$dest")"
[[ -L $dest || ! -e $dest ]] || rm -rf "$dest"  # a copy left by a wheel install
ln -sfn "$ROOT/reifier/labextension" "$dest"
conf=$VENV/etc/jupyter/jupyter_server_config.d
mkdir -p "$conf"
cp jupyter-config/jupyter_server_config.d/reifier.json "$conf/reifier.json"

if ! "$VENV/bin/jupyter" labextension list 2>&1 | grep -q 'reifier-lab.*enabled.*OK'; then
    log "reifier-lab is not listed as enabled by 'jupyter labextension list'"
    exit 1
fi
log "reifier-lab installed and enabled in $VENV"

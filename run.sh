#!/usr/bin/env bash
# The two set-up commands of the README, on a fresh machine:
#   ./run.sh demo   - install everything, then run the end-to-end demo
#   ./run.sh test   - install everything, then lint, type-check and run the whole test suite
# Everything it needs it installs itself (Python venv, kernel spec, Debian tools for tests).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
VENV=${REIFIER_VENV:-$ROOT/.venv}
PY=${PYTHON:-python3}

log() { printf '==> %s\n' "$*" >&2; }

apt_install() {
    # Install Debian packages the tests drive for real, only when missing.
    local missing=() pkg bin
    for pair in "$@"; do
        pkg=${pair%%:*} bin=${pair##*:}
        command -v "$bin" >/dev/null 2>&1 || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    if [[ $(id -u) -ne 0 ]]; then
        log "missing ${missing[*]}: run as root or install them (apt-get install ${missing[*]})"
        return 1
    fi
    log "apt-get install ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

setup_python() {
    if [[ ! -x $VENV/bin/python ]]; then
        log "creating $VENV"
        "$PY" -m venv "$VENV"
    fi
    log "installing runbook-reifier and its dependencies"
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    # the lab extension is built below by scripts/build-labextension.sh, not by pip
    SKIP_JUPYTER_BUILDER=1 "$VENV/bin/python" -m pip install -q -e ".[test,dev]"
    "$VENV/bin/reifier" kernel install --sys-prefix >/dev/null
}

setup_lab() {
    log "building the JupyterLab extension"
    scripts/build-labextension.sh
}

case ${1:-} in
    demo)
        apt_install openssh-client:ssh-keygen  # approvals are OpenSSH signatures
        setup_python
        setup_lab
        shift
        exec "$VENV/bin/reifier" demo "$@"
        ;;
    test)
        apt_install zsh:zsh shellcheck:shellcheck strace:strace patch:patch curl:curl chromium:chromium \
            openssh-client:ssh-keygen \
            prometheus-alertmanager:prometheus-alertmanager
        setup_python
        setup_lab
        shift
        log "ruff"
        "$VENV/bin/ruff" check reifier tests benchmarks
        log "mypy"
        "$VENV/bin/mypy"
        log "pytest"
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    *)
        echo "usage: ./run.sh demo | ./run.sh test [pytest args]" >&2
        exit 2
        ;;
esac

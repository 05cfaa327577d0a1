"""security.yml: the scheduled and on-push security scans (CodeQL, SAST, SCA, secrets, IaC)."""

from __future__ import annotations

from typing import Any

from ...model.service import ServiceModel
from .gates import APP_DEFAULTS, SAST_SARIF, stack
from .pins import DEFAULT_BRANCH, SARIF_SEVERITY, TOOLS
from .steps import PR_CANCELS_GROUP, _spread, checkout, header, job, step, upload_sarif


# -- security.yml -------------------------------------------------------------
def security(m: ServiceModel) -> dict[str, Any]:
    st = stack(m)
    codeql_steps = [checkout()]
    if st.codeql_build_mode == "autobuild":
        codeql_steps += st.setup()
    codeql_steps += [
        step("Initialise CodeQL", uses_="github/codeql-action/init",
             with_={"languages": st.codeql_language, "build-mode": st.codeql_build_mode,
                    "queries": "security-extended"}),
        step("Analyse", uses_="github/codeql-action/analyze", with_={"category": f"codeql-{st.codeql_language}"}),
    ]
    sarif_perms = {"contents": "read", "security-events": "write"}
    jobs: dict[str, Any] = {
        "codeql": job("CodeQL", {**sarif_perms, "actions": "read"}, codeql_steps),
        "sast": job(f"SAST ({st.sast_tool})", sarif_perms, [
            checkout(), *st.setup(),
            step(f"{st.sast_tool}: fail on high/critical", run=st.sast),
            upload_sarif(SAST_SARIF, f"sast-{st.name}")], defaults=APP_DEFAULTS),
        "sca": job(f"SCA ({st.sca_tool})", {"contents": "read"}, [
            checkout(), *st.setup(), step(f"{st.sca_tool}: fail on known vulnerabilities", run=st.sca)],
            defaults=APP_DEFAULTS),
        "secrets": job("Secret scan (gitleaks)", sarif_perms, [
            checkout(fetch_depth=0),
            step("Set up Go", uses_="actions/setup-go", with_={"go-version": "stable", "cache": False}),
            step("gitleaks: fail on any leak",
                 run=f"go run github.com/zricethezav/gitleaks/v8@{TOOLS['gitleaks']} git --redact "
                     "--report-format sarif --report-path gitleaks.sarif ."),
            upload_sarif("gitleaks.sarif", "gitleaks")]),
        "container": job("Container scan (trivy)", sarif_perms, [
            checkout(),
            step("Set up Buildx", uses_="docker/setup-buildx-action"),
            step("Build the image locally", id_="build", uses_="docker/build-push-action",
                 with_={"context": ".", "file": "Dockerfile", "push": False, "load": True, "provenance": False,
                        "tags": f"{m.image}:scan", "cache-from": "type=gha"}),
            step("Trivy: fail on high/critical", uses_="aquasecurity/trivy-action",
                 with_={"image-ref": f"{m.image}:scan", "format": "sarif", "output": "trivy-image.sarif",
                        "severity": SARIF_SEVERITY, "ignore-unfixed": True, "limit-severities-for-sarif": True,
                        "exit-code": "1"}),
            upload_sarif("trivy-image.sarif", "trivy-image")]),
        "iac": job("IaC scan (checkov: k8s/ and terraform/)", sarif_perms, [
            checkout(),
            step("checkov: fail on any failed check", uses_="bridgecrewio/checkov-action",
                 with_={"directory": ".", "framework": "kubernetes,terraform",
                        **({"config_file": ".checkov.yaml"} if has_checkov_config() else {}),
                        "output_format": "cli,sarif", "output_file_path": "console,checkov.sarif",
                        "soft_fail": False}),
            upload_sarif("checkov.sarif", "checkov")]),
        "dependency-review": job("Dependency review", {"contents": "read"}, [
            checkout(),
            step("Fail on high/critical dependency changes", uses_="actions/dependency-review-action",
                 with_={"fail-on-severity": "high"})],
            **{"if": "github.event_name == 'pull_request'"}),
    }
    on = {"pull_request": {"branches": [DEFAULT_BRANCH]}, "push": {"branches": [DEFAULT_BRANCH]},
          "schedule": [{"cron": security_cron(m)}], "workflow_dispatch": None}
    return header("Security", on, PR_CANCELS_GROUP.format(name="security"), True, jobs)


def has_checkov_config() -> bool:
    """The generated .checkov.yaml (skips with reasons) comes from scaffold.checkov_policy."""
    import importlib.util

    return importlib.util.find_spec(f"{__package__.rsplit('.', 1)[0]}.checkov_policy") is not None


def security_cron(m: ServiceModel) -> str:
    return f"{_spread(m, 60)} {_spread(m, 6)} * * 1-5"

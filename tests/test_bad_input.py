"""Bad answers are refused with a message naming the field, and nothing is written.

Every case goes through both doors: Copier's own API (what `copier copy --data`
does) and `scaffold new`. Values arrive as strings, exactly as from a CLI.
"""

from __future__ import annotations

import os
from pathlib import Path

import copier
import pytest
from typer.testing import CliRunner

from scaffold.cli import app

# (field named in the error, {answer: raw string}). Cross-field cases name the
# field whose rule refuses the pair.
CASES = [
    ("service_name", {"service_name": "Payments"}),  # uppercase
    ("service_name", {"service_name": "a" * 41}),  # too long
    ("service_name", {"service_name": "ab"}),  # too short
    ("service_name", {"service_name": "../../etc/passwd"}),  # path traversal
    ("service_name", {"service_name": "svc\nkind: Secret"}),  # YAML injection
    ("service_name", {"service_name": "{{ 7*7 }}"}),  # Jinja injection
    ("service_name", {"service_name": "{% include '/etc/passwd' %}"}),
    ("service_name", {"service_name": "-svc"}),
    ("service_name", {"service_name": "svc_name"}),
    ("service_name", {"service_name": "svc;rm -rf ~"}),  # shell injection
    ("team", {"team": "Platform Team"}),
    ("team", {"team": "t\n  - evil"}),
    ("port", {"port": "80"}),
    ("port", {"port": "70000"}),
    ("port", {"port": "abc"}),
    ("slo_availability", {"slo_availability": "100"}),
    ("slo_availability", {"slo_availability": "89.9"}),
    ("slo_availability", {"slo_availability": "99.99999"}),
    ("slo_availability", {"slo_availability": "nan"}),
    ("slo_latency_target", {"slo_latency_target": "100"}),
    ("slo_latency_ms", {"slo_latency_ms": "0"}),
    ("slo_window_days", {"slo_window_days": "7"}),
    ("replicas_min", {"replicas_min": "0"}),
    ("replicas_max", {"replicas_max": "1001"}),
    ("replicas_max", {"replicas_min": "5", "replicas_max": "3"}),
    ("replicas_max", {"replicas_min": "20", "replicas_max": "19"}),  # (min 20 alone now derives max 40)
    ("cpu_request", {"cpu_request": "100x"}),
    ("cpu_request", {"cpu_request": "-1"}),
    ("cpu_request", {"cpu_request": "1000"}),
    ("memory_limit", {"memory_request": "512Mi", "memory_limit": "256Mi"}),
    ("memory_limit", {"memory_limit": "1e9"}),
    ("memory_request", {"memory_request": "128m"}),
    ("environments", {"environments": "[dev, dev]"}),
    ("environments", {"environments": "[]"}),
    ("environments", {"environments": "[Dev]"}),
    ("environments", {"environments": "[dev, '../prod']"}),
    ("environments", {"environments": "{a: b}"}),
    ("environments", {"environments": "[dev, 'prod\nkind: Secret']"}),
    ("image_registry", {"image_registry": "ghcr.io/acme:latest"}),
    ("image_registry", {"image_registry": "https://ghcr.io/acme"}),
    ("image_registry", {"image_registry": "ghcr.io"}),
    ("image_registry", {"image_registry": "GHCR.io/acme"}),
    ("image_registry", {"image_registry": "ghcr.io/acme@sha256:abc"}),
    ("hostname", {"hostname": "bad host.example.com"}),
    ("hostname", {"hostname": "example"}),
    ("k8s_version", {"k8s_version": "1.20"}),
    ("k8s_version", {"k8s_version": "latest"}),
    ("description", {"description": "line1\nline2"}),
    ("description", {"description": "${{ secrets.GITHUB_TOKEN }}"}),
    ("description", {"description": "{% raw %}"}),
    ("description", {"description": "x" * 301}),
    ("blueprint", {"blueprint": "lambda"}),
    ("stack", {"stack": "rust"}),
    ("cloud", {"cloud": "ibm"}),
    ("gitops", {"gitops": "spinnaker"}),
    ("delivery", {"delivery": "bluegreen"}),
    ("ingress", {"ingress": "nginx"}),
    ("github_repo", {"github_repo": "acme"}),
    ("github_repo", {"github_repo": "acme/../x"}),
    ("runbook_base_url", {"runbook_base_url": "javascript:alert(1)"}),
    ("runbook_base_url", {"runbook_base_url": "http://wiki.example.com"}),
    ("dashboard_base_url", {"dashboard_base_url": "https://grafana.example.com/?x=1"}),
    ("slos", {"slos": "[{name: x}]"}),
    ("slos", {"slos": "[{name: api, objective: 99.9, latency_ms: 200, error_query: up}]"}),
    ("slos", {"slos": "[{name: api, objective: 99.9, error_query: \"sum(x)\\nfoo\", total_query: \"sum(y[{{window}}])\"}]"}),
    ("slos", {"slos": "[{name: availability, objective: 99, latency_ms: 100}]"}),
    ("slos", {"blueprint": "cronjob", "slos": "[{name: run, objective: 99, latency_ms: 100}]"}),
    ("trace_sampling", {"trace_sampling": "{prod: 1.5}"}),
    ("trace_sampling", {"trace_sampling": "{qa: 0.5}"}),
    ("trace_sampling", {"trace_sampling": "[0.1]"}),
    ("trace_sampling", {"trace_sampling": "{prod: yes}"}),
    ("backlog_assignee", {"backlog_assignee": "@a b"}),
    ("schedule", {"blueprint": "cronjob", "schedule": "every minute"}),
    ("backlog", {"backlog": "maybe"}),
    # a worker or cronjob has no Rollout: an explicit canary would be recorded but not generated (issue 22)
    ("delivery", {"blueprint": "worker", "delivery": "canary"}),
    ("delivery", {"blueprint": "cronjob", "delivery": "canary"}),
    ("traces_endpoint", {"traces_endpoint": "ftp://tempo.observability.svc:4318"}),
    ("traces_endpoint", {"traces_endpoint": "http://user:pw@tempo.observability.svc:4318"}),
    ("logs_endpoint", {"logs_endpoint": "http://loki.observability.svc:3100/otlp?tenant=a"}),
    ("logs_endpoint", {"logs_endpoint": "http://loki.observability.svc:3100/otlp\nkind: Secret"}),
]
IDS = [f"{i:02d}-{field}" for i, (field, _) in enumerate(CASES)]
# Copier casts int/float/yaml answers before any validator runs, and its cast
# errors do not name the field. `scaffold new` parses first and always does.
COPIER_CAST_ERRORS = {("port", "abc"), ("environments", "{a: b}")}
# Copier's own bool cast reads any other word as true; only `scaffold new` refuses it.
COPIER_CASES = [(c, i) for c, i in zip(CASES, IDS) if c[0] != "backlog"]


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


@pytest.mark.parametrize("field,data", [c for c, _ in COPIER_CASES], ids=[i for _, i in COPIER_CASES])
def test_copier_refuses_and_writes_nothing(field, data, template_repo, tmp_path):
    dest = tmp_path / "payments-api"
    with pytest.raises(Exception) as err:
        copier.run_copy(str(template_repo), str(dest), data=data, defaults=True, unsafe=True,
                        quiet=True, vcs_ref="v1.0.0")
    assert not dest.exists(), "a refused copy must leave nothing behind"
    if not any((field, v) == c for v in data.values() for c in COPIER_CAST_ERRORS):
        message = str(err.value)  # ours ("field: ...") or Copier's choices ("... for 'field': ...")
        assert f"{field}: " in message or f"'{field}'" in message, message


@pytest.mark.parametrize("field,data", CASES, ids=IDS)
def test_scaffold_new_refuses_with_one_clean_line(field, data, template_repo, tmp_path):
    dest = tmp_path / "payments-api"
    args = ["new", str(dest), "--template", str(template_repo), "--trust", "--vcs-ref", "v1.0.0", "--defaults", "-q"]
    for key, value in data.items():
        args += ["--data", f"{key}={value}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: {field}: "), lines[0]
    assert "Traceback" not in result.output
    assert not dest.exists()


@pytest.mark.parametrize("field,data", CASES[:6] + CASES[24:26], ids=IDS[:6] + IDS[24:26])
def test_existing_empty_destination_stays_empty(field, data, template_repo, tmp_path):
    dest = tmp_path / "payments-api"
    dest.mkdir()
    with pytest.raises(Exception):
        copier.run_copy(str(template_repo), str(dest), data=data, defaults=True, unsafe=True,
                        quiet=True, vcs_ref="v1.0.0")
    assert _tree(dest) == []


def test_data_file_is_checked_too(template_repo, tmp_path):
    answers = tmp_path / "answers.yml"
    answers.write_text("service_name: payments-api\nreplicas_min: 9\nreplicas_max: 3\n")
    dest = tmp_path / "out"
    result = CliRunner().invoke(app, ["new", str(dest), "--template", str(template_repo), "--trust", "--defaults",
                                      "--data-file", str(answers)])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: replicas_max: must be at least replicas_min (9)")
    assert not dest.exists()


def test_unknown_answer_is_refused(template_repo, tmp_path):
    result = CliRunner().invoke(app, ["new", str(tmp_path / "x"), "--template", str(template_repo), "--trust",
                                      "--defaults", "--data", "servce_name=typo"])
    assert result.exit_code == 2
    assert "unknown answer 'servce_name'" in result.output


def test_folder_name_default_is_validated_before_writing(template_repo, tmp_path):
    """A destination folder whose slug is a fine name works; the gate still runs first."""
    dest = tmp_path / "Payments API"
    copier.run_copy(str(template_repo), str(dest), defaults=True, unsafe=True, quiet=True,
                    vcs_ref="v1.0.0", skip_tasks=True)
    answers = (dest / ".copier-answers.yml").read_text()
    assert "service_name: payments-api" in answers
    assert os.access(dest, os.W_OK)

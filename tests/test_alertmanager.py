"""Alertmanager: the real amtool judges the config and resolves every route case;
inhibition is checked semantically against the rendered config."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import mutable_copy, require_tool
from scaffold import yamlio
from scaffold.validate import alertmanager as amcheck

CONFIG = "observability/alertmanager/alertmanager.yaml"
TESTS = "observability/alertmanager/routes.test.yaml"


@pytest.fixture(scope="module")
def pkg(render) -> Path:
    return render(skip_tasks=True)


def amtool_route(config: Path, labels: dict[str, str]) -> str:
    exe = require_tool("amtool")
    proc = subprocess.run([exe, "config", "routes", "test", f"--config.file={config}", *amcheck.label_args(labels)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_amtool_check_config_passes(pkg):
    exe = require_tool("amtool")
    proc = subprocess.run([exe, "check-config", str(pkg / CONFIG)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 inhibit rules" in proc.stdout and "2 receivers" in proc.stdout


@pytest.mark.parametrize("severity, tier, receiver", [
    ("critical", "page", "platform-pager"),
    ("warning", "ticket", "platform-ticket"),
])
def test_route_per_severity(pkg, severity, tier, receiver):
    labels = {"alertname": "AnyAlert", "service": "payments-api", "team": "platform", "severity": severity, "tier": tier}
    assert amtool_route(pkg / CONFIG, labels) == receiver


def test_unlabelled_alert_still_reaches_a_ticket(pkg):
    assert amtool_route(pkg / CONFIG, {"alertname": "Stray", "service": "payments-api"}) == "platform-ticket"


def test_every_listed_route_case_resolves_as_expected(pkg):
    cases = yamlio.load_file(pkg / TESTS)["tests"]
    severities = {c["labels"].get("severity") for c in cases}
    assert {"critical", "warning"} <= severities
    for case in cases:
        prod = case["labels"].get("namespace", "payments-api-prod") == "payments-api-prod"
        want = "platform-pager" if case["labels"].get("severity") == "critical" and prod else "platform-ticket"
        assert case["receivers"] == [want], case
        assert amtool_route(pkg / CONFIG, case["labels"]) == want, case["name"]


def test_secrets_are_read_from_files(pkg):
    cfg = yamlio.load_file(pkg / CONFIG)
    pager = next(r for r in cfg["receivers"] if r["name"] == "platform-pager")
    ticket = next(r for r in cfg["receivers"] if r["name"] == "platform-ticket")
    assert pager["pagerduty_configs"][0]["routing_key_file"].startswith("/etc/alertmanager/secrets/")
    assert ticket["slack_configs"][0]["api_url_file"].startswith("/etc/alertmanager/secrets/")
    for receiver in cfg["receivers"]:
        for kind, configs in receiver.items():
            for conf in configs if kind.endswith("_configs") else []:
                assert not {"routing_key", "service_key", "api_url", "api_key"} & set(conf), (receiver["name"], conf)


# -- inhibition, evaluated the way Alertmanager does --------------------------

def _matches(matchers: list[str], labels: dict[str, str]) -> bool:
    for m in matchers:
        name, op, value = re.fullmatch(r'(\w+)(=~|!~|!=|=)"(.*)"', m).groups()
        have = labels.get(name, "")
        ok = {"=": have == value, "!=": have != value,
              "=~": re.fullmatch(value, have) is not None, "!~": re.fullmatch(value, have) is None}[op]
        if not ok:
            return False
    return True


def inhibited(cfg: dict, source: dict[str, str], target: dict[str, str]) -> bool:
    for rule in cfg["inhibit_rules"]:
        assert set(rule) <= {"source_matchers", "target_matchers", "equal"}, "matchers syntax only"
        if (_matches(rule["source_matchers"], source) and _matches(rule["target_matchers"], target)
                and all(source.get(k, "") == target.get(k, "") for k in rule["equal"])):
            return True
    return False


def alert(name: str, severity: str, slo: str | None = None, service: str = "payments-api",
          namespace: str = "payments-api-prod") -> dict[str, str]:
    labels = {"alertname": name, "severity": severity, "tier": {"critical": "page", "warning": "ticket"}[severity],
              "service": service, "team": "platform", "namespace": namespace}
    if slo:
        labels["slo"] = slo
    return labels


def test_no_inhibition_across_namespaces(pkg):
    cfg = yamlio.load_file(pkg / CONFIG)
    page = alert("AvailabilityErrorBudgetBurnPage", "critical", "availability", namespace="payments-api-dev")
    assert not inhibited(cfg, page, alert("AvailabilityErrorBudgetBurnTicket", "warning", "availability"))
    assert not inhibited(cfg, alert("TargetDown", "critical"), alert("HighLatency", "warning"))


def test_page_tier_inhibits_ticket_tier_of_the_same_slo_only(pkg):
    cfg = yamlio.load_file(pkg / CONFIG)
    page = alert("AvailabilityErrorBudgetBurnPage", "critical", "availability")
    assert inhibited(cfg, page, alert("AvailabilityErrorBudgetBurnTicket", "warning", "availability"))
    assert not inhibited(cfg, page, alert("LatencyErrorBudgetBurnTicket", "warning", "latency"))
    # equal on a missing label matches: a page without an SLO must not silence unrelated tickets
    assert not inhibited(cfg, alert("PodCrashLooping", "critical"), alert("CPUThrottling", "warning"))


# -- the checker fails on broken configs -----------------------------------------

def test_checker_passes_on_the_render(pkg):
    require_tool("amtool")
    assert amcheck.check_config(pkg / CONFIG, CONFIG) == []
    assert amcheck.check_routes(pkg / CONFIG, pkg / TESTS, TESTS) == []


def test_checker_catches_a_misrouted_severity(pkg, tmp_path):
    require_tool("amtool")
    broken = mutable_copy(pkg, tmp_path)
    cfg = yamlio.load_file(broken / CONFIG)
    critical = next(r for r in cfg["route"]["routes"] if r["matchers"] == ['severity="critical"'])
    critical["receiver"] = "platform-ticket"  # pages would become tickets
    (broken / CONFIG).write_text(yamlio.dump(cfg))
    assert amcheck.check_config(broken / CONFIG, CONFIG) == []  # still a valid config...
    findings = amcheck.check_routes(broken / CONFIG, broken / TESTS, TESTS)
    assert findings and any("expected platform-pager" in f.message for f in findings)  # ...but wrongly routed


def test_checker_rejects_invalid_and_deprecated_config(pkg, tmp_path):
    require_tool("amtool")
    broken = mutable_copy(pkg, tmp_path)
    cfg = yamlio.load_file(broken / CONFIG)
    cfg["inhibit_rules"].append({"source_match": {"severity": "critical"}, "target_match": {"severity": "info"}})
    (broken / CONFIG).write_text(yamlio.dump(cfg))
    messages = [f.message for f in amcheck.check_config(broken / CONFIG, CONFIG)]
    assert any("deprecated match syntax" in m for m in messages)
    cfg["receivers"][0]["webhook_configs"] = [{"url_file": "/x"}]  # not a field amtool 0.25 knows
    (broken / CONFIG).write_text(yamlio.dump(cfg))
    assert any("amtool check-config" in f.message for f in amcheck.check_config(broken / CONFIG, CONFIG))


def test_receivers_follow_the_team(render):
    require_tool("amtool")
    pkg = render(skip_tasks=True, team="payments")
    labels = {"alertname": "X", "service": "payments-api", "severity": "critical", "tier": "page"}
    assert amtool_route(pkg / CONFIG, labels) == "payments-pager"

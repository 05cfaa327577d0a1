"""The OpenTelemetry Collector (issue 17): its configuration, judged by the
`otel-collector-config` checker (the collector docs' structural rules, honestly
labelled: no collector schema or build is packaged), its objects beside the app's,
the answers that name its backends, and the retention/sampling figures of
docs/observability.md.

Every rule of the checker is shown to fire on a mutated config (mutation tests)."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from scaffold.artifacts import telemetry
from scaffold import yamlio
from scaffold.answers.rules import AnswerError
from scaffold.model.service import ServiceModel
from scaffold.validate import otel
from tests.helpers import mutable_copy

M = ServiceModel.from_answers({"service_name": "payments-api"})


@pytest.fixture(scope="module")
def pkg(render):
    return render(name="payments-api", skip_tasks=True)


def _cfg() -> dict:
    return copy.deepcopy(yamlio.load(telemetry.config_text(M)))


# -- the configuration --------------------------------------------------------------
@pytest.mark.fast
def test_generated_config_has_no_findings():
    cfg = _cfg()
    assert otel.check_config(cfg) == []
    pipes = cfg["service"]["pipelines"]
    assert set(pipes) == {"traces", "logs"}
    for pipe in pipes.values():
        assert pipe["receivers"] == ["otlp"]
        assert pipe["processors"] == ["memory_limiter", "resource", "batch"]
    assert set(cfg["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}
    assert cfg["exporters"]["otlphttp/traces"]["endpoint"] == telemetry.DEFAULT_TRACES_ENDPOINT
    assert cfg["exporters"]["otlphttp/logs"]["endpoint"] == telemetry.DEFAULT_LOGS_ENDPOINT


def _set(path: str, value):
    def mutate(cfg):
        *head, last = path.split(".")
        node = cfg
        for key in head:
            node = node[key]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return mutate


DELETE = object()
MUTATIONS = [
    ("unknown top-level", lambda c: c.update(pipelines={}), "unknown top-level section 'pipelines'"),
    ("undefined exporter", _set("service.pipelines.traces.exporters", ["otlphttp/tempo"]),
     "'otlphttp/tempo' is not defined under exporters"),
    ("undefined processor", _set("service.pipelines.logs.processors", ["memory_limiter", "resources", "batch"]),
     "'resources' is not defined under processors"),
    ("no exporter", _set("service.pipelines.logs.exporters", []), "needs at least one of its exporters"),
    ("no receiver", _set("service.pipelines.traces.receivers", []), "needs at least one of its receivers"),
    ("memory_limiter not first", _set("service.pipelines.traces.processors", ["resource", "memory_limiter", "batch"]),
     "memory_limiter must be the first processor"),
    ("batch not last", _set("service.pipelines.traces.processors", ["memory_limiter", "batch", "resource"]),
     "batch must be the last processor"),
    ("no memory_limiter", _set("service.pipelines.logs.processors", ["resource", "batch"]),
     "has no memory_limiter processor"),
    ("unused exporter", lambda c: c["exporters"].update({"debug": {}}), "'debug' is defined but no pipeline uses it"),
    ("extension not enabled", _set("service.extensions", []), "'health_check' is defined but service.extensions"),
    ("undefined extension", _set("service.extensions", ["health_check", "pprof"]),
     "'pprof' is not defined under extensions"),
    ("bad pipeline id", lambda c: c["service"]["pipelines"].update({"spans": c["service"]["pipelines"]["traces"]}),
     "service.pipelines.spans: pipeline id must be traces|metrics|logs"),
    ("unknown component type", lambda c: c["processors"].update({"batchh": {}}), "type 'batchh' is not"),
    ("bad id", lambda c: c["processors"].update({"batch/": {}}), "'batch/' is not type[/name]"),
    ("otlp protocol", _set("receivers.otlp.protocols", {"thrift": {}}), "unknown protocol 'thrift'"),
    ("receiver endpoint", _set("receivers.otlp.protocols.grpc.endpoint", "4317"), "is not host:port"),
    ("limiter without limit", _set("processors.memory_limiter.limit_percentage", DELETE),
     "needs limit_mib or limit_percentage"),
    ("limiter without interval", _set("processors.memory_limiter.check_interval", DELETE),
     "check_interval is required"),
    ("spike above limit", _set("processors.memory_limiter.spike_limit_percentage", 90), "must be below limit_percentage"),
    ("batch typo", _set("processors.batch.send_batch", 10), "unknown setting 'send_batch'"),
    ("exporter endpoint", _set("exporters.otlphttp/logs.endpoint", "loki:3100"), "is not an http(s) URL"),
    ("exporter without endpoint", _set("exporters.otlphttp/traces.endpoint", DELETE), "needs endpoint"),
    ("listed twice", _set("service.pipelines.traces.processors", ["memory_limiter", "resource", "resource", "batch"]),
     "listed twice"),
]


@pytest.mark.fast
@pytest.mark.parametrize("mutate,expected", [(m, e) for _, m, e in MUTATIONS], ids=[n for n, _, _ in MUTATIONS])
def test_each_structural_rule_fires(mutate, expected):
    cfg = _cfg()
    mutate(cfg)
    problems = otel.check_config(cfg)
    assert any(expected in p for p in problems), problems


# -- the checker on a rendered package: the config and the objects around it ---------------
def test_checker_passes_on_the_package_and_catches_broken_wiring(pkg, tmp_path):
    from scaffold.validate import run_all

    (res,) = run_all(pkg, only=("otel-collector-config",))
    assert res.status == "pass", res.findings
    assert "structural" in res.detail  # labelled as what it is
    docs = yamlio.load_all((pkg / otel.FILE).read_text())
    assert otel.check_package(docs) == []

    def broken(edit):
        d = copy.deepcopy(docs)
        edit({x["kind"]: x for x in d})
        return otel.check_package(d)

    def no_pod_ip(k):
        k["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"] = [
            e for e in k["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"] != "POD_IP"]
    assert any("${env:POD_IP}" in p for p in broken(no_pod_ip))

    def probe_port(k):
        k["Deployment"]["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] = "otlp-http"
    assert any("livenessProbe hits port" in p for p in broken(probe_port))

    def no_logs_egress(k):
        k["NetworkPolicy"]["spec"]["egress"] = [r for r in k["NetworkPolicy"]["spec"]["egress"]
                                                if 3100 not in [p["port"] for p in r["ports"]]]
    assert any("otlphttp/logs sends to loki.observability.svc:3100" in p for p in broken(no_logs_egress))

    def service_port(k):
        k["Service"]["spec"]["ports"] = k["Service"]["spec"]["ports"][:1]
    assert any("port 4318 is not behind the Service" in p for p in broken(service_port))

    def bad_yaml(k):
        k["ConfigMap"]["data"]["config.yaml"] = "receivers: [\n"
    assert any("does not parse" in p for p in broken(bad_yaml))

    # through the real CLI path: a broken file in a copy of the package fails the checker
    dest = mutable_copy(pkg, tmp_path)
    path = dest / otel.FILE
    path.write_text(path.read_text().replace("  - memory_limiter\n            - resource\n",
                                                 "  - resource\n            - memory_limiter\n", 1))
    (res,) = run_all(dest, only=("otel-collector-config",))
    assert res.status == "fail" and any("memory_limiter must be the first" in f.message for f in res.findings)


# -- the answers that name the backends ------------------------------------------------------
@pytest.mark.fast
def test_backends_follow_the_answers():
    m = ServiceModel.from_answers({"service_name": "payments-api",
                                   "traces_endpoint": "https://otlp.vendor.example.com",
                                   "logs_endpoint": "http://logs.telemetry.svc.cluster.local:4318/"})
    cfg = telemetry.collector_config(m)
    assert cfg["exporters"]["otlphttp/traces"]["endpoint"] == "https://otlp.vendor.example.com"
    assert cfg["exporters"]["otlphttp/logs"]["endpoint"] == "http://logs.telemetry.svc.cluster.local:4318"
    egress = telemetry.backend_egress(m)
    # an outside backend: public addresses on 443 only; an in-cluster one: its namespace and port
    assert egress[0] == {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12",
                                                                              "192.168.0.0/16"]}}],
                         "ports": [{"protocol": "TCP", "port": 443}]}
    assert egress[1]["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "telemetry"}
    assert egress[1]["ports"] == [{"protocol": "TCP", "port": 4318}]
    assert otel.check_config(yamlio.load(telemetry.config_text(m))) == []


@pytest.mark.fast
@pytest.mark.parametrize("value", ["ftp://tempo:4318", "http://Tempo:4318", "http://u:p@tempo:4318", "tempo:4318",
                                   "http://tempo:4318/?x=1", "http://tempo:4318/#a", "http://tempo:99999",
                                   "http://tempo/a/../b", "http://tempo:4318\nkind: Secret", 42, ""])
def test_bad_endpoint_is_refused_in_one_line(value):
    with pytest.raises(AnswerError) as err:
        ServiceModel.from_answers({"service_name": "payments-api", "traces_endpoint": value})
    message = str(err.value)
    assert message.startswith("traces_endpoint: must be an http:// or https://") and "\n" not in message


@pytest.mark.fast
def test_app_endpoint_is_the_collector_service_of_its_namespace():
    for env in M.environments:
        assert telemetry.app_otlp_endpoint(M, env) == f"http://otel-collector.{env.namespace}.svc:4318"
    svc = telemetry.service(M)
    assert svc["metadata"]["name"] == telemetry.collector_name(M)
    assert {p["port"] for p in svc["spec"]["ports"]} == {telemetry.OTLP_GRPC_PORT, telemetry.OTLP_HTTP_PORT}


@pytest.mark.fast
def test_collector_fits_under_small_app_limits():
    """The LimitRange caps every container at the app's limits: the collector stays under."""
    m = ServiceModel.from_answers({"service_name": "payments-api", "cpu_request": "25m", "memory_request": "32Mi",
                                   "memory_limit": "64Mi"})
    res = telemetry.collector_resources(m)
    assert res["limits"] == {"cpu": "100m", "memory": "64Mi", "ephemeral-storage": "64Mi"}
    assert res["requests"]["memory"] == "64Mi" and res["requests"]["cpu"] == "50m"


# -- retention and sampling ------------------------------------------------------------------
@pytest.mark.fast
@pytest.mark.parametrize("days,expected", [(30, 37), (28, 35)])
def test_metrics_retention_covers_the_longest_slo_window(days, expected):
    m = ServiceModel.from_answers({"service_name": "payments-api", "slo_window_days": days})
    assert telemetry.metrics_retention_days(m) == expected


@pytest.mark.fast
def test_retention_and_sampling_per_environment():
    rows = {r["environment"]: r for r in telemetry.retention_rows(M)}
    assert [rows[e]["logs_days"] for e in ("dev", "staging", "prod")] == [7, 14, 30]
    assert [rows[e]["traces_days"] for e in ("dev", "staging", "prod")] == [3, 7, 14]
    assert [rows[e]["sampling"] for e in ("dev", "staging", "prod")] == [Decimal(1), Decimal(1), Decimal("0.1")]
    assert rows["prod"]["sampling_percent"] == "10%"
    one = ServiceModel.from_answers({"service_name": "payments-api", "environments": ["prod"]})
    (row,) = telemetry.retention_rows(one)
    assert (row["logs_days"], row["traces_days"]) == (30, 14)


# -- the generated documents ------------------------------------------------------------------
def test_observability_doc_states_the_computed_figures(render):
    """Recomputed here, not read from scaffold.artifacts.telemetry: 28-day window -> 35 days of metrics;
    production logs as long as the larger of 30 days and the window; sampling 10% in prod."""
    pkg = render(name="payments-api", skip_tasks=True, slo_window_days=28, environments=["qa", "prod"],
                 advanced=True, traces_endpoint="https://otlp.example.com", logs_endpoint="https://otlp.example.com")
    md = (pkg / "docs/observability.md").read_text()
    rows = [line.split("|")[1:-1] for line in md.splitlines() if line.startswith("| qa ") or line.startswith("| prod ")]
    assert [[c.strip() for c in r] for r in rows] == [
        ["qa", "payments-api-qa", "100%", "7 days", "14 days"],
        ["prod", "payments-api-prod", "10%", "14 days", "30 days"]]
    assert "**35 days**" in md and "--storage.tsdb.retention.time=35d" in md
    assert "`https://otlp.example.com` (`traces_endpoint`)" in md
    # the Loki snippet parses and names each environment's namespace with its period in hours
    snippet = md.split("```yaml\n", 1)[1].split("```", 1)[0]
    streams = yamlio.load(snippet)["limits_config"]["retention_stream"]
    assert [(s["selector"], s["period"]) for s in streams] == [
        ('{k8s_namespace_name="payments-api-qa"}', f"{14 * 24}h"), ('{k8s_namespace_name="payments-api-prod"}', f"{30 * 24}h")]
    # the collector really sends there, and only the collector may reach it (443 to public addresses)
    docs = yamlio.load_all((pkg / otel.FILE).read_text())
    assert otel.check_package(docs) == []
    (pol,) = [d for d in docs if d["kind"] == "NetworkPolicy"]
    assert [r["ports"] for r in pol["spec"]["egress"][1:]] == [[{"protocol": "TCP", "port": 443}]]


def test_probe_is_judged_by_the_upstream_schema(pkg):
    """The Probe goes through the prometheus-operator CRD schema (npm @kubernetes-models), unknown fields refused."""
    from scaffold.validate import crd_schemas

    probe = yamlio.load((pkg / "k8s/base/probe.yaml").read_text())
    assert crd_schemas.source_for(probe["apiVersion"], probe["kind"]) is not None
    broken = copy.deepcopy(probe)
    broken["spec"]["moduleName"] = "x"
    good, bad = crd_schemas.validate([probe, broken])
    assert good == [] and bad, bad
    assert any("moduleName" in str(e) for e in bad)

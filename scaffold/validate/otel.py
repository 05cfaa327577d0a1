"""The OpenTelemetry Collector's configuration (k8s/base/otel-collector.yaml's ConfigMap).

Honestly labelled: **structural checks, not the collector itself.** No package on
PyPI, npm or Debian ships the collector's configuration schema or a collector build
with the components used here, so this checker applies the rules the collector's
configuration documentation states (https://opentelemetry.io/docs/collector/configuration/)
and the ones the collector enforces at start-up:

- top-level sections are only receivers, processors, exporters, connectors, extensions, service;
- component ids are ``type[/name]``; every type is one otelcol-contrib ships that this
  checker knows (an unknown type is reported, not guessed at);
- every pipeline id is ``traces|metrics|logs[/name]`` and has at least one receiver and
  one exporter; every component a pipeline or ``service.extensions`` names is defined;
- every defined receiver, processor, exporter and extension is used (the collector
  silently ignores an unused one: a typo'd pipeline entry would drop a component);
- memory_limiter first and batch last among each pipeline's processors (the
  processor docs' ordering advice); memory_limiter has a check_interval and a limit;
- the settings of the components scaffold ships (otlp receiver protocols, otlphttp
  endpoints, health_check) have the shape their docs define.

Beside the config, the Deployment around it: every ``${env:VAR}`` it reads is set on the
container, the probes hit the health_check port, the receiver ports are container and
Service ports, and the NetworkPolicy lets the collector reach each exporter's port.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from .. import yamlio
from ..model.package import Package
from . import Finding, checker

FILE = "k8s/base/otel-collector.yaml"
SECTIONS = ("receivers", "processors", "exporters", "connectors", "extensions", "service")
SIGNALS = ("traces", "metrics", "logs")
# Component types of otelcol-contrib this checker knows (a subset; extend when used).
KNOWN = {
    "receivers": {"otlp", "prometheus", "filelog", "hostmetrics", "k8s_cluster", "kubeletstats", "jaeger", "zipkin"},
    "processors": {"memory_limiter", "batch", "resource", "attributes", "k8sattributes", "resourcedetection",
                   "filter", "transform", "probabilistic_sampler", "tail_sampling", "redaction"},
    "exporters": {"otlp", "otlphttp", "debug", "prometheusremotewrite", "loki", "file"},
    "connectors": {"spanmetrics", "count", "forward", "routing"},
    "extensions": {"health_check", "pprof", "zpages", "basicauth", "bearertokenauth", "oauth2client", "file_storage"},
}
_TYPE = re.compile(r"^[a-zA-Z][0-9a-zA-Z_]{0,62}$")
_ENV = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")
_HOSTPORT = re.compile(r"^(\$\{env:[A-Za-z_][A-Za-z0-9_]*\}|[a-z0-9.-]+|\[[0-9a-f:]+\]|0\.0\.0\.0)?:([0-9]{1,5})$")
MEMORY_LIMITER, BATCH = "memory_limiter", "batch"
OTLP_PROTOCOLS = ("grpc", "http")
MEMORY_LIMITER_KEYS = {"check_interval", "limit_mib", "spike_limit_mib", "limit_percentage", "spike_limit_percentage"}
BATCH_KEYS = {"timeout", "send_batch_size", "send_batch_max_size", "metadata_keys", "metadata_cardinality_limit"}
OTLPHTTP_KEYS = {"endpoint", "traces_endpoint", "metrics_endpoint", "logs_endpoint", "compression", "timeout",
                 "headers", "tls", "retry_on_failure", "sending_queue", "encoding", "auth", "read_buffer_size",
                 "write_buffer_size"}


def _type(cid: str) -> str:
    return cid.split("/", 1)[0]


def _id_problem(cid: Any) -> str | None:
    if not isinstance(cid, str):
        return f"component id {cid!r} is not a string"
    typ, _, name = cid.partition("/")
    if not _TYPE.fullmatch(typ) or ("/" in cid and (not name or "/" in name)):
        return f"component id {cid!r} is not type[/name]"
    return None


def _endpoint_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"{value!r} is not a URL"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        return f"{value!r} is not an http(s) URL without query or fragment"
    return None


def check_config(cfg: Any) -> list[str]:
    """Problems of a collector configuration, by the documented structural rules."""
    if not isinstance(cfg, dict):
        return ["the configuration is not a mapping"]
    out = [f"unknown top-level section {k!r} (allowed: {', '.join(SECTIONS)})" for k in cfg if k not in SECTIONS]
    defined: dict[str, dict[str, Any]] = {}
    for section in SECTIONS[:-1]:
        body = cfg.get(section) or {}
        if not isinstance(body, dict):
            out.append(f"{section} is not a mapping")
            body = {}
        defined[section] = body
        for cid in body:
            if err := _id_problem(cid):
                out.append(f"{section}: {err}")
            elif _type(cid) not in KNOWN[section]:
                out.append(f"{section}: {cid!r}: type {_type(cid)!r} is not an otelcol-contrib {section[:-1]} "
                           "this checker knows")
    service = cfg.get("service")
    if not isinstance(service, dict):
        return out + ["service is missing: no pipeline runs"]
    pipelines = service.get("pipelines")
    if not isinstance(pipelines, dict) or not pipelines:
        return out + ["service.pipelines is missing or empty: no pipeline runs"]
    used: dict[str, set[str]] = {s: set() for s in ("receivers", "processors", "exporters", "connectors")}
    for pid, pipe in pipelines.items():
        where = f"service.pipelines.{pid}"
        if not isinstance(pid, str) or _type(pid) not in SIGNALS or _id_problem(pid):
            out.append(f"{where}: pipeline id must be traces|metrics|logs[/name]")
        if not isinstance(pipe, dict):
            out.append(f"{where} is not a mapping")
            continue
        for key in pipe:
            if key not in ("receivers", "processors", "exporters"):
                out.append(f"{where}: unknown key {key!r}")
        for role in ("receivers", "exporters"):
            if not pipe.get(role):
                out.append(f"{where}: needs at least one of its {role}")
        for role in ("receivers", "processors", "exporters"):
            ids = pipe.get(role) or []
            if not isinstance(ids, list):
                out.append(f"{where}.{role} is not a list")
                continue
            if len(set(map(str, ids))) != len(ids):
                out.append(f"{where}.{role}: a component is listed twice")
            for cid in ids:
                if role != "processors" and cid in defined["connectors"]:
                    used["connectors"].add(cid)
                elif cid in defined[role]:
                    used[role].add(cid)
                else:
                    out.append(f"{where}.{role}: {cid!r} is not defined under {role}")
        procs = [str(p) for p in pipe.get("processors") or [] if isinstance(pipe.get("processors"), list)]
        limiters = [p for p in procs if _type(p) == MEMORY_LIMITER]
        if not limiters:
            out.append(f"{where}: has no memory_limiter processor")
        elif procs[0] != limiters[0]:
            out.append(f"{where}: memory_limiter must be the first processor (is {procs.index(limiters[0]) + 1}.)")
        batches = [p for p in procs if _type(p) == BATCH]
        if not batches:
            out.append(f"{where}: has no batch processor")
        elif procs[-1] != batches[-1]:
            out.append(f"{where}: batch must be the last processor")
    for section in ("receivers", "processors", "exporters", "connectors"):
        for cid in defined[section]:
            if cid not in used[section]:
                out.append(f"{section}: {cid!r} is defined but no pipeline uses it")
    exts = service.get("extensions") or []
    for cid in exts if isinstance(exts, list) else []:
        if cid not in defined["extensions"]:
            out.append(f"service.extensions: {cid!r} is not defined under extensions")
    for cid in defined["extensions"]:
        if cid not in (exts if isinstance(exts, list) else []):
            out.append(f"extensions: {cid!r} is defined but service.extensions does not enable it")
    out += _settings(defined)
    return out


def _settings(defined: dict[str, dict[str, Any]]) -> list[str]:
    out = []
    for cid, body in defined["receivers"].items():
        if _type(cid) == "otlp":
            protocols = (body or {}).get("protocols") if isinstance(body, dict) else None
            if not isinstance(protocols, dict) or not protocols:
                out.append(f"receivers.{cid}: protocols needs grpc and/or http")
                continue
            for proto, conf in protocols.items():
                if proto not in OTLP_PROTOCOLS:
                    out.append(f"receivers.{cid}.protocols: unknown protocol {proto!r} (grpc, http)")
                ep = (conf or {}).get("endpoint") if isinstance(conf, dict) else None
                if ep is not None and not _HOSTPORT.fullmatch(str(ep)):
                    out.append(f"receivers.{cid}.protocols.{proto}.endpoint {ep!r} is not host:port")
    for cid, body in defined["processors"].items():
        body = body if isinstance(body, dict) else {}
        if _type(cid) == MEMORY_LIMITER:
            for key in set(body) - MEMORY_LIMITER_KEYS:
                out.append(f"processors.{cid}: unknown setting {key!r}")
            if not body.get("check_interval"):
                out.append(f"processors.{cid}: check_interval is required (0 disables the limiter)")
            if not body.get("limit_mib") and not body.get("limit_percentage"):
                out.append(f"processors.{cid}: needs limit_mib or limit_percentage")
            for hard, spike in (("limit_mib", "spike_limit_mib"), ("limit_percentage", "spike_limit_percentage")):
                if isinstance(body.get(hard), int) and isinstance(body.get(spike), int) and body[spike] >= body[hard]:
                    out.append(f"processors.{cid}: {spike} must be below {hard}")
        if _type(cid) == BATCH:
            for key in set(body) - BATCH_KEYS:
                out.append(f"processors.{cid}: unknown setting {key!r}")
    for cid, body in defined["exporters"].items():
        if _type(cid) == "otlphttp":
            body = body if isinstance(body, dict) else {}
            for key in set(body) - OTLPHTTP_KEYS:
                out.append(f"exporters.{cid}: unknown setting {key!r}")
            urls = [k for k in ("endpoint", "traces_endpoint", "metrics_endpoint", "logs_endpoint") if k in body]
            if not urls:
                out.append(f"exporters.{cid}: needs endpoint (or a per-signal *_endpoint)")
            for key in urls:
                if err := _endpoint_problem(body[key]):
                    out.append(f"exporters.{cid}.{key}: {err}")
    for cid, body in defined["extensions"].items():
        if _type(cid) == "health_check":
            ep = (body or {}).get("endpoint") if isinstance(body, dict) else None
            if ep is not None and not _HOSTPORT.fullmatch(str(ep)):
                out.append(f"extensions.{cid}.endpoint {ep!r} is not host:port")
    return out


def _port(hostport: Any) -> int | None:
    match = _HOSTPORT.fullmatch(str(hostport or ""))
    return int(match.group(2)) if match else None


def exporter_targets(cfg: dict) -> list[tuple[str, str, int]]:
    """(exporter id, host, port) of every otlphttp/otlp endpoint."""
    out = []
    for cid, body in (cfg.get("exporters") or {}).items():
        body = body if isinstance(body, dict) else {}
        for key in ("endpoint", "traces_endpoint", "metrics_endpoint", "logs_endpoint"):
            url = body.get(key)
            if not isinstance(url, str):
                continue
            parts = urlsplit(url if "://" in url else f"https://{url}")
            port = parts.port or (80 if parts.scheme == "http" else 443)
            out.append((cid, parts.hostname or "", port))
    return out


def _egress_allows(policy: dict, host: str, port: int) -> bool:
    ns_match = re.fullmatch(r"[a-z0-9-]+\.([a-z0-9-]+)\.svc(\.cluster\.local)?", host)
    for rule in (policy.get("spec") or {}).get("egress") or []:
        ports = [p.get("port") for p in rule.get("ports") or []]
        if ports and port not in ports:
            continue
        for peer in rule.get("to") or [{}]:
            labels = ((peer.get("namespaceSelector") or {}).get("matchLabels") or {})
            if ns_match and labels.get("kubernetes.io/metadata.name") == ns_match.group(1):
                return True
            if not ns_match and "ipBlock" in peer:
                return True
    return False


def check_package(docs: list[Any]) -> list[str]:
    """The config in its ConfigMap, and the Deployment, Service and NetworkPolicy around it."""
    by_kind: dict[str, list[dict]] = {}
    for d in docs:
        if isinstance(d, dict):
            by_kind.setdefault(str(d.get("kind")), []).append(d)
    cms = by_kind.get("ConfigMap") or []
    deps = by_kind.get("Deployment") or []
    if len(cms) != 1 or len(deps) != 1:
        return [f"expected one ConfigMap and one Deployment, found {len(cms)} and {len(deps)}"]
    cm, dep = cms[0], deps[0]
    data = cm.get("data") or {}
    if len(data) != 1:
        return [f"ConfigMap {cm['metadata'].get('name')}: expected one config file, found {sorted(data)}"]
    (key, text), = data.items()
    try:
        cfg = yamlio.load(str(text))
    except Exception as err:  # noqa: BLE001 - any parse error is the finding
        return [f"ConfigMap data {key!r} does not parse: {str(err).splitlines()[0]}"]
    out = [f"{key}: {p}" for p in check_config(cfg)]
    if not isinstance(cfg, dict):
        return out
    pod = ((dep.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = pod.get("containers") or []
    if not containers:
        return out + ["Deployment has no container"]
    c = containers[0]
    env = {e.get("name") for e in c.get("env") or []}
    for var in sorted(set(_ENV.findall(str(text))) - env):
        out.append(f"{key} reads ${{env:{var}}}, which the collector container does not set")
    if not any("--config=file:" in str(a) and str(a).endswith("/" + key) for a in c.get("args") or []):
        out.append(f"the container's --config does not name the mounted {key}")
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
    health = (cfg.get("extensions") or {}).get("health_check") or {}
    health_port = _port(health.get("endpoint")) or 13133
    for probe in ("livenessProbe", "readinessProbe"):
        get = (c.get(probe) or {}).get("httpGet") or {}
        port = ports.get(get.get("port"), get.get("port"))
        if port != health_port:
            out.append(f"{probe} hits port {get.get('port')!r}, not health_check's {health_port}")
    receiver_ports = []
    for cid, body in (cfg.get("receivers") or {}).items():
        for proto, conf in (((body or {}).get("protocols") or {}) if isinstance(body, dict) else {}).items():
            if (p := _port((conf or {}).get("endpoint"))) is not None:
                receiver_ports.append((f"{cid}.{proto}", p))
    service_targets = set()
    for svc in by_kind.get("Service") or []:
        for sp in (svc.get("spec") or {}).get("ports") or []:
            target = sp.get("targetPort")
            service_targets.add(ports.get(target, target))
    for rid, p in receiver_ports:
        if p not in ports.values():
            out.append(f"receiver {rid} listens on {p}, which is not a container port")
        elif p not in service_targets:
            out.append(f"receiver {rid} port {p} is not behind the Service")
    policies = [p for p in by_kind.get("NetworkPolicy") or []
                if ((p.get("spec") or {}).get("podSelector") or {}).get("matchLabels")
                == ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels")]
    if not policies:
        out.append("no NetworkPolicy selects the collector's pods")
    for cid, host, port in exporter_targets(cfg):
        if policies and not any(_egress_allows(pol, host, port) for pol in policies):
            out.append(f"exporter {cid} sends to {host}:{port}, which the collector's NetworkPolicy does not allow")
    return out


@checker
class OtelCollectorConfig:
    name = "otel-collector-config"
    tool = "scaffold"
    slow = False
    detail = "structural rules of the collector's configuration docs (no collector schema or build is packaged)"

    def applies(self, pkg: Package) -> bool:
        return (pkg.root / FILE).is_file()

    def run(self, pkg: Package) -> list[Finding]:
        try:
            docs = yamlio.load_all((pkg.root / FILE).read_text())
        except Exception as err:  # noqa: BLE001
            return [Finding(FILE, f"does not parse: {str(err).splitlines()[0]}")]
        return [Finding(FILE, p) for p in check_package(docs)]

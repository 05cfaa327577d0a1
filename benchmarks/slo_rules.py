"""Cost of the SLO rules: series written and raw samples read per minute, scaffold vs Sloth.

Both rule sets run on the same spec (observability/slo.yaml) over the same input:
three environments' namespaces in one Prometheus, 3 pods each, every pod exporting
http_requests_total (2 routes x 2 codes) and the request histogram (all default
buckets, 2 routes). scaffold deploys one PrometheusRule per environment (each scoped
to its namespace); Sloth's rules are one set over all namespaces, generated here the
way Sloth's generator writes them (the structure of its golden output,
github.com/slok/sloth test/integration/prometheus/testdata/out-base.yaml.tpl: 7 SLI
windows + the period, 7 meta rules, 2 alerts per SLO).

- series written: counted by promtool (every series named slo:* or sloth_* after
  20 minutes of evaluation), i.e. what the rule sets store each minute;
- samples read per minute: for each rule, each selector's matching series (from
  the input and the recorded series) x samples in its range (30s scrapes, 1m rules).

Goal: scaffold writes no more series than Sloth, for the default package and with 3
extra SLOs. Not a test: figures go in the README.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from _common import ROOT

sys.path.insert(0, str(ROOT))

from scaffold import yamlio  # noqa: E402
from scaffold.artifacts import prometheus as rules  # noqa: E402
from scaffold.model import slo  # noqa: E402
from scaffold.model.service import BASE_BUCKETS, ServiceModel  # noqa: E402

NAME = "payments-api"
EXTRA = [
    {"name": "checkout", "objective": 99.5,
     "error_query": f'sum by (namespace) (rate(http_requests_total{{job="{NAME}",route="/checkout",code=~"5.."}}[{{{{window}}}}]))',
     "total_query": f'sum by (namespace) (rate(http_requests_total{{job="{NAME}",route="/checkout"}}[{{{{window}}}}]))'},
    {"name": "search", "objective": 99, "latency_ms": 1200},
    {"name": "home", "objective": 99.9,
     "error_query": f'sum by (namespace) (rate(http_requests_total{{job="{NAME}",route="/",code=~"5.."}}[{{{{window}}}}]))',
     "total_query": f'sum by (namespace) (rate(http_requests_total{{job="{NAME}",route="/"}}[{{{{window}}}}]))'},
]
SCRAPE_S, RULE_S = 30, 60
SLOTH_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


# -- Sloth's rule set, as its generator lays it out ---------------------------------
def sloth_groups(spec: dict[str, Any], window_days: int) -> list[dict[str, Any]]:
    out = []
    for s in spec["slos"]:
        sid = f"{spec['service']}-{s['name']}"
        base = {**spec.get("labels", {}), "sloth_id": sid, "sloth_service": spec["service"], "sloth_slo": s["name"]}
        sel = f'{{sloth_id="{sid}", sloth_service="{spec["service"]}", sloth_slo="{s["name"]}"}}'
        ev = s["sli"]["events"]
        sli = [{"record": f"slo:sli_error:ratio_rate{w}",
                "expr": f"({ev['error_query']})\n/\n({ev['total_query']})".replace("{{.window}}", w),
                "labels": {**base, "sloth_window": w}} for w in SLOTH_WINDOWS]
        period = f"{window_days}d"
        sli.append({"record": f"slo:sli_error:ratio_rate{period}",
                    "expr": f"sum_over_time(slo:sli_error:ratio_rate5m{sel}[{period}])\n/ ignoring (sloth_window)\n"
                            f"count_over_time(slo:sli_error:ratio_rate5m{sel}[{period}])",
                    "labels": {**base, "sloth_window": period}})
        objective = float(s["objective"]) / 100
        on = "on(sloth_id, sloth_slo, sloth_service) group_left"
        meta = [
            {"record": "slo:objective:ratio", "expr": f"vector({objective})", "labels": base},
            {"record": "slo:error_budget:ratio", "expr": f"vector(1-{objective})", "labels": base},
            {"record": "slo:time_period:days", "expr": f"vector({window_days})", "labels": base},
            {"record": "slo:current_burn_rate:ratio",
             "expr": f"slo:sli_error:ratio_rate5m{sel}\n/ {on}\nslo:error_budget:ratio{sel}", "labels": base},
            {"record": "slo:period_burn_rate:ratio",
             "expr": f"slo:sli_error:ratio_rate{period}{sel}\n/ {on}\nslo:error_budget:ratio{sel}", "labels": base},
            {"record": "slo:period_error_budget_remaining:ratio", "expr": f"1 - slo:period_burn_rate:ratio{sel}",
             "labels": base},
            {"record": "sloth_slo_info", "expr": "vector(1)",
             "labels": {**base, "sloth_mode": "cli-gen-prom", "sloth_objective": str(s["objective"]),
                        "sloth_spec": "prometheus/v1", "sloth_version": "v0.16.0"}},
        ]
        budget = 1 - objective

        def pair(short: str, long: str, factor: float) -> str:
            return "\n".join([
                "(",
                f"    max(slo:sli_error:ratio_rate{short}{sel} > ({factor} * {budget})) without (sloth_window)",
                "    and",
                f"    max(slo:sli_error:ratio_rate{long}{sel} > ({factor} * {budget})) without (sloth_window)",
                ")"])

        w = slo.burn_rate_windows(window_days)
        alerts = [
            {"alert": s["alerting"]["name"], "expr": pair("5m", "1h", float(w[0].factor)) + "\nor\n"
             + pair("30m", "6h", float(w[1].factor)), "labels": {"sloth_severity": "page"}},
            {"alert": s["alerting"]["name"], "expr": pair("2h", "1d", float(w[2].factor)) + "\nor\n"
             + pair("6h", "3d", float(w[3].factor)), "labels": {"sloth_severity": "ticket"}},
        ]
        out += [{"name": f"sloth-slo-sli-recordings-{sid}", "rules": sli},
                {"name": f"sloth-slo-meta-recordings-{sid}", "rules": meta},
                {"name": f"sloth-slo-alerts-{sid}", "rules": alerts}]
    return out


# -- input and measurement ---------------------------------------------------------------------
def inputs(m: ServiceModel) -> list[dict[str, str]]:
    out = []
    les = sorted({*BASE_BUCKETS, *(str(Decimal(x)) for x in (m.latency_seconds,))}, key=Decimal)
    les = [repr(float(x)) for x in les] + [repr(float(s["latency_ms"]) / 1000) for s in m.extra_slos if "latency_ms" in s]
    for env in m.environments:
        for pod in range(3):
            base = {"job": NAME, "namespace": env.namespace, "pod": f"{NAME}-{pod}", "instance": f"10.0.{env.index}.{pod}:8080"}
            for route in ("/", "/checkout"):
                for code, inc in (("200", 997), ("500", 3)):
                    out.append(_series("http_requests_total", {**base, "route": route, "code": code}, f"0+{inc}x40"))
                for le in sorted(set(les), key=float) + ["+Inf"]:
                    out.append(_series("http_request_duration_seconds_bucket", {**base, "route": route, "le": le}, "0+900x40"))
                out.append(_series("http_request_duration_seconds_count", {**base, "route": route}, "0+1000x40"))
            out.append(_series("up", base, "1+0x40"))
    return out


def _series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


SERIES = re.compile(r'\{(?:[^{}"]|"(?:[^"\\]|\\.)*")*\}')


def recorded_series(groups_per_file: list[list[dict[str, Any]]], series: list[dict[str, str]]) -> list[dict[str, str]]:
    """The series the rule files write, as promtool lists them after 20 minutes."""
    with tempfile.TemporaryDirectory() as tmp:
        names = []
        for i, groups in enumerate(groups_per_file):
            name = f"r{i}.yaml"
            (Path(tmp) / name).write_text(yamlio.dump({"groups": groups}))
            names.append(name)
        test = {"rule_files": names, "evaluation_interval": "1m", "tests": [{
            "interval": "30s", "input_series": series,
            "promql_expr_test": [{"expr": '{__name__=~"slo:.+|sloth_.+"}', "eval_time": "20m", "exp_samples": []}]}]}
        (Path(tmp) / "t.yaml").write_text(yamlio.dump(test))
        proc = subprocess.run(["promtool", "test", "rules", "t.yaml"], cwd=tmp, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    if "got:" not in out:
        raise SystemExit(f"promtool did not list the recorded series:\n{out[-3000:]}")
    return [_labels(x) for x in SERIES.findall(out.split("got:", 1)[1])]


def _labels(text: str) -> dict[str, str]:
    return {k: v.replace('\\"', '"') for k, v in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', text)}


SELECTOR = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}(\[(\d+)([smhd])\])?')
UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _matches(labels: dict[str, str], matchers: str) -> bool:
    for name, op, value in re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"', matchers):
        value = value.replace("\\\\", "\\")
        have = labels.get(name, "")
        ok = {"=": have == value, "!=": have != value, "=~": re.fullmatch(value, have) is not None,
              "!~": re.fullmatch(value, have) is None}[op]
        if not ok:
            return False
    return True


def samples_read(groups_per_file: list[list[dict[str, Any]]], raw: list[dict[str, str]],
                 recorded: list[dict[str, str]]) -> tuple[int, int]:
    """(raw samples, recorded samples) the rules read in one minute."""
    raw_series = [{"__name__": s["series"].split("{", 1)[0], **_labels(s["series"])} for s in raw]
    rec = [{"__name__": r.get("__name__", ""), **r} for r in recorded]
    raw_total = rec_total = 0
    for groups in groups_per_file:
        for g in groups:
            for rule in g["rules"]:
                for name, matchers, rng, n, unit in SELECTOR.findall(str(rule["expr"])):
                    recorded_metric = name.startswith(("slo:", "sloth_"))
                    pool = rec if recorded_metric else raw_series
                    count = sum(1 for s in pool if s["__name__"] == name and _matches(s, matchers))
                    per = (int(n) * UNIT[unit] // (RULE_S if recorded_metric else SCRAPE_S)) if rng else 1
                    if recorded_metric:
                        rec_total += count * per
                    else:
                        raw_total += count * per
    return raw_total, rec_total


def measure(answers: dict[str, Any]) -> dict[str, dict[str, int]]:
    m = ServiceModel.from_answers({"service_name": NAME, **answers})
    raw = inputs(m)
    ours = [rules.scoped_groups(m, env) for env in m.environments]
    sloth = [sloth_groups(slo.sloth_spec(m), m.slo_window_days)]
    out = {}
    for label, files in (("scaffold", ours), ("sloth", sloth)):
        only_recordings = [[{**g, "rules": [r for r in g["rules"] if "record" in r]} for g in gs] for gs in files]
        written = recorded_series(only_recordings, raw)
        r, c = samples_read(files, raw, written)
        out[label] = {"series": len(written), "raw_samples": r, "recorded_samples": c,
                      "rules": sum(len(g["rules"]) for gs in files for g in gs)}
    return out


# -- detection: Sloth's rules on the scenario suite's input, measured by promtool --------------
ALERT_AT = re.compile(r"alertname: (\S+), time: (\S+),")


def _minutes(text: str) -> int:
    total = 0
    for n, unit in re.findall(r"(\d+)([hms])", text):
        total += int(n) * {"h": 60, "m": 1, "s": 0}[unit]
    return total


def sloth_detection(answers: dict[str, Any]) -> dict[tuple[str, str], dict[str, int | None]]:
    """First minute Sloth's page and ticket alerts fire in each scenario (promtool lists every
    minute an alert fires when told to expect silence), next to scaffold's (its promtool suite)."""
    from scaffold.artifacts import scenarios

    m = ServiceModel.from_answers({"service_name": NAME, **answers})
    spec = slo.sloth_spec(m)
    out: dict[tuple[str, str], dict[str, int | None]] = {}
    for s in scenarios.slos(m):
        sl = [x for x in spec["slos"] if x["name"] == s.name]
        groups = sloth_groups({**spec, "slos": sl}, m.slo_window_days)
        runs = scenarios._runs(m, s.name)
        series = [x for sc, _ in runs for x in scenarios.inputs(m, s, sc)]
        onset_ns = {scenarios.namespace(m, sc): sc for sc, _ in runs}
        horizon = len(runs[0][0].errors)
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "r.yaml").write_text(yamlio.dump({"groups": groups}))
            name = sl[0]["alerting"]["name"]
            order = [g["name"] for g in groups]
            tests = [{"eval_time": f"{t}m", "alertname": name, "exp_alerts": []}
                     for t in range(scenarios.PREFILL_MINUTES - 1, horizon + 1)] + \
                    [{"eval_time": f"{t}m", "alertname": name, "exp_alerts": []} for t in range(0, 90)]
            (Path(tmp) / "t.yaml").write_text(yamlio.dump({
                "rule_files": ["r.yaml"], "evaluation_interval": "1m", "group_eval_order": order,
                "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": tests}]}))
            proc = subprocess.run(["promtool", "test", "rules", "t.yaml"], cwd=tmp, capture_output=True, text=True)
        text = proc.stdout + proc.stderr
        blocks = re.split(r"\n(?=\s*alertname: )", text)
        for block in blocks:
            mt = ALERT_AT.search(block)
            if not mt:
                continue
            t = _minutes(mt.group(2))
            got = block.split("got:", 1)[-1]
            for labels in SERIES.findall(got):
                lab = _labels(labels)
                sc = onset_ns.get(lab.get("namespace", ""))
                if sc is None or t <= sc.onset:
                    continue
                row = out.setdefault((s.name, sc.name), {"page": None, "ticket": None})
                tier = lab.get("sloth_severity")
                if tier in row and (row[tier] is None or t - sc.onset < row[tier]):
                    row[tier] = t - sc.onset
        for sc, tls in runs:
            row = out.setdefault((s.name, sc.name), {"page": None, "ticket": None})
            for tl, _ in tls:
                for tier in ("page", "ticket"):
                    if tl.alert.endswith(f"Burn{tier.capitalize()}"):
                        row[f"scaffold_{tier}"] = tl.detection(sc.onset)
    return out


def main() -> int:
    failed = 0
    print(f"{'package':<24} {'rule set':<9} {'series written':>14} {'raw samples/min':>16} "
          f"{'recorded samples/min':>21} {'rules':>6}")
    for title, answers in (("default (2 SLOs)", {}), ("+3 extra SLOs (5 SLOs)", {"slos": EXTRA})):
        res = measure(answers)
        for label in ("scaffold", "sloth"):
            r = res[label]
            print(f"{title:<24} {label:<9} {r['series']:>14} {r['raw_samples']:>16} {r['recorded_samples']:>21} {r['rules']:>6}")
        ok = res["scaffold"]["series"] <= res["sloth"]["series"]
        failed += not ok
        print(f"  goal series(scaffold) <= series(sloth): {'met' if ok else 'NOT met'}")
    print("\ndetection (minutes after the first bad minute; '-' never), default package, promtool")
    print(f"{'SLO':<13} {'scenario':<22} {'scaffold page':>13} {'sloth page':>10} {'scaffold ticket':>15} {'sloth ticket':>12}")
    for (slo_name, scenario), r in sloth_detection({}).items():
        def f(v: int | None) -> str:
            return "-" if v is None else str(v)
        print(f"{slo_name:<13} {scenario:<22} {f(r.get('scaffold_page')):>13} {f(r['page']):>10} "
              f"{f(r.get('scaffold_ticket')):>15} {f(r['ticket']):>12}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The rules a promtool unit test can observe (scaffold/validate/promtool_scope.py): the
closure keeps every rule whose output a test can read, and cuts only what it cannot."""

from __future__ import annotations

import pytest

from scaffold.validate import promtool_scope as scope

pytestmark = pytest.mark.fast


def rules_doc() -> dict:
    return {"groups": [
        {"name": "records", "interval": "1m", "rules": [
            {"record": "job:errors:rate5m", "expr": "sum(rate(errors_total[5m]))"},
            {"record": "job:requests:rate5m", "expr": "sum(rate(requests_total[5m]))"},
            {"record": "job:error:ratio", "expr": "job:errors:rate5m / job:requests:rate5m"},
            {"record": "job:latency:p99", "expr": "histogram_quantile(0.99, rate(latency_bucket[5m]))"},
        ]},
        {"name": "alerts", "rules": [
            {"alert": "HighErrors", "expr": "job:error:ratio > 0.1", "for": "5m"},
            {"alert": "SlowRequests", "expr": "job:latency:p99 > 1"},
            {"alert": "Templated", "expr": "up == 0",
             "annotations": {"summary": '{{ with query "job:latency:p99" }}{{ . }}{{ end }}'}},
        ]},
        {"name": "pods", "rules": [{"alert": "PodDown", "expr": "kube_pod_status_ready == 0"}]},
    ]}


def kept(rules: scope.Rules, keep: frozenset) -> list[str]:
    return [r.get("record") or r["alert"] for doc in rules.cut(keep) for g in doc["groups"] for r in g["rules"]]


def test_an_alert_keeps_the_records_it_reads_transitively_and_nothing_else():
    rules = scope.Rules.index([rules_doc()])
    keep = rules.closure({"alert_rule_test": [{"alertname": "HighErrors"}]})
    assert kept(rules, keep) == ["job:errors:rate5m", "job:requests:rate5m", "job:error:ratio", "HighErrors"]
    assert kept(rules, rules.closure({"alert_rule_test": [{"alertname": "PodDown"}]})) == ["PodDown"]


def test_a_queried_expression_and_an_annotation_template_count_as_reads():
    rules = scope.Rules.index([rules_doc()])
    by_expr = rules.closure({"promql_expr_test": [{"expr": "job:error:ratio * 2"}]})
    assert kept(rules, by_expr) == ["job:errors:rate5m", "job:requests:rate5m", "job:error:ratio"]
    by_template = rules.closure({"alert_rule_test": [{"alertname": "Templated"}]})
    assert kept(rules, by_template) == ["job:latency:p99", "Templated"]


def test_an_alert_no_rule_defines_keeps_nothing():
    rules = scope.Rules.index([rules_doc()])
    assert rules.closure({"alert_rule_test": [{"alertname": "Nope"}]}) == frozenset()


def test_the_cut_keeps_group_options_and_order_and_drops_empty_groups():
    rules = scope.Rules.index([rules_doc()])
    keep = rules.closure({"alert_rule_test": [{"alertname": "SlowRequests"}, {"alertname": "PodDown"}]})
    doc = rules.cut(keep)[0]
    assert [g["name"] for g in doc["groups"]] == ["records", "alerts", "pods"]
    assert doc["groups"][0]["interval"] == "1m"
    only_pods = rules.closure({"alert_rule_test": [{"alertname": "PodDown"}]})
    assert [g["name"] for g in rules.cut(only_pods)[0]["groups"]] == ["pods"]
    assert scope.scoped_eval_order(["records", "alerts", "pods", "never-existed"], rules, only_pods) \
        == ["pods", "never-existed"]


@pytest.mark.parametrize("expr", ['count(ALERTS{alertname="HighErrors"}) > 0', 'ALERTS_FOR_STATE > 0',
                                  '{__name__=~"job:.*"} > 1'])
def test_a_rule_reading_names_it_does_not_spell_disables_the_cut(expr):
    doc = rules_doc()
    doc["groups"][2]["rules"].append({"alert": "Meta", "expr": expr})
    assert scope.Rules.index([doc]) is None


def test_a_query_reading_names_it_does_not_spell_is_not_cut():
    rules = scope.Rules.index([rules_doc()])
    assert rules.closure({"promql_expr_test": [{"expr": 'ALERTS{alertname="HighErrors"}'}]}) is None
    assert rules.closure({"promql_expr_test": [{"expr": '{__name__="job:error:ratio"}'}]}) is None


@pytest.mark.parametrize("doc", [{"groups": "x"}, {"groups": [{"name": "g", "rules": [{"expr": "up"}]}]},
                                 {"groups": [{"rules": []}]}, [], {"groups": [{"name": "g", "rules": [{"record": "r"}]}]}])
def test_files_that_are_not_plain_groups_of_rules_are_not_cut(doc):
    assert scope.Rules.index([doc]) is None

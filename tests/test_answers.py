"""Answer rules and the typed model: the policy Copier's validators call into."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from scaffold.answers import rules
from scaffold.answers import quantities
from scaffold import yamlio
from scaffold.model.service import DEFAULTS, DERIVED_DEFAULTS, ServiceModel, answer_default, derived_defaults, slugify

ROOT = Path(__file__).resolve().parent.parent


def model(**overrides):
    return ServiceModel.from_answers({"service_name": "payments-api", **overrides})


def test_copier_yml_defaults_match_model_defaults():
    questions = yamlio.load_file(ROOT / "copier.yml")
    for name, default in DEFAULTS.items():
        assert name in questions, f"copier.yml lacks question {name}"
        if name in DERIVED_DEFAULTS:  # computed from earlier answers, by the model's own function
            assert questions[name]["default"] == f"{{{{ scaffold_default('{name}') }}}}", name
            assert answer_default(name, {}) == default, name
            continue
        assert questions[name]["default"] == default, name
    for name in rules.RULES:
        assert name in questions, f"rule {name} has no copier question"
        q = questions[name]
        if name not in ("with_app", "backlog"):
            assert q["validator"] == f"{{{{ scaffold_check('{name}') }}}}", name


def test_every_question_has_a_rule_or_is_bool():
    questions = yamlio.load_file(ROOT / "copier.yml")
    for name, q in questions.items():
        if name.startswith("_"):
            continue
        assert name in rules.RULES, name
        assert "default" in q, f"{name} needs a default so --defaults works"


@pytest.mark.fast
@pytest.mark.parametrize(
    "folder,expected",
    [("payments-api", "payments-api"), ("Payments_API v2", "payments-api-v2"), ("x", "x-svc"),
     ("__", "svc"), ("a" * 60, "a" * 40), ("tmp-" + "b" * 36 + "-c", "tmp-" + "b" * 36)],
)
def test_slugify_gives_a_valid_service_name(folder, expected):
    slug = slugify(folder)
    assert slug == expected
    assert rules.check("service_name", slug, {}) == ""


@pytest.mark.fast
def test_production_never_runs_fewer_than_two_replicas():
    m = model(replicas_min=1, replicas_max=1)
    assert [e.replicas_min for e in m.environments] == [1, 1, 2]
    assert m.production.replicas_max == 2
    assert m.production.name == "prod" and m.production.production
    assert [e.previous for e in m.environments] == [None, "dev", "staging"]


@pytest.mark.fast
def test_namespaces_and_labels_are_derived_once():
    m = model(environments=["qa", "live"])
    assert [e.namespace for e in m.environments] == ["payments-api-qa", "payments-api-live"]
    assert m.environments[1].labels["scaffold.dev/environment"] == "live"
    assert m.selector_labels.items() <= m.labels.items()
    assert ServiceModel.from_answers({"service_name": "payments-api", "environments": ["qa", "live"]}) is m


@pytest.mark.fast
def test_resources_are_normalised_and_limit_derived():
    m = model(cpu_request="0.25", memory_request="1Gi", memory_limit="1536Mi")
    assert m.resources.cpu_request == "250m"
    assert m.resources.cpu_limit == "1000m"
    assert m.resources.memory_limit == "1536Mi"
    assert m.resources.as_k8s()["limits"]["ephemeral-storage"]


@pytest.mark.fast
@pytest.mark.parametrize("value,kind,expected", [
    ("100m", "cpu", Decimal("0.1")), ("2", "cpu", Decimal(2)), ("128Mi", "memory", Decimal(128 * 2**20)),
    ("1G", "memory", Decimal(10**9)), ("100x", "cpu", None), ("-1", "cpu", None), ("0", "cpu", None),
    ("500m", "memory", None), ("2000Gi", "memory", None), (True, "cpu", None),
])
def test_quantities(value, kind, expected):
    assert quantities.parse(value, kind) == expected


@pytest.mark.fast
def test_latency_bucket_label_matches_python_client_format():
    assert model().latency_le == "0.3"
    assert model(slo_latency_ms=1000).latency_le == "1.0"
    assert Decimal("0.25") in model(slo_latency_ms=250).latency_buckets


@pytest.mark.fast
def test_derived_defaults_follow_the_repo():
    d = derived_defaults("svc-a", "org/svc-a")
    assert d["runbook_base_url"] == "https://github.com/org/svc-a/blob/main/runbooks"
    assert model().runbook_url("X") == "https://github.com/acme/payments-api/blob/main/runbooks/X.md"


@pytest.mark.fast
def test_dashboard_uid_fits_grafana_limit():
    m = ServiceModel.from_answers({"service_name": "a" * 40})
    assert len(m.dashboard_uid("golden")) <= 40
    assert m.dashboard_uid("golden") != m.dashboard_uid("slo")


@pytest.mark.fast
def test_validate_all_names_the_field():
    with pytest.raises(rules.AnswerError) as err:
        model(memory_request="512Mi", memory_limit="256Mi")
    assert err.value.field == "memory_limit"
    assert "memory_request" in str(err.value)


@pytest.mark.fast
def test_k8s_version_bounds_follow_shipped_schemas():
    newest = rules.shipped_k8s_minors()[-1]
    assert rules.check("k8s_version", f"1.{newest}", {}) == ""
    assert rules.check("k8s_version", f"1.{newest + 1}", {}).startswith("k8s_version: must be")
    assert rules.check("k8s_version", "1.29", {}) != ""


@pytest.mark.fast
def test_yaml_scalar_cannot_open_new_keys():
    evil = "x\nkind: Secret\n---\napiVersion: v1"
    doc = yamlio.load(f"description: {yamlio.scalar(evil)}\n")
    assert doc == {"description": evil}
    assert yamlio.scalar(Decimal("0.0144")) == "0.0144"


def test_types_match_copier_yml():
    questions = yamlio.load_file(ROOT / "copier.yml")
    for name, q in questions.items():
        if not name.startswith("_"):
            assert rules.TYPES.get(name, "str") == q["type"], name


@pytest.mark.fast
@pytest.mark.parametrize("field,raw,expected", [
    ("port", "8080", 8080), ("slo_availability", "99.95", 99.95), ("backlog", "no", False),
    ("environments", "[a, b]", ["a", "b"]), ("service_name", "x", "x"),
])
def test_coerce(field, raw, expected):
    assert rules.coerce(field, raw) == expected


@pytest.mark.fast
@pytest.mark.parametrize("field,raw", [("port", "80.5"), ("port", "abc"), ("slo_availability", "high"),
                                       ("backlog", "maybe"), ("environments", "{a: b")])
def test_coerce_names_the_field(field, raw):
    with pytest.raises(rules.AnswerError) as err:
        rules.coerce(field, raw)
    assert str(err.value).startswith(f"{field}: ")

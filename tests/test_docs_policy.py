"""Issue 22 defect 7 (docs): the post-mortem template has the SRE Workbook's sections, and
the error-budget policy fits how this service's releases reach production."""

from __future__ import annotations

import re

import pytest

from scaffold.artifacts import canary, docs
from scaffold.model.service import ServiceModel

# The SRE Workbook's post-mortem template (its example post-mortem), in our order.
WORKBOOK_SECTIONS = ["Summary", "Impact", "Root causes", "Trigger", "Resolution", "Detection", "Action items",
                     "Lessons learned", "What went well", "What went wrong", "Where we got lucky", "Timeline (UTC)",
                     "Supporting information"]

COMBINATIONS = {
    "canary service": {},
    "rolling service": {"delivery": "rolling"},
    "worker": {"blueprint": "worker"},
    "cronjob": {"blueprint": "cronjob"},
    "canary, prod only": {"environments": ["prod"]},
    "cronjob, prod only": {"blueprint": "cronjob", "environments": ["prod"]},
    "worker, four environments": {"blueprint": "worker", "environments": ["dev", "qa", "uat", "live"]},
}


def _tier(m: ServiceModel, level: str) -> str:
    return dict(docs.budget_policy(m))[level]


@pytest.mark.fast
@pytest.mark.parametrize("answers", list(COMBINATIONS.values()), ids=list(COMBINATIONS))
def test_budget_policy_fits_the_delivery(answers):
    m = ServiceModel.from_answers({"service_name": "payments-api", **answers})
    text = _tier(m, "25")
    assert "only behind a canary" not in text
    prod = m.production
    if m.canary:
        rollout = canary.rollout(m)
        weights = [st["setWeight"] for st in rollout["spec"]["strategy"]["canary"]["steps"] if "setWeight" in st]
        assert f"already a canary ({'/'.join(f'{w}%' for w in weights)} of traffic" in text
        assert f"about {canary.plan_seconds(m) // 60} minutes" in text
    elif m.blueprint == "service":
        assert "no canary analysis" in text and "--data delivery=canary" in text
    else:
        assert f"a {'CronJob' if m.blueprint == 'cronjob' else 'queue consumer'} has no canary" in text
        assert "delivery: canary" not in text
    if prod.previous:  # the gate is the environment before production, by name
        assert f"in `{prod.previous}` before the `{prod.name}` reviewers approve it" in text.replace(
            " for a day with no burn-rate ticket", "").replace(f"completes {docs.CRON_SOAK_RUNS} scheduled runs ", "")
    else:
        assert "no earlier environment" in text and f"`{prod.name}` reviewers" in text
    assert [lvl for lvl, _ in docs.budget_policy(m)] == ["50", "25", "0"]


@pytest.mark.fast
def test_each_delivery_kind_has_its_own_text():
    texts = {name: _tier(ServiceModel.from_answers({"service_name": "payments-api", **a}), "25")
             for name, a in COMBINATIONS.items()}
    kinds = ["canary service", "rolling service", "worker", "cronjob"]
    assert len({texts[k] for k in kinds}) == len(kinds)


@pytest.mark.parametrize("answers", [{}, {"blueprint": "cronjob"}], ids=["service", "cronjob"])
def test_rendered_docs(render, answers):
    root = render(skip_tasks=True, **answers)
    m = ServiceModel.from_answers({"service_name": "payments-api", **answers})
    slo_md = (root / "docs" / "slo.md").read_text()
    for _, text in docs.budget_policy(m):
        assert f"- {text}\n" in slo_md
    pm = (root / "docs" / "postmortem-template.md").read_text()
    headings = [h.strip() for h in re.findall(r"^#{2,3} (.+)$", pm, re.M)]
    assert headings == WORKBOOK_SECTIONS
    header = next(line for line in pm.splitlines() if line.startswith("| action |"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert "owner" in columns and any(c.startswith("ticket") for c in columns), columns

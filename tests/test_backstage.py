"""catalog-info.yaml and its TechDocs site (issue #22, defect 7's catalog part).

The entity is judged by @backstage/catalog-model's own validators (the `backstage-catalog`
checker, npm), the site by `mkdocs build --strict` (the `techdocs` checker); a broken entity
or nav fails. TechDocs, PagerDuty, lifecycle and system come from the answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import copier
import pytest
from tests.helpers import mutable_copy, require_tool
from typer.testing import CliRunner

from scaffold.artifacts import backstage
from scaffold import yamlio
from scaffold.cli import app
from scaffold.model.service import ServiceModel
from scaffold.model.package import Package
from scaffold.validate import backstage as checks
from scaffold.validate import run_one


@pytest.fixture(scope="module")
def pkg(render) -> Path:
    return render(skip_tasks=True)


def entity(pkg: Path) -> dict:
    return yamlio.load_file(pkg / "catalog-info.yaml")


def test_default_entity_is_experimental_with_techdocs_and_pagerduty(pkg):
    e = entity(pkg)
    ann = e["metadata"]["annotations"]
    assert e["spec"]["lifecycle"] == "experimental"  # day 0 is not production
    assert "system" not in e["spec"]  # nothing creates a System: none is referenced
    assert ann["backstage.io/techdocs-ref"] == "dir:."
    assert (pkg / "mkdocs.yml").is_file()
    assert ann["pagerduty.com/service-id"] == "PXXXXXX"
    am = yamlio.load_file(pkg / "observability/alertmanager/alertmanager.yaml")
    assert any(r.get("pagerduty_configs") for r in am["receivers"])  # why the annotation is due


def test_answers_set_lifecycle_system_and_pagerduty():
    require_tool("node")
    m = ServiceModel.from_answers({"service_name": "payments-api", "lifecycle": "production",
                                   "system": "payments", "pagerduty_service_id": "PABC123"})
    e = backstage.component(m)
    assert (e["spec"]["lifecycle"], e["spec"]["system"]) == ("production", "payments")
    assert e["metadata"]["annotations"]["pagerduty.com/service-id"] == "PABC123"
    assert checks.validate_entities([json.loads(json.dumps(e, default=str))]) == [[]]


def test_catalog_model_accepts_the_default_entity(pkg):
    """Every blueprint's entity passes too: tests/test_package.py requires this checker on each."""
    require_tool("node")
    result = run_one(checks.BackstageCatalog, Package.load(pkg))
    assert result.status == "pass", result.findings


def _copy(pkg: Path, tmp_path: Path) -> Path:
    dest = mutable_copy(pkg, tmp_path, ignore=("app", "terraform", "backlog"))
    return dest


SCHEMA_BREAKS = [
    (lambda e: e["metadata"].update(name="Payments API!"), '"metadata.name" is not valid'),
    (lambda e: e["spec"].pop("type"), "must have required property 'type'"),
    (lambda e: e["metadata"]["annotations"].update({"pagerduty.com/service id": "x"}), "annotations.pagerduty.com/service id"),
    (lambda e: e["spec"].update(owner="group:"), "spec.owner"),
    (lambda e: e["spec"].update(lifecycle=""), "lifecycle"),
]


def test_a_broken_entity_fails(pkg, tmp_path):
    """catalog-model's verdict on each mutation (one node process), then the checker on a copy
    whose TechDocs and PagerDuty annotations are gone."""
    require_tool("node")
    broken = []
    for mutate, _ in SCHEMA_BREAKS:
        e = json.loads(json.dumps(entity(pkg), default=str))
        mutate(e)
        broken.append(e)
    verdicts = checks.validate_entities(broken)
    for (_, expected), errors in zip(SCHEMA_BREAKS, verdicts):
        assert any(expected in x for x in errors), (expected, errors)
    copy = _copy(pkg, tmp_path)
    e = entity(copy)
    del e["metadata"]["annotations"]["backstage.io/techdocs-ref"], e["metadata"]["annotations"]["pagerduty.com/service-id"]
    e["metadata"]["name"] = "-bad-"
    (copy / "catalog-info.yaml").write_text(yamlio.dump(e))
    result = run_one(checks.BackstageCatalog, Package.load(copy))
    messages = [f.message for f in result.findings]
    assert result.status == "fail" and all(f.file == "catalog-info.yaml" for f in result.findings)
    for expected in ('"metadata.name" is not valid', "no backstage.io/techdocs-ref", "pages through PagerDuty"):
        assert any(expected in x for x in messages), (expected, messages)


def _nav_paths(nav) -> list[str]:
    out = []
    for item in nav:
        (value,) = item.values()
        out += _nav_paths(value) if isinstance(value, list) else [value]
    return out


def test_nav_names_only_files_that_exist_and_covers_docs_and_runbooks(render):
    for answers in ({}, {"blueprint": "cronjob"}):
        pkg = render(skip_tasks=True, **answers)
        config = yamlio.load_file(pkg / "mkdocs.yml")
        assert config["docs_dir"] == "docs"
        paths = _nav_paths(config["nav"])
        for p in paths:  # runbooks/ come from the hook, from the package's runbooks/
            assert (pkg / ("" if p.startswith("runbooks/") else "docs") / p).is_file(), p
        assert {p for p in paths if p.startswith("runbooks/")} == {f"runbooks/{f.name}" for f in (pkg / "runbooks").glob("*.md")}
        assert {p for p in paths if "/" not in p} == {f.name for f in (pkg / "docs").glob("*.md")}


def test_mkdocs_build_strict_passes_and_catches_a_broken_nav_or_link(pkg, tmp_path):
    require_tool("mkdocs")
    assert run_one(checks.TechDocs, Package.load(pkg)).status == "pass"
    copy = _copy(pkg, tmp_path)
    config = yamlio.load_file(copy / "mkdocs.yml")
    config["nav"].append({"Gone": "gone.md"})
    (copy / "mkdocs.yml").write_text(yamlio.dump(config))
    slo = copy / "docs/slo.md"
    slo.write_text(slo.read_text() + "\nSee [the spec](../observability/slo.yaml).\n")
    result = run_one(checks.TechDocs, Package.load(copy))
    messages = [f.message for f in result.findings]
    assert result.status == "fail"
    assert any("gone.md" in m for m in messages) and any("../observability/slo.yaml" in m for m in messages), messages


BAD = [("lifecycle", "live"), ("pagerduty_service_id", "abc123"), ("system", "Payments System")]


@pytest.mark.parametrize("field, value", BAD)
def test_bad_catalog_answers_are_refused_through_both_doors(field, value, template_repo, tmp_path):
    dest = tmp_path / "payments-api"
    with pytest.raises(Exception) as err:
        copier.run_copy(str(template_repo), str(dest), data={field: value}, defaults=True, unsafe=True,
                        quiet=True, vcs_ref="v1.0.0")
    assert not dest.exists()
    assert f"{field}: " in str(err.value) or f"'{field}'" in str(err.value), str(err.value)
    result = CliRunner().invoke(app, ["new", str(dest), "--template", str(template_repo), "--trust", "--vcs-ref",
                                      "v1.0.0", "--defaults", "-q", "--data", f"{field}={value}"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith(f"error: {field}: "), result.output
    assert not dest.exists()

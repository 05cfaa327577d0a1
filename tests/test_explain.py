"""`scaffold explain PATH` names the template, builder and answers of every generated file."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaffold import explain
from scaffold.artifacts import manifests
from scaffold.cli import app
from scaffold.model.package import load_answers


BLUEPRINT_SPECIFIC = ("k8s", "app", "Dockerfile", "runbooks", "observability")


def _files(pkg: Path) -> list[str]:
    return sorted(p.relative_to(pkg).as_posix() for p in pkg.rglob("*")
                  if p.is_file() and ".git" not in p.relative_to(pkg).parts)


def _resolve(qualified: str) -> object:
    """``scaffold.artifacts.k8s:deployment`` -> the object (importable, attribute by attribute)."""
    module, _, qualname = qualified.partition(":")
    obj: object = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("answers", [{}, {"blueprint": "worker"}, {"blueprint": "cronjob"}],
                         ids=["service", "worker", "cronjob"])
def test_every_file_names_a_template_that_makes_it_and_callable_builders(render, template_repo, answers):
    pkg = render(skip_tasks=True, **answers)
    ex = explain.Explainer(template_repo, load_answers(pkg / explain.ANSWERS_FILE))
    files = _files(pkg)
    assert "k8s/base/deployment.yaml" in files or answers.get("blueprint") == "cronjob"
    for rel in files:
        found = ex.explain(rel, answers=False)
        assert found.template is not None, rel
        assert (template_repo / found.template).is_file(), (rel, found.template)
        assert found.template.startswith("blueprints/package/"), (rel, found.template)
        for partial in found.partials + ([found.layout] if found.layout else []):
            assert (template_repo / partial).is_file(), (rel, partial)
        for builder in found.builders:
            obj = _resolve(builder)
            assert callable(obj) or isinstance(obj, property) or hasattr(obj, "__get__"), (rel, builder)
        if rel != explain.ANSWERS_FILE and (not answers or rel.split("/")[0] in BLUEPRINT_SPECIFIC):
            # (Copier adds _commit and _src_path of its clone to the answers file; a worker's or
            # cronjob's files other than these are compared for the service, to keep this test short)
            # the named template, rendered with the package's answers, is this file, byte for byte
            assert ex.body(ex.outputs()[rel]) == (pkg / rel).read_bytes(), rel
    # and the tree renders nothing the package lacks (the map is the package, no more)
    assert sorted(ex.outputs()) == [f for f in files]


def test_a_base_manifest_names_its_table_entry_and_builder(render, template_repo):
    pkg = render(skip_tasks=True)
    ex = explain.Explainer(template_repo, load_answers(pkg / explain.ANSWERS_FILE))
    found = ex.explain("k8s/base/deployment.yaml", answers=False)
    assert found.template == manifests.TEMPLATE
    assert "BASE['deployment.yaml']" in found.table
    assert found.builders == ["scaffold.artifacts.k8s:deployment"]
    assert _resolve(found.builders[0]) is importlib.import_module("scaffold.artifacts.k8s").deployment
    for entry in manifests.present(ex._mod("model.service").ServiceModel.from_answers(ex.answers)):  # every entry, same table
        assert ex.explain(entry.path, answers=False).builders == [
            "scaffold.artifacts." + entry.builder.replace(".", ":", 1)], entry.file


def test_the_answers_listed_are_those_that_change_the_file(render, template_repo):
    """Derived by trying, so checked against the builder directly: the port moves the
    Deployment's container port; the backlog assignee never reaches k8s/base."""
    from scaffold.artifacts import k8s
    from scaffold import yamlio
    from scaffold.model.service import ServiceModel

    pkg = render(skip_tasks=True)
    answers = load_answers(pkg / explain.ANSWERS_FILE)
    ex = explain.Explainer(template_repo, answers)
    made = ex.explain("k8s/base/deployment.yaml").answers
    assert made is not None
    assert {"port", "service_name", "cpu_request", "image_registry"} <= set(made)
    assert "backlog_assignee" not in made and "slo_availability" not in made

    def deployment(**changed):
        plain = {k: v for k, v in answers.items() if not k.startswith("_")}
        return yamlio.dump(k8s.deployment(ServiceModel.from_answers({**plain, **changed})))

    assert deployment(port=9090) != deployment()
    assert deployment(backlog_assignee="@someone", slo_availability=99.5) == deployment()


def test_cli_explains_a_path_of_the_package_it_is_run_in(render, template_repo, monkeypatch):
    pkg = render(skip_tasks=True)
    monkeypatch.setenv("SCAFFOLD_TEMPLATE", str(template_repo))
    monkeypatch.chdir(pkg / "k8s")
    result = CliRunner().invoke(app, ["explain", "base/hpa.yaml", "--no-answers"])
    assert result.exit_code == 0, result.output
    assert "template: blueprints/package/k8s/base/{% yield name from sc.manifests.base_files" in result.output
    assert "builder:  scaffold.artifacts.k8s:hpa" in result.output
    result = CliRunner().invoke(app, ["explain", "nope.txt", "--package", str(pkg)])
    assert result.exit_code == 1
    assert "nope.txt: no template of blueprints/package renders this path" in result.output

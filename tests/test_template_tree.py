"""One template tree (blueprints/package) that mirrors the generated layout: no symlinks,
no include-only stubs, and a new base manifest is two edits (issue 18)."""

from __future__ import annotations

import filecmp
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT, require_tool

TEMPLATE_DIRS = ("blueprints", "k8s", "observability", "runbooks")
_COMMENT = re.compile(r"{#.*?#}", re.S)
_TAG = re.compile(r"{%.*?%}", re.S)


def _template_files() -> list[Path]:
    return sorted(p for d in TEMPLATE_DIRS if (ROOT / d).is_dir() for p in (ROOT / d).rglob("*")
                  if p.is_file() and p.suffix in (".jinja", ".j2"))


def include_only(text: str) -> bool:
    """A stub: nothing but `{% include %}` (and `{% set %}` tags) once comments and
    whitespace are gone."""
    body = _COMMENT.sub("", text)
    tags = _TAG.findall(body)
    return (not _TAG.sub("", body).strip()
            and any(re.match(r"{%-?\s*include\b", t) for t in tags)
            and all(re.match(r"{%-?\s*(include|set)\b", t) for t in tags))


@pytest.mark.fast
def test_the_stub_check_knows_a_stub():
    assert include_only('{% include "k8s/base/deployment.yaml.j2" %}\n')
    assert include_only('{% set m = scaffold_model() -%}\n{% include "a/" ~ m.stack ~ ".j2" %}\n')
    assert include_only('{#- a comment -#}\n{% set m = scaffold_model() %}{% include x.layout %}')
    assert not include_only('# {{ alert.name }}\n{% include "runbooks/response.md.j2" %}\n')
    assert not include_only("{{ sc.k8s.kustomization(m) | to_yaml }}\n")


@pytest.mark.fast
def test_no_symlink_and_no_include_only_stub_in_the_template():
    links = [p.relative_to(ROOT).as_posix() for d in TEMPLATE_DIRS if (ROOT / d).exists()
             for p in (ROOT / d).rglob("*") if p.is_symlink()]
    assert links == []
    stubs = [p.relative_to(ROOT).as_posix() for p in _template_files()
             if include_only(p.read_text(encoding="utf-8"))]
    assert stubs == []


@pytest.mark.fast
def test_one_tree_for_every_blueprint():
    """copier.yml picks the tree through scaffold_tree(); blueprints/ holds that tree only."""
    from scaffold import templating

    assert '_subdirectory: "blueprints/{{ scaffold_tree() }}"' in (ROOT / "copier.yml").read_text()
    assert sorted(p.name for p in (ROOT / "blueprints").iterdir() if p.is_dir()) == [templating.TREE]


@pytest.mark.fast
def test_a_manifest_no_unit_claims_is_filed_from_the_table(monkeypatch):
    """The backlog plan claims every BASE entry: one without its own UNITS entry gets one."""
    from scaffold.artifacts import manifests, tasks
    from scaffold.model.service import ServiceModel

    extra = manifests.Manifest("feature-flags.yaml", "k8s.config_map", task="Feature flags")
    monkeypatch.setattr(manifests, "BASE", (*manifests.BASE, extra))
    units = tasks._manifest_units(tasks.UNITS)
    assert [(u.paths, u.title, u.parent) for u in units] == [(("k8s/base/feature-flags.yaml",), "Feature flags", "k8s")]
    monkeypatch.setattr(tasks, "UNITS", [*tasks.UNITS, *units])
    m = ServiceModel.from_answers({"service_name": "payments-api"})
    assert tasks.unclaimed(m, ["k8s/base/feature-flags.yaml", "k8s/base/deployment.yaml"]) == []


BUILDER = '''

def feature_flags(m: ServiceModel) -> Obj:
    """The flags the app reads at start (a test's new base manifest)."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"{m.name}-flags", "namespace": m.name, "labels": dict(m.labels)},
            "data": {"checkout.v2": "off"}}
'''
ENTRY = ('    Manifest("feature-flags.yaml", "k8s.feature_flags",\n'
         '             comment="Feature flags, off until a release turns them on."),\n')


def test_adding_a_base_manifest_is_two_edits(template_repo, tmp_path):
    """The builder in scaffold/artifacts/k8s.py and its entry in scaffold/artifacts/manifests.py BASE: the
    rendered k8s/base has the file, its kustomization lists it, and kustomize builds it.
    k8s/base is rendered as Copier renders it (scaffold.explain, which tests/test_explain.py
    holds byte-identical to Copier's output for every file), with the copy's own code."""
    from scaffold import explain

    kubectl = require_tool("kubectl")
    tpl = tmp_path / "tpl"
    shutil.copytree(template_repo, tpl, ignore=shutil.ignore_patterns(".git"))
    with (tpl / "scaffold" / "artifacts" / "k8s.py").open("a") as fh:
        fh.write(BUILDER)
    table = tpl / "scaffold" / "artifacts" / "manifests.py"
    text = table.read_text()
    assert text.count("\n)\n\nBY_FILE") == 1
    table.write_text(text.replace("\n)\n\nBY_FILE", "\n" + ENTRY + ")\n\nBY_FILE"))
    changed = [p.relative_to(tpl).as_posix() for p in tpl.rglob("*") if p.is_file()
               and not filecmp.cmp(p, template_repo / p.relative_to(tpl), shallow=False)]
    assert sorted(changed) == ["scaffold/artifacts/k8s.py", "scaffold/artifacts/manifests.py"]

    pkg = tmp_path / "payments-api"
    rendered = explain.Explainer(tpl, {"service_name": "payments-api"})
    for path, out in rendered.outputs().items():
        if path.startswith("k8s/base/"):
            (pkg / path).parent.mkdir(parents=True, exist_ok=True)
            (pkg / path).write_bytes(rendered.body(out))
    flags = (pkg / "k8s/base/feature-flags.yaml").read_text()
    assert flags.startswith("# Feature flags, off until a release turns them on.\napiVersion: v1\nkind: ConfigMap\n")
    listed = (pkg / "k8s/base/kustomization.yaml").read_text()
    assert "- feature-flags.yaml\n" in listed
    built = subprocess.run([kubectl, "kustomize", str(pkg / "k8s/base")], capture_output=True, text=True,
                           check=True, timeout=120).stdout
    assert "name: payments-api-flags\n" in built and "checkout.v2: \"off\"" in built


@pytest.mark.fast
def test_a_blueprint_is_a_definition_the_model_reads():
    """scaffold/data/blueprints.yml is the one list: copier.yml's choices, the answer rule,
    and the model's facts (workload, HTTP, scaling, monitor, delivery) all follow it."""
    import yaml

    from scaffold.answers import rules as answers, blueprints
    from scaffold.artifacts import prometheus as rules
    from scaffold.model.service import ServiceModel

    question = yaml.safe_load((ROOT / "copier.yml").read_text())["blueprint"]
    assert tuple(question["choices"]) == blueprints.NAMES == answers.BLUEPRINTS
    for bp in blueprints.DEFINITIONS.values():
        m = ServiceModel.from_answers({"service_name": "payments-api", "blueprint": bp.name})
        assert (m.workload_kind, m.has_http, m.scales, m.delivery, m.throughput_per_core) == (
            bp.workload, bp.http, bp.scales, bp.delivery[0], bp.throughput_per_core)
        assert (rules.monitor_kind(m) or "none") == bp.monitor
        assert bp.name in question["help"]


@pytest.mark.fast
def test_a_bad_blueprint_definition_is_refused_by_name(tmp_path):
    from scaffold.answers import blueprints

    bad = tmp_path / "blueprints.yml"
    bad.write_text("batch:\n  help: x\n  workload: StatefulSet\n  http: false\n  scales: false\n"
                   "  monitor: none\n  delivery: [rolling]\n  throughput_per_core: 1\n")
    with pytest.raises(ValueError, match="batch: workload is one of Deployment, CronJob"):
        blueprints._load(bad)
    bad.write_text("batch:\n  help: x\n")
    with pytest.raises(ValueError, match="batch: needs exactly"):
        blueprints._load(bad)

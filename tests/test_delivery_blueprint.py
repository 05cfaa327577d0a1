"""Issue 22 defect 5: what a package records and ships fits what it is.

- The recorded `delivery` answer matches what is generated. A canary is an Argo Rollout
  analysed on HTTP SLOs: only the service blueprint has one. A worker or cronjob is
  delivered rolling: its default follows the blueprint, an explicit `canary` is refused
  through both doors (tests/test_bad_input.py), and a package that an earlier version
  recorded with `delivery: canary` still loads and updates.
- Terraform `removed` blocks for the old layout (module.namespace) are written only into
  roots migrated from it, by `copier update` (scaffold.migrate forget-terraform); a fresh
  copy has none (tests/test_ownership.py).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import copier
import pytest

from tests.helpers import git, mutable_copy, trust_source
from scaffold.answers import rules
from scaffold import migrate
from scaffold.validate import terraform as tfcheck
from scaffold.model.service import ServiceModel, answer_default
from scaffold.model.package import load_answers


@pytest.mark.fast
def test_rule_names_the_field_and_what_is_allowed():
    assert rules.check("delivery", "canary", {"blueprint": "worker"}) == (
        "delivery: 'canary' needs the service blueprint (an Argo Rollout analysed on HTTP SLOs); "
        "a worker is delivered rolling")
    assert rules.check("delivery", "rolling", {"blueprint": "cronjob"}) == ""
    assert rules.check("delivery", "canary", {"blueprint": "service"}) == ""


@pytest.mark.fast
@pytest.mark.parametrize("blueprint,expected", [("service", "canary"), ("worker", "rolling"), ("cronjob", "rolling")])
def test_default_follows_the_blueprint(blueprint, expected):
    assert answer_default("delivery", {"blueprint": blueprint}) == expected
    m = ServiceModel.from_answers({"service_name": "ledger", "blueprint": blueprint})
    assert m.delivery == expected and m.canary == (expected == "canary")


@pytest.mark.fast
def test_an_earlier_recorded_canary_worker_still_loads_as_what_is_generated():
    m = ServiceModel.from_answers({"service_name": "ledger", "blueprint": "worker", "delivery": "canary"})
    assert m.delivery == "rolling" and not m.canary


@pytest.mark.parametrize("blueprint", ["worker", "cronjob"])
def test_a_worker_records_no_canary(render, blueprint):
    pkg = render(skip_tasks=True, blueprint=blueprint)
    recorded = load_answers(pkg / ".copier-answers.yml")
    assert recorded.get("delivery", "rolling") == "rolling"
    assert not list(pkg.glob("k8s/**/rollout*.yaml"))


# What an environment root of the old layout declared (the module itself is long gone).
OLD_NAMESPACE_MODULE = 'module "namespace" {\n  source = "../../modules/namespace"\n}\n\n'


@pytest.mark.fast
def test_forget_terraform_writes_removed_tf_only_where_the_state_held_it(tmp_path):
    envs = tmp_path / "terraform" / "environments"
    for env, code in {"dev": OLD_NAMESPACE_MODULE + "locals {}\n", "prod": "locals {}\n",
                      "staging": migrate.removed_tf("module.namespace").split("removed {")[0] + "removed {\n  from = module.namespace\n}\n"}.items():
        (envs / env).mkdir(parents=True)
        (envs / env / "main.tf").write_text(code)
    assert migrate.forget_terraform("module.namespace", "terraform/environments", tmp_path)
    written = sorted(p.parent.name for p in envs.glob("*/removed.tf"))
    assert written == ["dev", "staging"]  # prod never held it
    blocks = tfcheck.parse(envs / "dev" / "removed.tf")["removed"]
    assert [(b["from"], b["lifecycle"][0]["destroy"]) for b in blocks] == [("${module.namespace}", False)]
    assert not migrate.forget_terraform("module.namespace", "terraform/environments", tmp_path)  # once
    assert not migrate.forget_terraform("module.namespace", "terraform/nowhere", tmp_path)


@pytest.fixture(scope="module")
def old_template(template_repo: Path, tmp_path_factory) -> Path:
    """v0.9.0: the template as it was, recording `delivery: canary` for a worker."""
    repo = tmp_path_factory.mktemp("tpl-delivery") / "scaffold"
    subprocess.run(["git", "clone", "-q", str(template_repo), str(repo)], check=True)
    trust_source(repo)
    conf = repo / "copier.yml"
    text = conf.read_text()
    new = text.replace("""  default: "{{ scaffold_default('delivery') }}"\n  when: "{{ blueprint == 'service' }}"\n""",
                       "  default: canary\n")
    assert new != text
    conf.write_text(new)
    ans = repo / "scaffold" / "answers" / "rules.py"
    ans.write_text(ans.read_text().replace('"delivery": _delivery,', '"delivery": _choice(DELIVERY),'))
    main = next((repo / "blueprints/package/terraform/environments").glob("*/main.tf.jinja"))
    main.write_text(OLD_NAMESPACE_MODULE + main.read_text())
    git(repo, "commit", "-qam", "v0.9.0: delivery asked of every blueprint; Terraform manages the namespace")
    git(repo, "tag", "v0.9.0")
    return repo


def test_update_from_the_old_layout(old_template: Path, render, tmp_path: Path):
    """A worker that v0.9.0 generated (the shared worker render, with the answers file and the
    Terraform roots as v0.9.0 wrote them: `delivery: canary`, module.namespace) updates to
    v1.0.0: the delivery answer is dropped (not asked of a worker), nothing about the workload
    changes, and each Terraform root gets a removed.tf that forgets the namespace module."""

    dest = mutable_copy(render(skip_tasks=True, blueprint="worker"), tmp_path, "payments-api")
    answers = dest / ".copier-answers.yml"
    text = answers.read_text()
    assert "delivery:" not in text
    text = text.replace("_commit: v1.0.0", "_commit: v0.9.0").replace("blueprint: worker", "blueprint: worker\ndelivery: canary")
    answers.write_text(text.replace(f"_src_path: {load_answers(answers)['_src_path']}", f"_src_path: {old_template}"))
    assert load_answers(answers)["delivery"] == "canary" and load_answers(answers)["_commit"] == "v0.9.0"
    roots = sorted((dest / "terraform" / "environments").iterdir())
    assert roots and not list(dest.rglob("removed.tf"))
    for root in roots:
        (root / "main.tf").write_text(OLD_NAMESPACE_MODULE + (root / "main.tf").read_text())
    before = {str(p.relative_to(dest)): p.read_text() for p in sorted((dest / "k8s").rglob("*.yaml"))}
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "generated by v0.9.0")
    copier.run_update(str(dest), defaults=True, overwrite=True, unsafe=True, quiet=True, vcs_ref="v1.0.0",
                      skip_tasks=True)
    recorded = load_answers(answers)
    assert recorded["_commit"] == "v1.0.0" and "delivery" not in recorded
    assert {str(p.relative_to(dest)): p.read_text() for p in sorted((dest / "k8s").rglob("*.yaml"))} == before
    assert not list(dest.rglob("*.rej")) and "<<<<<<<" not in answers.read_text()
    for root in roots:
        assert 'module "namespace"' not in (root / "main.tf").read_text()
        removed = [b for tf in sorted(root.glob("*.tf")) for b in tfcheck.parse(tf).get("removed", [])]
        assert [(b["from"], b["lifecycle"][0]["destroy"]) for b in removed] == [("${module.namespace}", False)]

"""Publisher tooling: the matrix self-test and the golden examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from typer.testing import CliRunner

from scaffold.publish import publisher as blueprint
from scaffold.cli import app

ROOT = Path(__file__).resolve().parent.parent


def test_matrix_runs_the_whole_spine_per_answer_set(template_repo, tmp_path):
    matrix = tmp_path / "matrix.yml"
    matrix.write_text(
        "- {name: node-gcp-flux, stack: node, cloud: gcp, gitops: flux, ingress: ingress}\n"
        "- {name: worker-dotnet-none, blueprint: worker, stack: dotnet, cloud: none, delivery: rolling}\n"
        "- {name: broken, replicas_min: 9, replicas_max: 2}\n"
    )
    result = CliRunner().invoke(app, ["blueprint", "test", "--matrix", str(matrix), "--template",
                                      str(template_repo), "--vcs-ref", "v1.0.0", "--format", "json"])
    import json

    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["node-gcp-flux"]["ok"], rows["node-gcp-flux"]
    assert rows["worker-dotnet-none"]["ok"], rows["worker-dotnet-none"]
    assert not rows["broken"]["ok"] and "replicas_max" in rows["broken"]["error"]
    assert result.exit_code == 1
    # progress, one plain line per answer set on stderr as each finishes (issue 20)
    assert result.stderr.splitlines() == ["blueprint test 1/3: node-gcp-flux: pass",
                                          "blueprint test 2/3: worker-dotnet-none: pass",
                                          "blueprint test 3/3: broken: fail"]


@pytest.mark.fast
def test_default_matrix_covers_every_choice():
    seen: dict[str, set] = {}
    for answers in blueprint.DEFAULT_MATRIX:
        for key in ("blueprint", "stack", "cloud", "gitops", "delivery", "ingress"):
            seen.setdefault(key, set()).add(answers.get(key, {"blueprint": "service", "stack": "python",
                                                              "cloud": "aws", "gitops": "argocd",
                                                              "delivery": "canary", "ingress": "gateway"}[key]))
    assert seen["blueprint"] == {"service", "worker", "cronjob"}
    assert seen["stack"] == {"python", "node", "go", "dotnet"}
    assert seen["cloud"] == {"aws", "gcp", "azure", "none"}
    assert seen["gitops"] == {"argocd", "flux"} and seen["delivery"] == {"canary", "rolling"}
    assert seen["ingress"] == {"gateway", "ingress", "none"}


def test_golden_examples_are_current(template_repo):
    stale = blueprint.stale_examples(str(template_repo), ROOT / "examples")
    assert stale == [], "run `make examples`:\n" + "\n".join(stale[:30])

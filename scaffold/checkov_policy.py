"""checkov policy: which frameworks and directories it scans, and every skipped
check with the reason it is skipped. Rendered into the package's `.checkov.yaml`.

Other areas extend FRAMEWORKS, DIRECTORIES and SKIPS (append; keep a reason).
"""

from __future__ import annotations

import io
from typing import Any, Callable

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

# Frameworks checkov runs (terraform, github_actions: appended by their areas).
FRAMEWORKS: list[str] = ["kubernetes", "kustomize"]
FRAMEWORKS.append("terraform")  # IaC area: terraform/ modules and environment roots
FRAMEWORKS.append("github_actions")  # workflows area: .github/workflows (CKV_GHA_*, CKV2_GHA_*)

# Package directories scanned, each when the package has it.
DIRECTORIES: list[tuple[str, Callable[[Any], bool]]] = [
    ("k8s", lambda m: True),
    ("terraform", lambda m: True),  # IaC area: every cloud, `none` included, ships terraform/
    (".github/workflows", lambda m: True),  # workflows area: ci, cd, security, blueprint-update
]

# (check_id, reason). checkov can only skip a check everywhere, so each reason
# says what enforces the property instead.
SKIPS: list[tuple[str, str]] = [
    ("CKV_K8S_14", "base manifests carry the bare image name by design; every overlay pins it by digest "
                   "(kustomize images:), and `scaffold validate` (kustomize checker) fails an overlay "
                   "whose image is not digest-pinned"),
    ("CKV_K8S_43", "same as CKV_K8S_14: the digest is set per overlay and by CD (`kustomize edit set image`), "
                   "never in base; the kustomize checker enforces it on every overlay build"),
]

# Decisions where linters disagree; written into .checkov.yaml so readers see them.
DECISIONS: list[tuple[str, str]] = [
    ("replicas", "the Deployment has no spec.replicas (kube-score's rule, not Polaris'): an HPA owns the "
                 "count, and a replicas field would reset it to a fixed number on every apply/sync; the "
                 "HPA's minReplicas (>= 2 in production) gives the floor Polaris asks for"),
]


def directories(m: Any) -> list[str]:
    return [d for d, applies in DIRECTORIES if applies(m)]


def skip_ids() -> list[str]:
    return [check for check, _ in SKIPS]


def config(m: Any) -> CommentedMap:
    """The .checkov.yaml mapping; each skip carries its reason as a comment."""
    cfg = CommentedMap()
    cfg["framework"] = list(FRAMEWORKS)
    cfg["directory"] = directories(m)
    skips = CommentedSeq(skip_ids())
    for i, (_, reason) in enumerate(SKIPS):
        skips.yaml_add_eol_comment(reason, i, column=0)
    cfg["skip-check"] = skips
    cfg["compact"] = True
    cfg["quiet"] = True
    cfg["skip-download"] = True  # offline: no Bridgecrew/Prisma guideline download
    return cfg


def render(m: Any) -> str:
    y = YAML()
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    buf = io.StringIO()
    buf.write("# checkov configuration: `checkov --config-file .checkov.yaml` from the package root.\n"
              "# Generated from scaffold/checkov_policy.py; every skipped check has its reason beside it.\n")
    for topic, why in DECISIONS:
        buf.write(f"# Decision ({topic}): {why}.\n")
    y.dump(config(m), buf)
    return buf.getvalue()

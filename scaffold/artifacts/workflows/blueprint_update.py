"""blueprint-update.yml: the scheduled `copier update` to the newest template release."""

from __future__ import annotations

import re
from typing import Any

from ...model.service import ServiceModel
from .pins import BOT_EMAIL, BOT_NAME, DEFAULT_BRANCH, TOOLS
from .steps import _spread, checkout, header, job, step


def update_cron(m: ServiceModel) -> str:
    return f"{_spread(m, 60)} {6 + _spread(m, 4)} * * 1"


# -- blueprint-update.yml -----------------------------------------------------
# The update runs template code (the template's generator and its backlog task),
# so: the source must be the one this package was generated from (baked in below,
# changed only by a reviewed update of this file), the tag is pinned to a commit
# once, and no token is in the environment of pip or copier. The read token only
# mirrors the template; the write token only pushes and opens the pull request.
_SOURCE = """
python - <<'PY'
import os, re, yaml
def norm(s):
    s = str(s).strip()
    for short, url in (("gh:", "https://github.com/"), ("gl:", "https://gitlab.com/"), ("git+", "")):
        if s.startswith(short):
            s = url + s[len(short):]
    s = s.rstrip("/")
    return s[:-4] if s.endswith(".git") else s
src = norm(yaml.safe_load(open(".copier-answers.yml"))["_src_path"])
trusted = [norm(t) for t in os.environ["TRUSTED_SOURCES"].split()]
if src not in trusted:
    allowed = " ".join(trusted) or "none: this package was generated from a local path"
    print(f"::error::_src_path {src!r} is not the trusted template source ({allowed}); refusing to run "
          "its code. Update from the published template URL to change the trusted source.")
    raise SystemExit(1)
with open(os.environ["GITHUB_OUTPUT"], "a") as out:
    out.write(f"src={src}\\n")
PY
"""

_GIT_AUTH = """
auth=$(printf 'x-access-token:%s' "$GH_TOKEN" | base64 -w0)
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0="http.https://github.com/.extraheader" GIT_CONFIG_VALUE_0="AUTHORIZATION: basic $auth"
"""

_MIRROR = _GIT_AUTH + """
mirror="$RUNNER_TEMP/template.git"
rm -rf "$mirror"
git clone --quiet --bare -- "$SOURCE" "$mirror"
# copier and pip read the template from the mirror from here on, without a token.
git config --global "url.file://$mirror.insteadOf" "$SOURCE"
python - "$mirror" <<'PY'
import os, subprocess, sys, yaml
from packaging.version import InvalidVersion, Version
def version(tag):
    try:
        return Version(tag)
    except InvalidVersion:
        return None
mirror = sys.argv[1]
tags = [t for t in subprocess.run(["git", "-C", mirror, "tag"], capture_output=True, text=True,
                                  check=True).stdout.split() if version(t) and not version(t).is_prerelease]
current = str(yaml.safe_load(open(".copier-answers.yml"))["_commit"])
with open(os.environ["GITHUB_OUTPUT"], "a") as out:
    if not tags:
        out.write("available=false\\n")
        raise SystemExit(0)
    latest = max(tags, key=version)
    behind = version(current) is None or version(latest) > version(current)
    sha = subprocess.run(["git", "-C", mirror, "rev-parse", "--verify", "--end-of-options", latest + "^{commit}"],
                         capture_output=True, text=True, check=True).stdout.strip()
    out.write(f"available={'true' if behind else 'false'}\\ntag={latest}\\nsha={sha}\\n")
    print(f"current {current}, latest {latest} at {sha}")
PY
"""

_INSTALL = """
python -m pip install --disable-pip-version-check "{dist} @ git+$SOURCE@$SHA"
"""

_UPDATE = """
branch="blueprint-update/$TAG"
git config user.name "$BOT_NAME"
git config user.email "$BOT_EMAIL"
git switch -c "$branch"
copier update --trust --defaults --vcs-ref "$SHA" --conflict inline
git add -A
conflicted=$(git diff --cached --name-only -z | xargs -0 -r grep -l -e '^<<<<<<< ' -- || true)
{
  echo "Automated \\`copier update\\` to $TAG, pinned to template commit \\`$SHA\\`."
  echo
  if [ -n "$conflicted" ]; then
    echo "**Conflicts to resolve** (inline markers); this pull request is a draft until they are resolved:"
    printf '%s\\n' "$conflicted" | sed 's/^/- /'
    echo
    echo "Resolve each file (keep the right side, delete the markers), run \\`scaffold validate .\\`, then mark it ready."
  else
    echo "No conflicts. Run \\`scaffold validate .\\` before merging."
  fi
} > "$RUNNER_TEMP/pr-body.md"
if git diff --cached --quiet; then echo "nothing changed"; echo "changed=false" >> "$GITHUB_OUTPUT"; exit 0; fi
git commit --quiet -m "chore: update the scaffold blueprint to $TAG" -m "Scaffold-Template-Commit: $SHA"
echo "changed=true" >> "$GITHUB_OUTPUT"
echo "branch=$branch" >> "$GITHUB_OUTPUT"
if [ -n "$conflicted" ]; then echo "conflicted=true" >> "$GITHUB_OUTPUT"; else echo "conflicted=false" >> "$GITHUB_OUTPUT"; fi
"""

_PUSH = _GIT_AUTH + """
if git ls-remote --exit-code --heads origin "$BRANCH_NAME" > /dev/null; then
  echo "$BRANCH_NAME already exists: its pull request is pending"; exit 0
fi
git push --quiet origin "HEAD:refs/heads/$BRANCH_NAME"
title="Update the scaffold blueprint to $TAG"
draft=()
# Conflicted: a draft (it cannot merge before someone resolves the markers and marks it ready).
if [ "$CONFLICTED" = "true" ]; then title="[conflicts] $title"; draft=(--draft); fi
gh pr create "${draft[@]}" --base "$BASE" --head "$BRANCH_NAME" --title "$title" --body-file "$RUNNER_TEMP/pr-body.md"
"""

def remote_source(source: str | None) -> str | None:
    """``source`` as the workflow's git URL, or None for a local path (which a
    runner cannot reach, and which must not be baked into the output)."""
    if not source:
        return None
    s = str(source).strip()
    for short, url in (("gh:", "https://github.com/"), ("gl:", "https://gitlab.com/"), ("git+", "")):
        if s.startswith(short):
            s = url + s[len(short):]
    if not re.match(r"^(https?|ssh|git|file)://|^[\w.-]+@[\w.-]+:", s):
        return None
    s = s.rstrip("/")
    return s[:-4] if s.endswith(".git") else s


UPDATE_TOKEN_SECRET = "BLUEPRINT_UPDATE_TOKEN"
TEMPLATE_TOKEN_SECRET = "BLUEPRINT_TEMPLATE_TOKEN"
DIST_NAME = "scaffold-blueprints"


def blueprint_update(m: ServiceModel, source: str | None = None) -> dict[str, Any]:
    """``source``: the template source this package was generated from, the only one
    the workflow will run."""
    trusted = remote_source(source) or ""
    out = "${{ steps.%s.outputs.%s }}"
    pinned = {"SOURCE": out % ("source", "src"), "TAG": out % ("check", "tag"), "SHA": out % ("check", "sha")}
    steps = [
        checkout(fetch_depth=0),
        step("Set up Python", uses_="actions/setup-python", with_={"python-version": "3.13"}),
        step("Install copier", run=f"python -m pip install --disable-pip-version-check copier=={TOOLS['copier']}"),
        step("Template source (trusted only)", id_="source", env={"TRUSTED_SOURCES": trusted}, run=_SOURCE),
        step("Mirror the template and pin the newest tag", id_="check",
             env={"GH_TOKEN": "${{ secrets.%s || github.token }}" % TEMPLATE_TOKEN_SECRET,
                  "SOURCE": pinned["SOURCE"]}, run=_MIRROR),
        step("Install scaffold's loader at that commit", if_="steps.check.outputs.available == 'true'",
             env=pinned, run=_INSTALL.format(dist=DIST_NAME)),
        step("Update and commit", id_="update", if_="steps.check.outputs.available == 'true'",
             env={**pinned, "BOT_NAME": BOT_NAME, "BOT_EMAIL": BOT_EMAIL}, run=_UPDATE),
        step("Push and open a pull request", if_="steps.update.outputs.changed == 'true'",
             env={"GH_TOKEN": "${{ secrets.%s }}" % UPDATE_TOKEN_SECRET, "BASE": DEFAULT_BRANCH,
                  "TAG": pinned["TAG"], "BRANCH_NAME": out % ("update", "branch"),
                  "CONFLICTED": out % ("update", "conflicted")}, run=_PUSH),
    ]
    jobs = {"update": job("copier update", {"contents": "read"}, steps,
                          environment={"name": "blueprint-update"})}
    on = {"schedule": [{"cron": update_cron(m)}], "workflow_dispatch": None}
    return header("Blueprint update", on, "blueprint-update", False, jobs)

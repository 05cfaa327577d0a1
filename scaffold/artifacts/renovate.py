"""Renovate config for the generated package: Renovate's `copier` manager reads
`.copier-answers.yml` (`_src_path`, `_commit`), finds newer template tags through
its git-tags datasource and opens a pull request running `copier update`.

That is how a platform team that already runs Renovate over hundreds of
repositories rolls a blueprint out: one grouped, labelled PR per service,
on Renovate's schedule and rate limits (see README, "Rolling out with Renovate").
"""

from __future__ import annotations

import json
from typing import Any

from ..model.service import ServiceModel

SCHEMA_URL = "https://docs.renovatebot.com/renovate-schema.json"
LABEL = "scaffold-update"


def config(m: ServiceModel) -> dict[str, Any]:
    return {
        "$schema": SCHEMA_URL,
        "copier": {"enabled": True},
        "packageRules": [
            {
                "description": "The scaffold blueprint: one pull request per new template tag, with copier update applied",
                "matchManagers": ["copier"],
                "matchDepTypes": ["template"],
                "groupName": "scaffold blueprint",
                "commitMessageTopic": "scaffold blueprint",
                "labels": [LABEL, f"team:{m.team}"],
                # copier update runs the backlog hook and the after-update pass only with --trust,
                # which Renovate passes when the admin allows scripts and the repo does not ignore them.
                "ignoreScripts": False,
                "prBodyNotes": [
                    "Files with conflict markers (`<<<<<<< before updating`) and `*.scaffold-kept` files "
                    "(the team's version of an edited file this update deleted) need a review before merging; "
                    "`scaffold check .` lists them.",
                ],
            }
        ],
    }


def render(m: ServiceModel) -> str:
    return json.dumps(config(m), indent=2, ensure_ascii=False) + "\n"

"""Migration steps for Copier ``_migrations``: ``python -m scaffold.migrate OP ARGS``.

Run in the project during ``copier update`` (stage ``before``: after Copier has
rendered the old version, before it diffs), so a moved file or renamed answer
carries the team's local edits to its new place.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

ANSWERS = Path(".copier-answers.yml")


def rename_answer(old: str, new: str, root: Path = Path(".")) -> bool:
    """Rename a recorded answer, keeping the file's comments and order."""
    yaml = YAML()  # round-trip
    path = root / ANSWERS
    data = yaml.load(path.read_text(encoding="utf-8"))
    if old not in data or new in data:
        return False
    data.insert(list(data).index(old), new, data.pop(old))
    with path.open("w", encoding="utf-8") as f:
        yaml.dump(data, f)
    return True


def move(src: str, dst: str, root: Path = Path(".")) -> bool:
    """Move a generated file the team may have edited; a missing file stays missing."""
    source, target = root / src, root / dst
    if not source.exists() or target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    in_git = subprocess.run(["git", "ls-files", "--error-unmatch", "--", src], cwd=root, capture_output=True).returncode == 0
    if in_git:
        subprocess.run(["git", "mv", "--", src, dst], cwd=root, check=True, capture_output=True)
    else:
        shutil.move(str(source), str(target))
    return True


REMOVED_FILE = "removed.tf"


def removed_tf(address: str) -> str:
    """A Terraform file that makes an existing state forget, never destroy, ``address``."""
    return (f"# Written by `copier update` (scaffold.migrate forget-terraform): this root's state was\n"
            f"# created by a blueprint version whose Terraform managed {address}, which Terraform\n"
            "# no longer manages (the namespace, its ResourceQuota and LimitRange belong to GitOps).\n"
            "# The next `terraform plan` lists its objects as \"will no longer be managed by Terraform\"\n"
            "# and `apply` drops them from the state without deleting anything (Terraform >= 1.7).\n"
            "# Read the plan first: it must show no destroy. `terraform init` still fetches the\n"
            "# providers the old state references. Once every environment has applied,\n"
            "# delete this file: it is the team's, not generated, and a new service never has it.\n\n"
            f"removed {{\n  from = {address}\n\n  lifecycle {{\n    destroy = false\n  }}\n}}\n")


def _declares(text: str, address: str) -> bool:
    """The root declares ``address`` (``module.x`` or ``type.name``), or already forgets it."""
    parts = address.split(".")
    if parts[0] == "module" and len(parts) == 2:
        block = rf'^\s*module\s+"{re.escape(parts[1])}"\s*\{{'
    elif len(parts) == 2:
        block = rf'^\s*resource\s+"{re.escape(parts[0])}"\s+"{re.escape(parts[1])}"\s*\{{'
    else:
        raise ValueError(f"forget-terraform: {address!r} is not module.<name> or <type>.<name>")
    forgets = rf"^\s*from\s*=\s*{re.escape(address)}\s*$"
    return bool(re.search(block, text, re.M) or re.search(forgets, text, re.M))


def forget_terraform(address: str, roots: str, root: Path = Path(".")) -> bool:
    """In each Terraform root under ``roots`` whose code (as the old version generated it)
    still declares ``address``, write removed.tf, so the state forgets it instead of
    destroying it once the update drops the declaration. A root that never held it (a
    service generated after the move) gets nothing."""
    base = root / roots
    done = False
    for env in sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []:
        target = env / REMOVED_FILE
        if target.exists():
            continue
        code = "\n".join(tf.read_text(encoding="utf-8") for tf in sorted(env.glob("*.tf")))
        if _declares(code, address):
            target.write_text(removed_tf(address), encoding="utf-8")
            done = True
    return done


OPS = {"rename-answer": rename_answer, "move": move, "forget-terraform": forget_terraform}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in OPS:
        sys.stderr.write(f"usage: python -m scaffold.migrate {{{'|'.join(OPS)}}} OLD NEW"
                         f" (forget-terraform ADDRESS ROOTS_DIR); this scaffold-blueprints knows {', '.join(OPS)}:"
                         " upgrade it if the template names another\n")
        return 2
    done = OPS[argv[0]](argv[1], argv[2])
    if not done and argv[0] == "forget-terraform":
        return 0  # runs on every update; silent where there is nothing to forget
    print(f"scaffold.migrate {argv[0]} {argv[1]} -> {argv[2]}: {'done' if done else 'nothing to do'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

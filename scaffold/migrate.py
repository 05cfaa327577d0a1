"""Migration steps for Copier ``_migrations``: ``python -m scaffold.migrate OP ARGS``.

Run in the project during ``copier update`` (stage ``before``: after Copier has
rendered the old version, before it diffs), so a moved file or renamed answer
carries the team's local edits to its new place.
"""

from __future__ import annotations

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


OPS = {"rename-answer": rename_answer, "move": move}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in OPS:
        sys.stderr.write(f"usage: python -m scaffold.migrate {{{'|'.join(OPS)}}} OLD NEW\n")
        return 2
    done = OPS[argv[0]](argv[1], argv[2])
    print(f"scaffold.migrate {argv[0]} {argv[1]} -> {argv[2]}: {'done' if done else 'nothing to do'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

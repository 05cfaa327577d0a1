"""`copier copy --defaults` of the full package vs a 1-file copier template
(same CLI, same machine, alternated); then `scaffold validate` on the result.
Goal: copy ratio <= 1.5."""

from __future__ import annotations

import subprocess
import sys

from _common import alternate, copier_copy, report, snapshot, tmpdir

RUNS = 5


def one_file_template(dest):
    dest.mkdir(parents=True)
    (dest / "copier.yml").write_text("name:\n  type: str\n  default: demo\n")
    (dest / "README.md.jinja").write_text("# {{ name }}\n")
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "t"]):
        subprocess.run(["git", *args], cwd=dest, check=True)
    return dest


def main() -> None:
    work = tmpdir()
    full = snapshot(work / "scaffold")
    tiny = one_file_template(work / "tiny")
    times = alternate(
        RUNS,
        **{"1-file template": lambda i: copier_copy(tiny, work / "out-tiny" / "svc"),
           "scaffold package (defaults)": lambda i: copier_copy(full, work / "out-full" / "payments-api")},
    )
    report("copier copy --defaults", times, "1-file template", "ratio <= 1.5")
    pkg = work / "out-full" / "payments-api"
    files = sum(1 for p in pkg.rglob("*") if p.is_file())
    print(f"  package files: {files}")
    vt = alternate(3, **{"scaffold validate": lambda i: subprocess.run(
        [sys.executable, "-m", "scaffold", "validate", str(pkg)], capture_output=True)})
    report("scaffold validate (default package, checkov excluded)", {**vt, "copy (full)": times["scaffold package (defaults)"]},
           "copy (full)")


if __name__ == "__main__":
    main()

"""`copier copy --defaults` of the full package vs Copier's floor: a Copier template that
holds the same files as the default package as plain files (the rendered output itself,
no `.jinja` suffix, nothing to render, no hook), same CLI, alternated. Goal: <= 1.3x.
The 1-file template stays as a second figure; the gap to it is Copier's cost per file,
measured here too (its `git config` subprocess per rendered file, in
`Worker._sync_git_index_executable_bit`).

    .venv/bin/python benchmarks/copy_package.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time

from _common import save, alternate, copier_copy, report, snapshot, tmpdir


def one_file_template(dest):
    dest.mkdir(parents=True)
    (dest / "copier.yml").write_text("name:\n  type: str\n  default: demo\n")
    (dest / "README.md.jinja").write_text("# {{ name }}\n")
    _commit(dest)
    return dest


def plain_files_template(rendered, dest):
    """The rendered package as a template of plain files: Copier copies each as it is."""
    shutil.copytree(rendered, dest, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    answers = dest / ".copier-answers.yml"
    if answers.exists():
        answers.unlink()  # Copier writes its own
    (dest / "copier.yml").write_text("_templates_suffix: .jinja\nname:\n  type: str\n  default: demo\n")
    _commit(dest)
    return dest


def _commit(dest):
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "t"]):
        subprocess.run(["git", *args], cwd=dest, check=True)


def git_cost_per_file(template, dest) -> tuple[int, float, float]:
    """(files, seconds in Copier's per-file git sync, whole copy seconds), one in-process copy."""
    import warnings

    import copier
    from copier import _main

    calls = [0, 0.0]
    original = _main.Worker._sync_git_index_executable_bit

    def timed(self, *a, **k):
        start = time.perf_counter()
        try:
            return original(self, *a, **k)
        finally:
            calls[0] += 1
            calls[1] += time.perf_counter() - start

    _main.Worker._sync_git_index_executable_bit = timed
    try:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            copier.run_copy(str(template), str(dest), defaults=True, unsafe=True, quiet=True, vcs_ref="HEAD")
        total = time.perf_counter() - start
    finally:
        _main.Worker._sync_git_index_executable_bit = original
    return calls[0], calls[1], total


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    work = tmpdir()
    full = snapshot(work / "scaffold")
    tiny = one_file_template(work / "tiny")
    pkg = work / "out-full" / "payments-api"
    copier_copy(full, pkg)
    files = sum(1 for p in pkg.rglob("*") if p.is_file() and ".git" not in p.parts)
    plain = plain_files_template(pkg, work / "plain")
    times = alternate(
        args.runs,
        **{f"plain files ({files}, floor)": lambda i: copier_copy(plain, work / "out-plain" / "payments-api"),
           "1-file template": lambda i: copier_copy(tiny, work / "out-tiny" / "svc"),
           "scaffold package (defaults)": lambda i: copier_copy(full, work / "out-full" / "payments-api")},
    )
    base = f"plain files ({files}, floor)"
    ratio = report("copier copy --defaults (hook included)", times, base, "ratio <= 1.3 against the plain files")
    import statistics

    med = {k: statistics.median(v) for k, v in times.items()}
    vs_tiny = med["scaffold package (defaults)"] / med["1-file template"]
    print(f"  scaffold package vs 1-file template: {vs_tiny:.2f}x")
    n, git_s, total = git_cost_per_file(plain, work / "git-cost" / "payments-api")
    print(f"  Copier's per-file git sync (plain files, in-process): {n} calls, {git_s:.2f} s "
          f"= {git_s / max(n, 1) * 1000:.1f} ms per file, {git_s / total:.0%} of that copy ({total:.2f} s)")
    return {"copy_ratio": ratio, "copy_s": med["scaffold package (defaults)"], "plain_s": med[base],
            "tiny_s": med["1-file template"], "vs_tiny": vs_tiny, "files": files, "git_calls": n, "git_s": git_s,
            "git_share": git_s / total}


if __name__ == "__main__":
    save("copy_package", main())

"""`scaffold validate` (checkov excluded, the default set) vs the same tools run by hand,
alternated in one run (goal: validate <= 0.6x); then validate's growth with environments
and SLOs (1 vs 4 environments, default vs +N SLOs; goal: linear).

    .venv/bin/python benchmarks/validate_tools.py [--runs N] [--slos N] [--scale-runs N] [--no-scale]

The by-hand baseline is the plain script a user would write instead: each real tool
`scaffold validate` runs, one after another, its command-line entry point once per file
or folder, as its docs show:
  - kubernetes-validate --strict, per manifest in k8s/base and per overlay build, per
    Kubernetes version the package targets;
  - kubectl kustomize, per overlay;
  - the CRD validators, per file (and per overlay build) holding custom resources: one
    `node tools/crd-validate.mjs` (ajv, @kubernetes-models) and one Python process for
    the cloudcoil pydantic models (Velero, Flux);
  - promtool check rules per rule file (plain, the PrometheusRule and each overlay's rules
    unwrapped, the dashboard queries), promtool test rules per test file;
  - amtool check-config, amtool config routes test per route case;
  - actionlint once over the workflows, zizmor once over the package,
    check-jsonschema per workflow, hadolint per Dockerfile, `backlog task list`.
Files a user would have to derive (unwrapped rules, CRD objects as JSON, dashboard
queries) are prepared before the clock starts: the baseline is charged for tools only.
Not in it (nor in validate's default set): checkov and terraform (`--all`: terraform-cli
is a slow checker); the scaffold-only checks (wiring, runbooks, coverage) are validate's
extra work.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from _common import save, ROOT, alternate, copier_copy, report, snapshot, tmpdir

sys.path.insert(0, str(ROOT))

from scaffold import tools, yamlio  # noqa: E402
from scaffold.validate import crd_schemas  # noqa: E402
from scaffold.model.package import Package  # noqa: E402
from scaffold.validate import alertmanager as am  # noqa: E402
from scaffold.validate import crds, grafana, kubernetes, prometheus, workflows  # noqa: E402

PY_VALIDATE = """
import json, sys
from scaffold.validate import crd_schemas
objs = json.load(open(sys.argv[1]))
errs = crd_schemas.validate(objs)
sys.exit(1 if any(errs) else 0)
"""


def by_hand(pkg_dir: Path, work: Path) -> list[tuple[list[str], Path]]:
    """The commands (argv, cwd) of the by-hand script for one package."""
    pkg = Package.load(pkg_dir)
    work.mkdir(parents=True, exist_ok=True)
    cmds: list[tuple[list[str], Path]] = []
    kv = str(Path(sys.executable).parent / "kubernetes-validate")
    versions = kubernetes.versions_for(pkg)
    kubectl = tools.require("kubectl")
    overlays = sorted(p for p in (pkg_dir / "k8s/overlays").glob("*") if (p / "kustomization.yaml").is_file())
    builds = {}
    for ov in overlays:
        out = work / f"build-{ov.name}.yaml"
        out.write_text(tools.run("kubectl", "kustomize", str(ov)).stdout)
        builds[ov.name] = out
        cmds.append(([kubectl, "kustomize", str(ov)], pkg_dir))
    for manifest in sorted((pkg_dir / "k8s/base").glob("*.yaml")):
        if manifest.name != "kustomization.yaml":
            cmds += [([kv, "--strict", "--quiet", "-k", v, str(manifest)], pkg_dir) for v in versions]
    for out in builds.values():
        cmds += [([kv, "--strict", "--quiet", "-k", v, str(out)], pkg_dir) for v in versions]
    # CRD objects, per file they come from
    sources: dict[str, list[dict]] = {}
    files = [p for g in crds.FILE_GLOBS for p in pkg.files(g)]
    for path in dict.fromkeys(files):
        sources[pkg.rel(path)] = yamlio.load_all(path.read_text(encoding="utf-8"))
    for name, out in builds.items():
        sources[f"build-{name}"] = yamlio.load_all(out.read_text(encoding="utf-8"))
    node = tools.require("node")
    for i, (origin, docs) in enumerate(sources.items()):
        known = [d for d in docs if isinstance(d, dict) and crd_schemas.source_for(d.get("apiVersion"), d.get("kind"))]
        npm = [d for d in known if crd_schemas.source_for(d["apiVersion"], d["kind"]).engine == "npm"]
        pypi = [d for d in known if crd_schemas.source_for(d["apiVersion"], d["kind"]).engine == "pypi"]
        if npm:
            payload = work / f"crd-{i}.json"
            payload.write_text(json.dumps([{"schema": crd_schemas.source_for(d["apiVersion"], d["kind"]).ref,
                                            "object": d} for d in npm], default=str))
            cmds.append((["sh", "-c", 'exec "$0" "$1" < "$2"', node, str(crd_schemas.NODE_SCRIPT), str(payload)],
                         crd_schemas.TOOLS_DIR))
        if pypi:
            payload = work / f"crd-py-{i}.json"
            payload.write_text(json.dumps(pypi, default=str))
            cmds.append(([sys.executable, "-c", PY_VALIDATE, str(payload)], ROOT))
    promtool = tools.require("promtool")
    for path in pkg.files(prometheus.RULES_GLOB):
        cmds.append(([promtool, "check", "rules", str(path)], pkg_dir))
    for i, (_, doc) in enumerate(prometheus.prometheus_rules(pkg)):
        unwrapped = work / f"prometheusrule-{i}.yaml"
        unwrapped.write_text(yamlio.dump({"groups": (doc.get("spec") or {}).get("groups")}))
        cmds.append(([promtool, "check", "rules", str(unwrapped)], pkg_dir))
    for i, (_, groups) in enumerate(prometheus.overlay_rule_patches(pkg)):
        scoped = work / f"overlay-{i}.yaml"
        scoped.write_text(yamlio.dump({"groups": groups}))
        cmds.append(([promtool, "check", "rules", str(scoped)], pkg_dir))
    for i, path in enumerate(pkg.files(f"{grafana.DASHBOARDS}/*.json")):  # each dashboard's queries
        named, _ = grafana.queries(json.loads(path.read_text(encoding="utf-8")))
        qfile = work / f"queries-{i}.rules.yaml"
        qfile.write_text(yamlio.dump({"groups": [{"name": "q", "rules": [
            {"record": f"dashboard:q{n}:query", "expr": q.expr} for n, q in enumerate(named)]}]}))
        cmds.append(([promtool, "check", "rules", str(qfile)], pkg_dir))
    for path in pkg.files(prometheus.TESTS_GLOB):
        cmds.append(([promtool, "test", "rules", path.name], path.parent))
    amtool = tools.require("amtool")
    config = pkg_dir / am.CONFIG
    if config.is_file():
        cmds.append(([amtool, "check-config", str(config)], pkg_dir))
        for case in (yamlio.load_file(pkg_dir / am.ROUTE_TESTS) or {}).get("tests") or []:
            cmds.append(([amtool, "config", "routes", "test", f"--config.file={config}",
                          f"--verify.receivers={','.join(case['receivers'])}", *am.label_args(case["labels"])], pkg_dir))
    cmds.append(([tools.require("actionlint"), "-shellcheck", tools.require("shellcheck"),  # no git repo to find them
                  *map(str, workflows.workflow_files(pkg))], pkg_dir))
    zconfig = pkg_dir / ".github" / "zizmor.yml"
    cmds.append(([tools.require("zizmor"), "--offline", *(["--config", str(zconfig)] if zconfig.is_file() else []),
                  str(pkg_dir)], pkg_dir))
    cj = tools.require("check-jsonschema")
    for wf in workflows.workflow_files(pkg):
        cmds.append(([cj, "--builtin-schema", "vendor.github-workflows", str(wf)], pkg_dir))
    for dockerfile in sorted(pkg_dir.glob("**/Dockerfile")):
        cmds.append(([tools.require("hadolint"), str(dockerfile)], pkg_dir))
    if (pkg_dir / "backlog").is_dir():
        cmds.append(([tools.require("backlog"), "task", "list", "--plain"], pkg_dir))
    return cmds


def run_cmds(cmds: list[tuple[list[str], Path]]) -> None:
    """Every command must pass on the valid package: one that crashes early (a wrong import,
    a missing file) would make the baseline look cheaper than the work it stands for."""
    env = {**os.environ, "NO_COLOR": "1"}
    for argv, cwd in cmds:
        res = subprocess.run(argv, cwd=cwd, capture_output=True, env=env, text=True)
        if res.returncode != 0:
            raise SystemExit(f"by-hand command failed ({res.returncode}): {' '.join(argv)}\n"
                             f"{res.stdout[-1500:]}{res.stderr[-1500:]}")


def validate(pkg: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "scaffold", "validate", "-q", "--format", "json", str(pkg)],
                         capture_output=True, text=True, cwd=ROOT)
    if res.returncode != 0:
        raise SystemExit(f"scaffold validate failed on {pkg}:\n{res.stdout[-3000:]}{res.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--slos", type=int, default=20, help="extra SLOs for the growth figure")
    ap.add_argument("--no-scale", action="store_true", help="skip the environments/SLOs growth figures")
    ap.add_argument("--scale-runs", type=int, default=3)
    args = ap.parse_args(argv)
    work = tmpdir()
    src = snapshot(work / "scaffold")
    pkg = work / "default" / "payments-api"
    copier_copy(src, pkg)
    cmds = by_hand(pkg, work / "by-hand")
    validate(pkg)  # warm the file cache and the loader's copy alike
    times = alternate(args.runs, **{"tools by hand (script)": lambda i: run_cmds(cmds),
                                    "scaffold validate": lambda i: validate(pkg)})
    ratio = report(f"scaffold validate vs the tools run by hand ({len(cmds)} commands), checkov and terraform "
                   "excluded", times, "tools by hand (script)", "ratio <= 0.6")
    out = {"validate_ratio": ratio, "validate_s": _med(times["scaffold validate"]),
           "by_hand_s": _med(times["tools by hand (script)"]), "commands": len(cmds)}
    if args.no_scale:
        return out
    from slo_scale import extra_slos

    cases = {"default (3 envs, 2 SLOs)": pkg}
    one = work / "one-env" / "payments-api"
    copier_copy(src, one, "--data", "environments=[prod]")
    four = work / "four-env" / "payments-api"
    copier_copy(src, four, "--data", "environments=[dev, qa, staging, prod]")
    many = work / "slos" / "payments-api"
    copier_copy(src, many, "--data", f"slos={json.dumps(extra_slos(args.slos))}")
    cases.update({"1 environment": one, "4 environments": four, f"+{args.slos} SLOs": many})
    for p in cases.values():
        validate(p)
    scale = alternate(args.scale_runs, **{name: (lambda i, p=p: validate(p)) for name, p in cases.items()})
    report("scaffold validate growth (environments, SLOs)", scale, "default (3 envs, 2 SLOs)",
           "linear: per environment and per SLO")
    out.update({name: _med(s) for name, s in scale.items()})
    return out


def _med(samples: list[float]) -> float:
    import statistics

    return statistics.median(samples)


if __name__ == "__main__":
    save("validate_tools", main())

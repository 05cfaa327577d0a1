"""The generated Renovate config is valid for the schema npm `renovate` ships,
and Renovate's own copier manager (its extract step) finds the template source
and version in a generated package.

Renovate is ~320 MB of node_modules, so it is not in tools/package.json: this
test installs the version pinned in tools/renovate/package.json there on first use.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT, require_tool
from scaffold import tools, yamlio

RENOVATE_DIR = ROOT / "tools" / "renovate"
# Renovate wants Node >= 24; its dependencies use the ES2025 Set methods, the only gap
# for the manager modules on older Node. The polyfill below fills just that gap.
EXTRACT = """
const S = Set.prototype;
S.union ??= function (o) { const r = new Set(this); for (const v of o.keys()) r.add(v); return r; };
S.intersection ??= function (o) { return new Set([...this].filter((v) => o.has(v))); };
S.difference ??= function (o) { return new Set([...this].filter((v) => !o.has(v))); };
S.symmetricDifference ??= function (o) { const r = new Set(this); for (const v of o.keys()) r.has(v) ? r.delete(v) : r.add(v); return r; };
S.isSubsetOf ??= function (o) { return [...this].every((v) => o.has(v)); };
S.isSupersetOf ??= function (o) { return [...o.keys()].every((v) => this.has(v)); };
S.isDisjointFrom ??= function (o) { return [...this].every((v) => !o.has(v)); };
const fs = await import("node:fs");
const [file] = process.argv.slice(2);
const { extractPackageFile } = await import("renovate/dist/modules/manager/copier/extract.js");
const { defaultConfig } = await import("renovate/dist/modules/manager/copier/index.js");
const patterns = defaultConfig.managerFilePatterns.map((p) => new RegExp(p.slice(1, p.lastIndexOf("/"))));
process.stdout.write(JSON.stringify({
  matched: patterns.some((re) => re.test(".copier-answers.yml")),
  result: extractPackageFile(fs.readFileSync(file, "utf8"), ".copier-answers.yml"),
}));
"""


@pytest.fixture(scope="module")
def renovate() -> Path:
    pkg = RENOVATE_DIR / "node_modules" / "renovate"
    if not (pkg / "renovate-schema.json").is_file():
        npm = require_tool("npm")
        proc = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--omit=optional",
                               "--no-package-lock"], cwd=RENOVATE_DIR, capture_output=True, text=True)
        if proc.returncode:
            msg = f"npm install renovate failed: {proc.stderr.strip().splitlines()[-1:]}"
            if tools.in_ci():
                pytest.fail(msg)
            pytest.skip(msg)
    return pkg


def test_renovate_config_passes_renovates_own_schema(render, renovate, tmp_path):
    require_tool("check-jsonschema")
    config = render() / ".github" / "renovate.json"
    schema = renovate / "renovate-schema.json"
    ok = tools.run("check-jsonschema", "--schemafile", str(schema), str(config))
    assert ok.returncode == 0, ok.output[-2000:]
    data = json.loads(config.read_text())
    assert data["packageRules"][0]["matchManagers"] == ["copier"]
    # The check can fail: the same schema refuses a wrong type.
    bad = tmp_path / "renovate.json"
    bad.write_text(json.dumps({**data, "ignoreScripts": "no"}))
    assert tools.run("check-jsonschema", "--schemafile", str(schema), str(bad)).returncode == 1


def test_renovates_copier_manager_finds_the_template_and_version(template_repo, renovate, tmp_path):
    import warnings

    import copier

    node = require_tool("node")
    # Generated from a git URL, as a fleet's services are (Renovate needs a URL source).
    pkg = tmp_path / "payments-api"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_copy(f"git+file://{template_repo}", str(pkg), defaults=True, unsafe=True, quiet=True,
                        vcs_ref="v1.0.0", skip_tasks=True)
    script = tmp_path / "extract.mjs"
    script.write_text(EXTRACT)
    shutil.copy(script, RENOVATE_DIR / ".extract-test.mjs")  # resolve `renovate` from tools/renovate
    try:
        proc = subprocess.run([node, str(RENOVATE_DIR / ".extract-test.mjs"), str(pkg / ".copier-answers.yml")],
                              capture_output=True, text=True, timeout=300)
    finally:
        (RENOVATE_DIR / ".extract-test.mjs").unlink(missing_ok=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    answers = yamlio.load_file(pkg / ".copier-answers.yml")
    assert out["matched"] is True
    assert answers["_src_path"] == f"git+file://{template_repo}"
    assert out["result"]["deps"] == [{
        "datasource": "git-tags", "depName": f"git+file://{template_repo}", "packageName": f"file://{template_repo}",
        "depType": "template", "currentValue": "v1.0.0",
    }]

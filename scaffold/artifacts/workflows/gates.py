"""The per-stack table: the security gates (CodeQL, SAST, SCA; SARIF out, fail on
high/critical) beside the toolchain that scaffold.model.stacks owns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from ...model import stacks
from ...model.service import ServiceModel
from .pins import TOOLS
from .steps import step


# -- stacks -------------------------------------------------------------------
# Toolchain, cache key, install, lint and test come from scaffold.stacks (the app
# skeleton's owner); the security gates (SARIF out, fail on high/critical) are here.
@dataclass(frozen=True)
class Stack:
    name: str
    codeql_language: str
    codeql_build_mode: str
    sast_tool: str
    sast: str  # writes sast.sarif in APP_DIR and exits non-zero on high/critical findings
    sca_tool: str
    sca: str  # exits non-zero on known (high/critical) vulnerabilities
    build: str = ""

    @property
    def commands(self) -> dict[str, Any]:
        return stacks.COMMANDS[self.name]

    def setup(self) -> list[CommentedMap]:
        """Toolchain with dependency caching keyed on the app's lockfiles."""
        c = self.commands
        if self.name == "python":
            return [step("Set up Python", uses_="actions/setup-python",
                         with_={"python-version": c["toolchain"], "cache": "pip", "cache-dependency-path": c["cache"]})]
        if self.name == "node":
            return [step("Set up Node.js", uses_="actions/setup-node",
                         with_={"node-version": c["toolchain"], "cache": "npm", "cache-dependency-path": c["cache"]})]
        if self.name == "go":
            return [step("Set up Go", uses_="actions/setup-go",
                         with_={"go-version": c["toolchain"], "cache": True, "cache-dependency-path": c["cache"]})]
        return [
            step("Set up .NET", uses_="actions/setup-dotnet", with_={"dotnet-version": c["toolchain"]}),
            step("Cache NuGet packages", uses_="actions/cache",
                 with_={"path": "~/.nuget/packages",
                        "key": "nuget-${{ runner.os }}-${{ hashFiles('" + c["cache"] + "') }}",
                        "restore-keys": "nuget-${{ runner.os }}-"}),
        ]


_ESLINT_SARIF = """
import json, os
report = json.load(open("eslint.json"))
root = os.environ["GITHUB_WORKSPACE"]
results = [
    {"ruleId": msg.get("ruleId") or "eslint", "level": "error" if msg["severity"] == 2 else "warning",
     "message": {"text": msg["message"]},
     "locations": [{"physicalLocation": {
         "artifactLocation": {"uri": os.path.relpath(f["filePath"], root)},
         "region": {"startLine": msg.get("line") or 1, "startColumn": msg.get("column") or 1}}}]}
    for f in report for msg in f["messages"]
]
sarif = {"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
         "runs": [{"tool": {"driver": {"name": "ESLint", "informationUri": "https://eslint.org"}},
                   "results": results}]}
json.dump(sarif, open("sast.sarif", "w"), indent=1)
"""

# bandit and pip-audit with their whole closure pinned by hash, in a venv of their own
# (not the app's environment pip-audit judges). The lock is scaffold/data/security-tools.txt.
SECURITY_TOOLS_LOCK = ".github/requirements-security-tools.txt"
_PY_TOOLS_VENV = ('python -m venv "$RUNNER_TEMP/sectools"\n'
                  '"$RUNNER_TEMP/sectools/bin/python" -m pip install --disable-pip-version-check --require-hashes '
                  f'-r "$GITHUB_WORKSPACE/{SECURITY_TOOLS_LOCK}"\n')


def security_tools_lock() -> str:
    return (Path(__file__).parent.parent.parent / "data" / "security-tools.txt").read_text()


_DOTNET_ANALYZERS = "-p:EnableNETAnalyzers=true -p:AnalysisLevel=latest-recommended -warnaserror"

STACKS: dict[str, Stack] = {
    "python": Stack(
        name="python", codeql_language="python", codeql_build_mode="none",
        build="python -m compileall -q -x '(^|/)[.]' .",
        sast_tool="bandit",
        sast=(_PY_TOOLS_VENV
              + '"$RUNNER_TEMP/sectools/bin/bandit" -r . -x ./tests --severity-level high --confidence-level medium '
              "-f sarif -o sast.sarif"),
        sca_tool="pip-audit",
        sca=_PY_TOOLS_VENV + '"$RUNNER_TEMP/sectools/bin/pip-audit" --strict --require-hashes -r requirements.txt',
    ),
    "node": Stack(
        name="node", codeql_language="javascript-typescript", codeql_build_mode="none",
        build="npm run build --if-present",
        sast_tool="eslint-plugin-security",
        # eslint-plugin-security runs in the app's own eslint config; any warning is a finding.
        # Its JSON report becomes SARIF here, so no formatter is installed ad hoc.
        sast="npm ci\nset +e\nnpx --no-install eslint --max-warnings 0 --format json --output-file eslint.json .\n"
             "rc=$?\nset -e\npython3 - <<'PY'\n" + _ESLINT_SARIF.strip() + "\nPY\nexit \"$rc\"",
        sca_tool="npm audit",
        sca="npm audit --audit-level=high",
    ),
    "go": Stack(
        name="go", codeql_language="go", codeql_build_mode="autobuild",
        build="go build ./...",
        sast_tool="gosec",
        sast=(f"go run github.com/securego/gosec/v2/cmd/gosec@{TOOLS['gosec']} -severity high -confidence medium "
              "-fmt sarif -out sast.sarif ./..."),
        sca_tool="govulncheck",
        sca=f"go run golang.org/x/vuln/cmd/govulncheck@{TOOLS['govulncheck']} ./...",
    ),
    "dotnet": Stack(
        name="dotnet", codeql_language="csharp", codeql_build_mode="none",
        build=f"dotnet build --no-restore -c Release {_DOTNET_ANALYZERS}",
        sast_tool=".NET analyzers",
        sast=("dotnet restore\n"
              f"dotnet build --no-restore -c Release {_DOTNET_ANALYZERS} '-p:ErrorLog=sast.sarif%2Cversion=2.1'"),
        sca_tool="dotnet list package --vulnerable",
        # The command exits 0 whatever it finds: its report is the gate.
        sca=("dotnet restore\n"
             "dotnet list package --vulnerable --include-transitive | tee vulnerable.txt\n"
             "if grep -Eq '\\b(High|Critical)\\b' vulnerable.txt; then\n"
             "  echo '::error::high or critical vulnerable packages'; exit 1\n"
             "fi"),
    ),
}


def stack(m: ServiceModel) -> Stack:
    return STACKS[m.stack]


APP_DEFAULTS = {"run": {"working-directory": stacks.APP_DIR}}
SAST_SARIF = f"{stacks.APP_DIR}/sast.sarif"

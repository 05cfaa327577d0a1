"""Pinned actions and the constants every workflow shares: the default branch, the runner,
the tools installed by version inside jobs, the attestation names.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ... import yamlio

DEFAULT_BRANCH = "main"
ON_DEFAULT_BRANCH = f"github.event_name == 'push' && github.ref == 'refs/heads/{DEFAULT_BRANCH}'"
RUNNER = "ubuntu-24.04"
OIDC_ISSUER = "https://token.actions.githubusercontent.com"
PIN_FILE = Path(__file__).parent.parent.parent / "data" / "pinned-actions.yml"
# Tools installed by version inside jobs (Go's checksum DB / PyPI pins them).
TOOLS = {
    "bandit": "1.9.4",
    "pip-audit": "2.10.1",
    "ruff": "0.17.6",
    "gosec": "v2.22.8",
    "govulncheck": "v1.1.4",
    "gitleaks": "v8.28.0",
    "copier": "9.19.1",
}
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
SARIF_SEVERITY = "HIGH,CRITICAL"
# The scan result ci.yml attests (trivy --format cosign-vuln; cosign attest --type vuln),
# so CD and admission can check that a digest passed the scan, not only that it is signed.
VULN_REPORT = "trivy-vuln.json"
VULN_ATTESTATION_TYPE = "vuln"
VULN_PREDICATE_TYPE = "https://cosign.sigstore.dev/attestation/vuln/v1"


# -- pins ---------------------------------------------------------------------
@lru_cache(maxsize=1)
def pins() -> dict[str, dict[str, str]]:
    return yamlio.load_file(PIN_FILE)


def uses(action: str) -> str:
    """``owner/repo@<sha> # vX.Y.Z``: the exact text a step's ``uses:`` line shows."""
    pin = pins()[action]
    return f"{action}@{pin['sha']} # {pin['version']}"



# The Terraform the generated terraform/ tree is written and tested for (>= REQUIRED_VERSION).
TERRAFORM_VERSION = "1.11.4"


# What ci.yml attests with cosign and CD verifies: the SBOM and the Trivy scan of the digest.
ATTESTATION_TYPES = ("cyclonedx", "vuln")
# GitHub's artifact attestations need a public repository or GitHub Enterprise Cloud;
# elsewhere set the repository variable BUILD_PROVENANCE to false (cosign still gates).
PROVENANCE_VAR = "BUILD_PROVENANCE"
PROVENANCE_IF = f"${{{{ vars.{PROVENANCE_VAR} != 'false' }}}}"

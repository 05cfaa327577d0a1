"""One stub for every CLI a deploy job calls (kubectl, git, kustomize, cosign, gh,
argocd, flux, sleep, curl), playing a scripted cluster.

Every call is appended to ``calls.jsonl``; the shared state lives in
``state.json`` (both in $SIM_DIR). The cluster:

- a deploy branch per environment (``git push`` moves it; each commit pins a digest);
- a GitOps controller that applies the branch's digest ``SYNC_DELAY`` seconds after
  a push (a refresh annotation on an object that does not exist is NotFound);
- an Argo Rollout that walks the package's own canary steps in simulated time
  (``sleep`` and ``kubectl wait`` advance the clock), evaluating each
  AnalysisTemplate metric's successCondition on the scenario's Prometheus result
  the way Argo Rollouts does: a false condition is a Failure, an exception
  (``result[0]`` of an empty result) is an Error; more than failureLimit failures
  or consecutiveErrorLimit errors abort the Rollout (phase Degraded);
- Argo CD's health of a Rollout (its health.lua): Paused -> Suspended,
  Progressing -> Progressing, Degraded -> Degraded, Healthy -> Healthy.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from pathlib import Path

SIM = Path(os.environ.get("SIM_DIR", "."))
STATE = SIM / "state.json"
SYNC_DELAY = 60
STEP_READY = 60


def load() -> dict:
    return json.loads(STATE.read_text())


def save(state: dict) -> None:
    STATE.write_text(json.dumps(state, indent=1, sort_keys=True))


def record(tool: str, args: list[str]) -> None:
    with open(SIM / "calls.jsonl", "a") as fh:
        fh.write(json.dumps([tool, *args]) + "\n")


def fail(msg: str, code: int = 1) -> None:
    print(msg, file=sys.stderr)
    sys.exit(code)


def duration(text) -> int:
    text = str(text)
    units = {"s": 1, "m": 60, "h": 3600}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


# -- the analysis, as Argo Rollouts evaluates it -------------------------------------
def evaluate(condition: str, result: list[float]) -> bool:
    """expr-lang's subset the templates use; raises like Argo Rollouts' evaluator does."""
    py = condition.replace("||", " or ").replace("&&", " and ")
    return bool(eval(py, {"__builtins__": {}}, {"result": result, "len": len, "isNaN": math.isnan}))  # noqa: S307


def analysis_outcome(state: dict) -> tuple[str, int]:
    """('Successful'|'Failed', seconds after the analysis started when it was decided)."""
    result = state["prometheus_result"]
    worst = ("Successful", 0)
    for metric in state["metrics"]:
        interval = duration(metric.get("interval", "1m"))
        try:
            ok = evaluate(metric["successCondition"], result)
            if not ok:
                at = (metric.get("failureLimit", 0) + 1) * interval
                if worst[0] == "Successful" or at < worst[1]:
                    worst = ("Failed", at)
        except Exception:  # noqa: BLE001 - an evaluation error is the metric's Error
            at = (metric.get("consecutiveErrorLimit", 4) + 1) * interval
            if worst[0] == "Successful" or at < worst[1]:
                worst = ("Failed", at)
    return worst


# -- the cluster in simulated time ---------------------------------------------------
def applied_digest(state: dict, branch: str) -> str | None:
    """The digest the controller has applied for a deploy branch at the current clock."""
    current = None
    for ev in state["applies"]:
        if ev["branch"] == branch and ev["at"] <= state["clock"]:
            current = ev["digest"]
    return current


def image_of(state: dict, digest: str | None) -> str:
    return f"{state['image']}@{digest}" if digest else state["image"] + "@" + state["old_digest"]


def rollout_status(state: dict) -> dict:
    """Phase, stable hash and current hash of the Rollout at the current clock."""
    branch = state["branch"]
    old = {"phase": "Healthy", "stable": "h-" + state["old_digest"][-6:], "current": "h-" + state["old_digest"][-6:]}
    if state["first_deploy"]:
        old = {"phase": "", "stable": "", "current": ""}
    applies = [ev for ev in state["applies"] if ev["branch"] == branch and ev["at"] <= state["clock"]]
    status = dict(old)
    stable_digest = None if state["first_deploy"] else state["old_digest"]
    for ev in applies:
        new_hash = "h-" + ev["digest"][-6:]
        t = state["clock"] - ev["at"]
        if stable_digest is None or stable_digest == ev["digest"]:
            # First Rollout (no stable): Argo Rollouts skips the steps and the analysis.
            status = {"phase": "Healthy" if t >= STEP_READY else "Progressing", "stable": new_hash if t >= STEP_READY else status["stable"], "current": new_hash}
            if t >= STEP_READY:
                stable_digest = ev["digest"]
            continue
        if state["aborted_at"] is not None and state["aborted_at"] >= ev["at"]:
            status = {"phase": "Degraded", "stable": "h-" + stable_digest[-6:], "current": new_hash}
            continue
        elapsed, phase, decided = 0, "Progressing", None
        outcome, after = analysis_outcome(state)
        analysis_start = None
        for i, st in enumerate(state["steps"]):
            if i == state["starting_step"] and analysis_start is None:
                analysis_start = elapsed
            if "setWeight" in st:
                span, kind = STEP_READY, "Progressing"
            elif "pause" in st:
                span, kind = duration(st["pause"]["duration"]), "Paused"
            else:
                span, kind = 5 * 60, "Progressing"
            if elapsed <= t < elapsed + span:
                phase = kind
                break
            elapsed += span
        else:
            elapsed += STEP_READY
            phase = "Healthy" if t >= elapsed else "Progressing"
        if outcome == "Failed" and analysis_start is not None and t >= analysis_start + after:
            decided = "Degraded"
        if decided:
            status = {"phase": "Degraded", "stable": "h-" + stable_digest[-6:], "current": new_hash}
        elif phase == "Healthy":
            status = {"phase": "Healthy", "stable": new_hash, "current": new_hash}
            stable_digest = ev["digest"]
        else:
            status = {"phase": phase, "stable": "h-" + stable_digest[-6:], "current": new_hash}
    return status


def argocd_health(state: dict) -> str:
    if state["delivery"] != "canary":
        return "Healthy"
    return {"Paused": "Suspended", "Progressing": "Progressing", "Degraded": "Degraded",
            "Healthy": "Healthy", "": "Missing"}[rollout_status(state)["phase"]]


def condition_met(state: dict, target: str, cond: str) -> bool:
    kind, _, _ = target.partition("/")
    if kind == "application":
        m = re.match(r"jsonpath=\{\.status\.health\.status\}=(\w+)", cond)
        return bool(m) and argocd_health(state) == m.group(1)
    if kind == "kustomization":
        digest = applied_digest(state, state["branch"])
        ok = digest == state["digest"]
        if state["delivery"] == "canary":
            ok = ok and rollout_status(state)["phase"] == "Healthy"
        return ok
    return False


# -- tools -----------------------------------------------------------------------------
def _flag(args: list[str], name: str) -> str | None:
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def _exists(state: dict, ns: str, kind: str, name: str) -> bool:
    return [kind.lower(), ns, name] in state["objects"]


def kubectl(args: list[str]) -> None:
    state = load()
    ns = _flag(args, "-n") or "default"
    rest = [a for i, a in enumerate(args) if not (a == "-n" or (i and args[i - 1] == "-n"))]
    verb = rest[0]
    if verb == "annotate":
        kind, name = rest[1].split("/", 1) if "/" in rest[1] else (rest[1], rest[2])
        if not _exists(state, ns, kind, name):
            fail(f'Error from server (NotFound): {kind} "{name}" not found')
        return
    if verb == "wait":
        kind, name = rest[1].split("/", 1)
        if not _exists(state, ns, kind, name):
            fail(f'Error from server (NotFound): {kind} "{name}" not found')
        cond = _flag(rest, "--for")
        timeout = duration(_flag(rest, "--timeout") or "30s")
        deadline = state["clock"] + timeout
        while not condition_met(state, rest[1], cond):
            if state["clock"] >= deadline:
                save(state)
                fail(f"error: timed out waiting for the condition on {rest[1]}")
            state["clock"] += 5
        save(state)
        return
    if verb == "rollout" and rest[1] == "status":
        name = rest[2].split("/", 1)[1]
        if not _exists(state, ns, "deployment", name):
            fail(f'Error from server (NotFound): deployments "{name}" not found')
        timeout = duration(_flag(rest, "--timeout") or "600s")
        deadline = state["clock"] + timeout
        while applied_digest(state, state["branch"]) != state["digest"]:
            if state["clock"] >= deadline:
                save(state)
                fail("error: timed out waiting for the rollout")
            state["clock"] += 5
        state["clock"] += STEP_READY
        save(state)
        print(f'deployment "{name}" successfully rolled out')
        return
    if verb == "patch":
        if "abort" in " ".join(rest):
            state["aborted_at"] = state["clock"]
            state["abort_patches"] += 1
            save(state)
        return
    if verb == "get":
        kind = rest[1]
        path = _flag(rest, "-o") or ""
        if kind == "replicaset":
            label = _flag(rest, "-l") or ""
            h = label.split("=", 1)[1]
            digest = None
            for d in [state["old_digest"], state["digest"]]:
                if "h-" + d[-6:] == h:
                    digest = d
            print(f"{state['image']}@{digest}" if digest else "", end="")
            return
        name = rest[2]
        if not _exists(state, ns, kind, name):
            fail(f'Error from server (NotFound): {kind}s "{name}" not found')
        if kind in ("deployment", "cronjob"):
            print(image_of(state, applied_digest(state, state["branch"])), end="")
            return
        if kind == "rollout":
            st = rollout_status(state)
            key = {"{.status.phase}": "phase", "{.status.stableRS}": "stable",
                   "{.status.currentPodHash}": "current"}[path.removeprefix("jsonpath=")]
            print(st[key], end="")
            return
    fail(f"kubectl stub: unsupported call {args}", 2)


def git(args: list[str]) -> None:
    state = load()
    verb = args[0]
    if verb == "ls-remote":
        ref = args[-1].removeprefix("refs/heads/")
        sha = state["remote"].get(ref)
        if sha:
            print(f"{sha}\trefs/heads/{ref}")
        return
    if verb == "switch":
        return
    if verb == "commit":
        sha = f"c{len(state['commits']):039d}"
        state["commits"][sha] = state.get("staged_digest") or state["old_digest"]
        state["head"] = sha
        save(state)
        return
    if verb == "rev-parse":
        print(state["head"])
        return
    if verb == "push":
        lease = next((a for a in args if a.startswith("--force-with-lease")), None)
        src, _, dst = args[-1].partition(":")
        branch = dst.removeprefix("refs/heads/")
        if branch != state["branch"]:
            fail(f"remote: protected branch {branch}: push refused")  # main is protected
        if lease:
            expected = lease.split(":", 1)[1] if ":" in lease else ""
            if state["remote"].get(branch, "") != expected:
                fail("! [rejected] (stale info)")
        sha = state["head"] if src == "HEAD" else src
        if sha not in state["commits"]:
            fail(f"error: src refspec {src} does not match any")
        state["remote"][branch] = sha
        state["pushes"].append({"branch": branch, "sha": sha, "at": state["clock"]})
        state["applies"].append({"branch": branch, "digest": state["commits"][sha], "at": state["clock"] + SYNC_DELAY})
        save(state)
        return
    # config, add, fetch, pull, revert ... : recorded only
    if verb in ("config", "add", "fetch"):
        return
    if verb == "diff":
        sys.exit(1)  # there is a staged change (the digest)
    fail(f"git stub: unsupported call {args}", 2)


def kustomize(args: list[str]) -> None:
    state = load()
    if args[:3] == ["edit", "set", "image"]:
        state["staged_digest"] = args[3].rsplit("@", 1)[1]
        save(state)


def sleep(args: list[str]) -> None:
    state = load()
    state["clock"] += int(args[0])
    save(state)


def curl(args: list[str]) -> None:
    """The live URL: answers the scenario's codes in turn (000 and exit 7 = connection refused)."""
    state = load()
    url = next(a for a in reversed(args) if a.startswith(("http://", "https://")))
    codes = state["live_codes"]
    code = codes[min(len(state["curls"]), len(codes) - 1)]
    state["curls"].append({"url": url, "code": code, "at": state["clock"],
                           "digest_applied": applied_digest(state, state["branch"])})
    save(state)
    if "-w" in args:
        print(f"{code:03d}", end="")
    if code == 0:
        sys.exit(7)


def gh(args: list[str]) -> None:
    if args[:1] == ["api"]:
        print("1")


TOOLS = {"kubectl": kubectl, "git": git, "kustomize": kustomize, "sleep": sleep, "gh": gh, "curl": curl}


def main() -> None:
    tool, args = Path(sys.argv[1]).name, sys.argv[2:]
    record(tool, args)
    TOOLS.get(tool, lambda a: None)(args)


if __name__ == "__main__":
    main()

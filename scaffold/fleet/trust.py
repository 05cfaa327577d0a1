"""Which template sources may run with trust, and at which commit.

Rendering a scaffold template runs that template's own Python (its generator
code, through the loader, and its post-generation task), so whoever can change
``_src_path`` in ``.copier-answers.yml`` could otherwise run code in every tool
that renders the recorded template on a team's behalf (``scaffold check``,
``scaffold fleet``). Those tools accept only sources the platform team names:

* ``--trusted-source SRC`` (repeatable) on the command line;
* ``SCAFFOLD_TRUSTED_SOURCES``: sources separated by spaces, commas or new lines;
* ``$XDG_CONFIG_HOME/scaffold/trusted-sources`` (``~/.config/...``): one per line.

Sources compare after normalisation: ``gh:acme/scaffold``,
``https://github.com/acme/scaffold.git`` and ``https://github.com/acme/scaffold``
are one source; a local path is compared as its resolved absolute path.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

ENV = "SCAFFOLD_TRUSTED_SOURCES"
_SHORT = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}
_SHA = re.compile(r"[0-9a-f]{40}")
_SAFE_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}")


class TrustError(RuntimeError):
    """A template source that may not run, or a ref that cannot be pinned."""


def config_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base, "scaffold", "trusted-sources")


def normalise(src: str, base: Path | None = None) -> str:
    s = str(src).strip()
    for short, url in _SHORT.items():
        if s.startswith(short):
            s = url + s[len(short):]
    if s.startswith("file://"):
        s = s[len("file://"):]
    if "://" in s or re.match(r"^[\w.-]+@[\w.-]+:", s):  # a URL or scp-like git address
        s = re.sub(r"^git@([\w.-]+):", r"https://\1/", s)
        s = s.rstrip("/")
        return s[:-4] if s.endswith(".git") else s
    path = Path(os.path.expanduser(s))
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return str(path.resolve())


def configured(extra: Iterable[str] = ()) -> list[str]:
    out = [s for s in extra if s]
    out += [s for s in re.split(r"[\s,]+", os.environ.get(ENV, "")) if s]
    try:
        for line in config_file().read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                out.append(line)
    except OSError:
        pass
    return out


def require(src: str, *, extra: Iterable[str] = (), base: Path | None = None, what: str = "_src_path") -> str:
    """``src`` normalised, if it is a trusted source; else a one-line TrustError."""
    allowed = configured(extra)
    want = normalise(src, base)
    if want in {normalise(a) for a in allowed}:
        return want
    how = (f"name it with --trusted-source, {ENV} or {config_file()}")
    if not allowed:
        raise TrustError(f"{what} {src!r} runs template code with trust, and no trusted template sources are "
                         f"configured: {how}")
    raise TrustError(f"{what} {src!r} is not a trusted template source (trusted: {', '.join(allowed)}); "
                     f"if the platform team publishes it, {how}")


def safe_ref(ref: str, what: str = "_commit") -> str:
    """A revision that git cannot read as an option (``--output=...``)."""
    ref = str(ref)
    if not _SAFE_REF.fullmatch(ref) or ".." in ref:
        raise TrustError(f"{what} {ref[:60]!r} is not a tag, branch or commit name")
    return ref


def pin(src: str, ref: str) -> str:
    """The commit SHA that ``ref`` names in ``src`` now, resolved once, so every
    render of an update uses the same code even if a tag is moved meanwhile."""
    ref = safe_ref(ref, "ref")
    if _SHA.fullmatch(ref):
        return ref
    location = normalise(src)
    proc = subprocess.run(["git", "ls-remote", "--", location, f"refs/tags/{ref}^{{}}", f"refs/tags/{ref}",
                           f"refs/heads/{ref}"], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise TrustError(f"cannot resolve {ref!r} in {src}: {proc.stderr.strip().splitlines()[-1:] or 'git failed'}")
    found = {name: sha for sha, name in (line.split("\t", 1) for line in proc.stdout.splitlines() if "\t" in line)}
    for key in (f"refs/tags/{ref}^{{}}", f"refs/tags/{ref}", f"refs/heads/{ref}"):
        if key in found and _SHA.fullmatch(found[key]):
            return found[key]
    raise TrustError(f"{src} has no tag or branch {ref!r}")

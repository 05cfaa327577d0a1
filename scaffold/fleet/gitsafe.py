"""Git revisions from files (answers, fleet lists) never reach git as options.

``.copier-answers.yml`` is data anyone with write access to a package can
change; ``_commit: --output=/etc/x`` would otherwise be an option to
``git show``. Every git call that takes a revision validates it with
:func:`revision` and still puts it after ``--end-of-options`` (git >= 2.24).
"""

from __future__ import annotations

import re

# A commit id, or a ref name as git-check-ref-format allows it (a conservative
# subset): no leading '-', no '..', no control characters or spaces, no '@{'.
_REV = re.compile(r"(?!-)(?!.*\.\.)(?!.*@\{)[A-Za-z0-9._/+-]{1,200}(?:[~^][0-9]{0,3})*", re.ASCII)


def revision(ref: object) -> str | None:
    """The revision if it is safe to hand to git, else None."""
    if isinstance(ref, str) and _REV.fullmatch(ref) and not ref.endswith((".lock", "/", ".")):
        return ref
    return None


def url_or_path(entry: object) -> str | None:
    """A clone source that cannot be read as an option (``--upload-pack=...``)."""
    if isinstance(entry, str) and entry and not entry.startswith("-") and not any(
            ord(c) < 32 or ord(c) == 127 for c in entry):
        return entry
    return None

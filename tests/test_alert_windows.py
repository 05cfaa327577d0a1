"""The alert windows are data (observability/alert-windows.yaml), read by the SLO math.

What matters to a user: the table in that file decides every burn-rate alert, the file is
checked field by field, and the template loader (which copies only ``scaffold/``) carries
the data with the code of the tag being rendered, so ``copier update`` delivers a change.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from scaffold import loader
from scaffold.model import slo
from tests.helpers import ROOT

pytestmark = pytest.mark.fast

DATA = ROOT / "observability" / "alert-windows.yaml"


def test_the_data_gives_the_workbook_factors_for_both_slo_windows():
    assert [str(w.factor) for w in slo.burn_rate_windows(30)] == ["14.4", "6", "3", "1"]
    assert [str(w.factor) for w in slo.burn_rate_windows(28)] == ["13.44", "5.6", "2.8", "0.93"]
    assert [(w.short, w.long) for w in slo.burn_rate_windows(30)] == [("5m", "1h"), ("30m", "6h"), ("2h", "1d"),
                                                                     ("6h", "3d")]
    assert slo.SLI_WINDOWS == ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


def test_one_source_the_package_data_is_the_top_level_file():
    """scaffold/data/alert-windows.yaml is a link to observability/, never a second copy."""
    assert slo.WINDOWS_FILE.resolve() == DATA.resolve()
    assert (ROOT / "scaffold" / "data" / "alert-windows.yaml").is_symlink()


@pytest.mark.parametrize(("edit", "field"), [
    (lambda t: t.replace("short: 5m", "short: 5 minutes"), "tiers[0].short"),
    (lambda t: t.replace("long: 1h", "long: 1m"), "tiers[0]: short window 5m must be shorter"),
    (lambda t: t.replace('budget_consumed: "0.02"', "budget_consumed: 0.02"), "tiers[0].budget_consumed"),
    (lambda t: t.replace('budget_consumed: "0.05"', 'budget_consumed: "1.5"'), "tiers[1].budget_consumed"),
    (lambda t: t.replace("severity_tier: ticket, short: 2h", "severity_tier: pager, short: 2h"),
     "tiers[2].severity_tier"),
    (lambda t: t.replace("{severity_tier: page, short: 5m", "{severity_tier: ticket, short: 5m"),
     "page tiers come before ticket tiers"),
    (lambda t: t.replace("min_bad_events: 5", "min_bad_events: true"), "guards.min_bad_events"),
    (lambda t: t.replace("min_data_age: 3d", "min_data_age: three days"), "guards.min_data_age"),
    (lambda t: t.replace("guards:", "extras:"), "expected exactly the keys"),
])
def test_a_malformed_file_is_refused_naming_the_field(edit, field):
    text = DATA.read_text(encoding="utf-8")
    slo.parse_windows(text)  # the real file passes
    with pytest.raises(slo.WindowsError, match=r"^alert-windows\.yaml: .*") as exc:
        slo.parse_windows(edit(text))
    assert field in str(exc.value) and "\n" not in str(exc.value)


def test_the_loader_carries_the_data_with_the_tag_code(tmp_path, monkeypatch):
    """A checkout whose windows differ renders with its own windows: the loader's private
    copy of scaffold/ holds the linked data (digest and copy follow the link)."""
    monkeypatch.setenv("SCAFFOLD_CACHE_DIR", str(tmp_path / "cache"))
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "scaffold", checkout / "scaffold", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (checkout / "observability").mkdir()
    text = DATA.read_text(encoding="utf-8").replace('budget_consumed: "0.02"', 'budget_consumed: "0.04"')
    (checkout / "observability" / "alert-windows.yaml").write_text(text, encoding="utf-8")
    module = loader.load(checkout)
    assert module is not None
    theirs = __import__(f"{module.__name__}.model.slo", fromlist=["burn_rate_windows"])
    assert str(theirs.burn_rate_windows(30)[0].factor) == "28.8"  # 0.04 x 720 h / 1 h
    assert str(slo.burn_rate_windows(30)[0].factor) == "14.4"  # the installed code keeps its own
    copied = Path(theirs.__file__).parent.parent / "data" / "alert-windows.yaml"
    assert not copied.is_symlink() and copied.read_text(encoding="utf-8") == text
    assert Decimal(theirs.TIERS[0][3]) == Decimal("0.04")

"""What the tests of the public ADaM packages share: a plan's ARD, the same ARD from the same study in another file
format, the check that a committed plan is `init`'s with only its CHECK lines changed, and the public package's
plan extended as a statistician would (`public_variant`, `rendered_public_variant`)."""

from __future__ import annotations

import dataclasses
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from trialpress.pipeline import _load
from trialpress.plan import load_plan
from trialpress.results.collect import analyse
from trialpress.scaffold import init

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = "random-cdisc-data"
PUBLIC_PLAN = ROOT / "analysis" / f"{PUBLIC}.yml"
Change = Callable[[dict[str, Any]], object]


def public_variant(where: Path, change: Change, *, absolute: bool = True) -> Path:
    """The public package's committed plan (as YAML), changed in place by `change`, written to `where`/plan.yml;
    its data folder made absolute (the package as committed), or left as committed (`data/...`, for a project
    that links the package there)."""
    plan = yaml.safe_load(PUBLIC_PLAN.read_text(encoding="utf-8"))
    if absolute:
        plan["data"]["folder"] = str(ROOT / "data" / PUBLIC)
    change(plan)
    where.mkdir(parents=True, exist_ok=True)
    path = where / "plan.yml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def variant_ard(plan: Path) -> Any:
    lplan = load_plan(plan)
    return analyse(lplan.plan, _load(lplan)).ard


def rendered_public_variant(project: Path, change: Change, formats: tuple[str, ...] = ("html", "pdf")) -> Path:
    """`public_variant` rendered in a project of its own (the package and the templates linked), as a user's
    project holds it: the version folder."""
    from trialpress.pipeline import render

    (project / "data").mkdir(parents=True)
    (project / "data" / PUBLIC).symlink_to(ROOT / "data" / PUBLIC, target_is_directory=True)
    (project / "templates").symlink_to(ROOT / "templates", target_is_directory=True)
    shutil.copy(ROOT / "_quarto.yml", project / "_quarto.yml")
    plan = public_variant(project / "analysis", change, absolute=False).rename(project / "analysis" / f"{PUBLIC}.yml")
    return render(plan, report_root=project / "report", formats=list(formats), report_date="2026-01-01").folder


def close(ours: float, theirs: float | None, rel: float = 1e-6) -> bool:
    """Equal within `rel` (R's null: ours is NaN)."""
    if theirs is None:
        return math.isnan(ours)
    return bool(ours == pytest.approx(theirs, rel=rel, abs=1e-12))


def ard_rows(plan: Path) -> tuple[dict[str, tuple[Any, ...]], Any]:
    """The plan's ARD as {id: row fields}, and the data it was computed from."""
    lplan = load_plan(plan)
    data = _load(lplan)
    return {r.id: dataclasses.astuple(r) for r in analyse(lplan.plan, data).ard}, data


def plan_on(plan: Path, folder: Path, tmp_path: Path) -> Path:
    """A copy of `plan` (whose data folder is data/<study>) that reads its data from `folder`."""
    text = plan.read_text()
    study = f'folder: "data/{plan.stem}"'
    assert study in text, f"{plan.name} does not name {study}"
    copy = tmp_path / "plan.yml"
    copy.write_text(text.replace(study, f'folder: "{folder}"'))
    return copy


def differing(ours: dict[str, tuple[Any, ...]], theirs: dict[str, tuple[Any, ...]]) -> list[str]:
    """Ids of the rows both ARDs hold whose fields differ (NaN equals NaN)."""
    return [k for k in ours.keys() & theirs.keys()
            if any(not (a == b or (a != a and b != b)) for a, b in zip(ours[k], theirs[k]))]


def lines_init_wrote_but_the_plan_lacks(data: Path, plan: Path, tmp_path: Path) -> list[str]:
    """Every line `init` writes that is not a CHECK line, a comment or the data folder (named from the
    project's analysis/ in the committed plan) must stand unchanged, in order, in the committed plan: the user
    only confirmed what init asked them to."""
    written = init(data, tmp_path / "init.yml").read_text().splitlines()
    kept = [ln for ln in written if "CHECK" not in ln and not ln.lstrip().startswith("#") and ln.strip()
            and not ln.lstrip().startswith("folder:")]
    it = iter(plan.read_text().splitlines())
    return [ln for ln in kept if not any(ln == c for c in it)]


def study_fixtures(plan: Path) -> tuple[Any, Any]:
    """The module-scoped fixtures `loaded` ((plan, data) of `plan`) and `ard` (its analysis results), for a test
    module to bind: `loaded, ard = study_fixtures(PLAN)`."""

    @pytest.fixture(scope="module")
    def loaded() -> tuple[Any, Any]:
        lplan = load_plan(plan)
        return lplan, _load(lplan)

    @pytest.fixture(scope="module")
    def ard(loaded: tuple[Any, Any]) -> Any:
        lplan, data = loaded
        return analyse(lplan.plan, data).ard

    return loaded, ard

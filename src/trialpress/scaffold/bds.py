"""What `init` proposes from a folder's BDS datasets of repeated measurements (ADQS, ADEFF, ADLB, ADVS …):
continuous endpoints, and the laboratory and vital-sign tables of the safety section.

They are written as commented plan lines, resolved against the data (every variable named is in the file,
every default that names an absent variable is set to null), so that uncommenting them gives a valid plan.
They stay commented because the data cannot say which parameter is the primary endpoint, at which visit, nor
which direction of it is better (a higher FEV1 is better, a higher ADAS-Cog worse): `better` is written as a
placeholder the plan refuses until the statistician sets it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from trialpress.data.coding import present_values
from trialpress.data.files import dataset_files, find_dataset_file
from trialpress.data.readers import read_dataset
from trialpress.safe_yaml import dump_scalar as q
from trialpress.scaffold.text import blanks_missing
from trialpress.scaffold.words import ident, sentence_case

# datasets init reads for other sections, or that are not measurements by visit
NOT_MEASUREMENTS = {"ADSL", "ADTTE", "ADRS", "ADAE", "ADEX", "ADCM", "ADMH", "ADDV", "ADPP", "ADPC"}
NEEDED = ("USUBJID", "PARAMCD", "AVAL", "AVISIT", "AVISITN")
OPTIONAL = ("PARAM", "PARAMN", "CHG", "BASE", "ABLFL", "ANL01FL", "DTYPE", "AVALU", "ATPT", "ONTRTFL", "ADT",
            "ANRIND", "BNRIND", "ATOXGR", "BTOXGR", "ANRHI", "LBTESTCD")
SAFETY_MEASURES = {"ADLB": ("labs", "laboratory"), "ADVS": ("vitals", "vital-sign")}
FULL_ENTRIES = 6          # parameters proposed in full per dataset; the others are named in one comment
DATASET_NAME = re.compile(r"AD[A-Z0-9]{1,6}")


@dataclass
class Measurements:
    """One BDS dataset of the folder: its records (only the variables init reads) and its file."""

    name: str
    path: Path
    frame: pd.DataFrame
    columns: set[str] = field(default_factory=set)

    def has(self, var: str) -> bool:
        return var in self.columns and bool(self.frame[var].notna().any())


def find_measurements(folder: Path, prefer: str | None = None) -> list[Measurements]:
    """The folder's BDS datasets with PARAMCD, AVAL and visits (ADQS, ADLB …), by name; a dataset in several
    formats is read in format `prefer`, as the loader will (`find_dataset_file`)."""
    out = []
    for name in dataset_files(folder):
        if name in NOT_MEASUREMENTS or not DATASET_NAME.fullmatch(name):
            continue
        path = find_dataset_file(folder, name, prefer=prefer)
        assert path is not None
        frame = read_dataset(path, columns=(*NEEDED, *OPTIONAL))
        if not set(NEEDED) <= set(frame.columns):
            continue
        frame = blanks_missing(frame)
        out.append(Measurements(name, path, frame, set(frame.columns)))
    return out


def continuous_lines(found: list[Measurements], population: str, adsl: pd.DataFrame, safety_population: str = ""
                     ) -> list[str]:
    """Commented `continuous:` entries: every parameter of the non-safety datasets first, then the safety ones'
    parameters named (a laboratory value can be the primary endpoint, e.g. HbA1c; a vital sign reported as a
    safety outcome takes `role: safety` and the safety population)."""
    entries: list[str] = []
    strata = [c for c in adsl.columns if re.fullmatch(r"STRATA?\d*[A-Z]?|STRAT\d+[A-Z]*", str(c))
              and adsl[c].notna().any()]
    for m in sorted(found, key=lambda m: (m.name in SAFETY_MEASURES, m.name)):
        params = _parameters(m)
        if not params:
            continue
        full = [] if m.name in SAFETY_MEASURES else params[:FULL_ENTRIES]
        for code in full:
            entries += _entry(m, code, population, strata)
        rest = [p for p in params if p not in full]
        if rest:
            named = ", ".join(q(p) for p in rest[:20]) + (", …" if len(rest) > 20 else "")
            how = "copy an entry; set dataset, paramcd, label"
            if m.name in SAFETY_MEASURES and safety_population and safety_population != population:
                how += f"; as a safety outcome, role: safety and population: {safety_population}"
            elif m.name in SAFETY_MEASURES:
                how += "; as a safety outcome, role: safety"
            entries.append(f"#   # also in {m.name}: {named} ({how})")
    if not entries:
        return []
    return ["", "# continuous:   # BDS parameters by visit: uncomment the primary endpoint (and any others), set",
            "#               # `better`, CHECK the visit and the model", *entries]


def _parameters(m: Measurements) -> list[str]:
    """PARAMCDs with a post-baseline value (AVISITN above 0, not the baseline record), in PARAMN order when the
    data give one, else by code."""
    f = m.frame
    post = _post_baseline(f)
    codes = f.loc[post & f["AVAL"].notna(), "PARAMCD"].dropna().astype(str)
    if codes.empty:
        return []
    if m.has("PARAMN"):
        order = pd.to_numeric(f["PARAMN"], errors="coerce").groupby(f["PARAMCD"].astype(str)).min()
        return sorted(codes.unique(), key=lambda c: (order.get(c, float("inf")), c))
    return sorted(codes.unique())


def _post_baseline(f: pd.DataFrame) -> pd.Series:
    """The continuous analysis's rule (results.continuous): AVISITN above 0 and not flagged baseline."""
    post = pd.to_numeric(f["AVISITN"], errors="coerce") > 0
    if "ABLFL" in f.columns:
        post &= ~f["ABLFL"].isin(["Y"])
    return post


def _entry(m: Measurements, code: str, population: str, strata: list[str]) -> list[str]:
    f = m.frame
    rows = f[f["PARAMCD"].astype(str) == code]
    name = str(rows["PARAM"].dropna().iloc[0]) if m.has("PARAM") and rows["PARAM"].notna().any() else code
    units = present_values(rows["AVALU"]) if m.has("AVALU") else []
    unit_said = re.search(r"\s*\(([^()]*)\)\s*$", name)   # 'Weight (kg)': the unit goes to `unit`
    if unit_said and unit_said.group(1) in units and unit_said.start() > 0:
        name = name[:unit_said.start()]
    label = sentence_case(name)
    value = "CHG" if m.has("CHG") and rows["CHG"].notna().any() else "AVAL"
    selected, rows_line = _analysis_rows(m, rows)
    post = selected[_post_baseline(selected) & selected[value].notna()]
    per_visit = post.groupby(post["AVISIT"].astype(str), sort=False).agg(
        order=("AVISITN", lambda s: pd.to_numeric(s, errors="coerce").min()), n=("USUBJID", "nunique"))
    per_visit = per_visit.sort_values("order")
    if per_visit.empty:
        return []
    scheduled = per_visit[per_visit["n"] >= per_visit["n"].max() / 2]   # the last visit most subjects reached
    primary = str(scheduled.index[-1])
    visits = ", ".join(q(v) for v in per_visit.index[:12]) + (", …" if len(per_visit) > 12 else "")
    has_base = m.has("BASE") and rows["BASE"].notna().any()
    lines = [f"#   - id: {ident(code)}", f"#     label: {q(label)}", f"#     dataset: {m.name}",
             f"#     paramcd: {q(code)}",
             f"#     value: {value}" + ("" if value == "CHG" else "   # no CHG: the value"),
             f"#     population: {population}",
             f"#     primary_visit: {q(primary)}   # CHECK: post-baseline visits: {visits}"]
    if rows_line:
        lines.append(f"#     {rows_line}")
    derived = present_values(rows["DTYPE"]) if m.has("DTYPE") else []
    if derived:   # imputed records (LOCF, WOCF …): the observed ones are analysed unless the plan says
        lines.append(f"#     # rows: {{dtype: {q(derived[0])}}}   # CHECK: analyses the {', '.join(derived[:4])} "
                     "records instead of the observed ones")
    if has_base:
        lines += ["#     model: mmrm   # CHECK: or ancova (at the primary visit only)",
                  "#     covariates: [BASE]", "#     covariate_by_visit: [BASE]"]
    else:
        lines += ["#     model: descriptive   # no BASE: no baseline-adjusted model", "#     covariates: []"]
    if strata and has_base:
        lines.append(f"#     factors: []   # CHECK: stratification factors; ADSL has {', '.join(strata)}")
    lines.append("#     better: SET-higher-or-lower   # which direction of the value is better (the data cannot tell)")
    if len(units) == 1:
        lines.append(f"#     unit: {q(units[0])}")
    return lines


def _analysis_rows(m: Measurements, rows: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The records an endpoint analyses, as the continuous analysis selects them, and the `rows:` setting needed
    so that a subject has one record per visit: none when the observed records are already unique, else the
    analysis flag (ANL01FL), else a note on the time points."""
    f = rows
    if m.has("DTYPE"):
        f = f[f["DTYPE"].isna()]
    key = ["USUBJID", "AVISIT"]
    if not f.duplicated(key).any():
        return f, ""
    if m.has("ANL01FL"):
        flagged = f[f["ANL01FL"].isin(["Y"])]
        if not flagged.duplicated(key).any():
            return flagged, "rows: {flag: ANL01FL}   # several records per subject and visit: the analysis flag's"
    if m.has("ATPT"):
        points = present_values(f["ATPT"])[:6]
        return f, (f"rows: {{timepoint: ATPT, timepoint_value: {q(points[0])}}}   # CHECK: several records per visit; "
                   f"time points {', '.join(q(p) for p in points)}")
    return f, "rows: {flag: ANL01FL}   # CHECK: several records per subject and visit; name the flag selecting one"


def safety_measure_lines(found: list[Measurements]) -> list[str]:
    """Commented `labs:` / `vitals:` settings of the safety section for ADLB and ADVS, every variable resolved."""
    lines: list[str] = []
    for m in found:
        if m.name not in SAFETY_MEASURES:
            continue
        key, what = SAFETY_MEASURES[m.name]
        opts = [f"dataset: {m.name}"]
        liver = (("ANRHI", "upper_limit"), ("LBTESTCD", "test_code")) if m.name == "ADLB" else ()   # eDISH
        for var, setting in (("AVALU", "unit"), ("ATOXGR", "grade"), ("BTOXGR", "baseline_grade"), *liver):
            if m.has(var):
                opts.append(f"{setting}: {var}")
        for var, setting in (("PARAM", "label"), ("CHG", "change"), ("ONTRTFL", "on_treatment_flag"),
                             ("ADT", "date"), ("ANRIND", "range_indicator"), ("BNRIND", "baseline_range_indicator")):
            if not m.has(var):
                opts.append(f"{setting}: null")
        lines += [f"  # {what} tables from {m.name}: uncomment to add them (every variable named is in the data)",
                  f"  # {key}: {{{', '.join(opts)}}}"]
    return lines

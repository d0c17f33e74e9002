"""The expectation suites: one function per ADaM dataset, plus the cross-dataset rules.

Each function returns `Check`s for the variables that exist in the data and the plan uses.
Three kinds of rules:

* structure: required variables, types, keys, allowed values (CDISC controlled terms, the plan's
  groups and response categories);
* content: times non-negative and finite, dates in order (treatment start <= event <= data cut-off,
  death last), plausible age, population flags consistent (every safety subject was treated);
* cross-dataset: subjects exist in ADSL, dates of other datasets against ADSL's, and records only
  where ADSL says they can exist (a time-to-event parameter only for subjects who have its origin
  date: e.g. relapse-free survival only for responders, survival after a transplant only for the
  transplanted).

Nothing names a study: ADaM standard names (`conventions.py`) and patterns discovered in the data
(a `xxxFL` flag with its `xxxDT` date; the ADSL date each ADTTE parameter starts from) decide which
rules apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from trialpress.data.loading import StudyData
from trialpress.plan import Plan
from trialpress.quality import conventions as cv
from trialpress.quality.checks import Check, derived

NUM_TYPES = ["float64", "int64", "float32", "int32"]
DATE_TYPES = ["datetime64[ns]"]
DISTINCT_BITMAP = 100_000_000   # key space (bytes) below which a one-pass bitmap decides 'no repeated keys'
ORIGIN_MATCH = 0.9   # share of a parameter's records whose STARTDT equals an ADSL date to call it the origin


@dataclass
class Ctx:
    plan: Plan
    data: StudyData
    sid: str = field(init=False)

    def __post_init__(self) -> None:
        self.sid = self.plan.data.subject_id

    @cached_property
    def adsl(self) -> pd.DataFrame:
        return self.data["ADSL"]

    def positions(self, frame: pd.DataFrame) -> np.ndarray:
        """Each record's subject as its ADSL row (-1: not in ADSL): the loader's join of that dataset."""
        name = next(n for n, known in self.data.frames.items() if known is frame and n != "ADSL")
        return self.data.rows_in_adsl(name, self.sid)

    def duplicated_keys(self, frame: pd.DataFrame, *others: str) -> pd.Series:
        """Rows whose subject and `others` repeat another row's (all rows of each repeat, as GE reports them).

        Keys are integer codes (the subject's ADSL row, or a code of its own for a subject not in ADSL), so
        10^7 records are checked in about a second; great_expectations' own compound-key expectation takes
        over ten seconds there. A missing subject id is a value like any other here (it fails its own check)."""
        ids = frame[self.sid]
        code = self.positions(frame).astype(np.int64)
        unknown = (code < 0) & ids.notna().to_numpy()
        if unknown.any():
            code[unknown] = len(self.adsl) + pd.factorize(ids[unknown])[0]
        key, space = code + 1, len(self.adsl) + int(unknown.sum()) + 1
        for col in others:
            values, size = _small_codes(frame[col])
            key, space = key * size + values, space * size
        if space >= 2**62:   # codes too wide to combine in 64 bits: compare the columns themselves
            return frame[[self.sid, *others]].duplicated(keep=False)
        if space <= DISTINCT_BITMAP and len(key):   # the usual verdict, none repeated, in one pass
            seen = np.zeros(space, dtype=bool)
            seen[key] = True
            if int(np.count_nonzero(seen)) == len(key):
                return pd.Series(False, index=frame.index)
        return pd.Series(key, index=frame.index).duplicated(keep=False)

    def subject_values(self, frame: pd.DataFrame, column: str) -> pd.Series:
        """An ADSL column looked up for each row of another dataset (NaN/NaT where unknown)."""
        values = self.adsl[column].array.take(self.positions(frame), allow_fill=True)
        return pd.Series(values, index=frame.index)

    @property
    def cutoff(self) -> str | None:
        c = self.plan.data.cutoff_variable
        return c if c and is_date(self.adsl, c) else None

    @cached_property
    def analysed(self) -> pd.Series:
        """ADSL rows in at least one of the plan's populations."""
        a = self.adsl
        inside = pd.Series(False, index=a.index)
        for pop in self.plan.populations.values():
            if pop.flag and pop.flag in a.columns:
                inside |= a[pop.flag].eq("Y")
            elif pop.expression:
                try:
                    inside |= a.eval(pop.expression).astype(bool)
                except Exception:  # noqa: BLE001 - checked with a clear message in references.py
                    inside |= True
        return inside

    def required(self, dataset: str) -> list[str]:
        return [r.variable for r in self.data.requirements if r.dataset == dataset]

    def kinds(self, dataset: str) -> dict[str, str]:
        return {r.variable: r.kind for r in self.data.requirements if r.dataset == dataset}


def _small_codes(values: pd.Series) -> tuple[np.ndarray, int]:
    """Codes 0..size-1 of a key column (0: missing): whole numbers in a short range code themselves (no
    hashing), anything else is factorized."""
    if pd.api.types.is_numeric_dtype(values) and len(values):
        x = values.to_numpy(dtype=float)
        present = ~np.isnan(x)
        if present.any() and np.isfinite(x[present]).all():
            low, high = np.min(x[present]), np.max(x[present])
            if high - low < 10_000_000 and np.all(x[present] == np.round(x[present])):
                out = np.zeros(len(x), dtype=np.int64)
                out[present] = (x[present] - low).astype(np.int64) + 1
                return out, int(high - low) + 2
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64) + 1, len(uniques) + 1


def is_date(frame: pd.DataFrame, col: str | None) -> bool:
    return bool(col) and col in frame.columns and pd.api.types.is_datetime64_any_dtype(frame[col])


def _text(frame: pd.DataFrame, col: str | None) -> bool:
    return bool(col) and col in frame.columns and not pd.api.types.is_numeric_dtype(frame[col]) \
        and not pd.api.types.is_datetime64_any_dtype(frame[col])


def _text_in(values: pd.Series, allowed: set[str], upper: bool = False) -> pd.Series:
    """Whether each value, as text (upper-cased if asked), is allowed; decided once per category."""
    def ok(v: object) -> bool:
        text = str(v)
        return (text.upper() if upper else text) in allowed

    if isinstance(values.dtype, pd.CategoricalDtype):
        per_category = np.array([ok(c) for c in values.cat.categories] + [ok(np.nan)], dtype=bool)
        return pd.Series(per_category[values.cat.codes.to_numpy()], index=values.index)   # code -1 → last
    text = values.astype(str)
    return (text.str.upper() if upper else text).isin(allowed)


def _iso(v: object) -> str:
    return "missing" if v is None or (not isinstance(v, str) and pd.isna(v)) else \
        (v.date().isoformat() if isinstance(v, pd.Timestamp) else str(v))


def _detail(bad: pd.Series, **columns: pd.Series) -> pd.Series:
    """'TRTSDT=2014-05-25, ADT=2014-05-20' for the failing rows only, indexed by row position."""
    rows = np.flatnonzero(bad.to_numpy())
    return pd.Series([", ".join(f"{name}={_iso(col.iat[i])}" for name, col in columns.items()) for i in rows],
                     index=rows, dtype=object)


def native(check_id: str, dataset: str, expectation: str, kwargs: dict, description: str, hint: str, *,
           value_column: str | None = None, severity: str = "error", suite: str = "structure") -> Check:
    return Check(check_id, dataset, expectation, kwargs, description, hint, severity, value_column, suite=suite)


def _common_structure(ctx: Ctx, ds: str) -> list[Check]:
    """Required variables, subject id present, and the types the plan needs."""
    frame = ctx.data[ds]
    sid = ctx.sid
    req = [v for v in dict.fromkeys(ctx.required(ds))]
    out = [native(f"{ds}.variables.required", ds, "ExpectTableColumnsToMatchSet",
                  {"column_set": req, "exact_match": False},
                  f"{ds} has the variables the plan uses ({', '.join(req)})",
                  f"Add the missing variables to {ds}, or change the plan to name variables that exist.")]
    if sid in frame.columns:
        out.append(native(f"{ds}.{sid}.not_null", ds, "ExpectColumnValuesToNotBeNull", {"column": sid},
                          f"{sid} is present for every {ds} row", f"Fill in the subject identifiers in {ds}.",
                          value_column=sid))
    for var, kind in ctx.kinds(ds).items():
        if var not in frame.columns:
            continue
        if kind == "num" or (kind == "any" and pd.api.types.is_numeric_dtype(frame[var])):
            out.append(native(f"{ds}.{var}.type", ds, "ExpectColumnValuesToBeInTypeList",
                              {"column": var, "type_list": NUM_TYPES}, f"{var} is numeric",
                              f"Store {var} as numbers.", value_column=var))
        elif kind == "date":
            out.append(native(f"{ds}.{var}.type", ds, "ExpectColumnValuesToBeInTypeList",
                              {"column": var, "type_list": DATE_TYPES}, f"{var} is a date",
                              f"Store {var} as ISO dates (YYYY-MM-DD) or SAS dates.", value_column=var))
    return out


# ---------------------------------------------------------------------------------------------- ADSL
def adsl_checks(ctx: Ctx) -> list[Check]:
    plan, a, sid = ctx.plan, ctx.adsl, ctx.sid
    out = _common_structure(ctx, "ADSL")
    dup = a[sid].notna() & a[sid].duplicated(keep=False)
    out.append(derived(f"ADSL.{sid}.unique", "ADSL", ~dup, f"{sid} is unique in ADSL (one row per subject)",
                       "Remove the duplicate subject rows from ADSL.", detail=_detail(dup, **{sid: a[sid]}),
                       suite="structure"))
    pop_flags = sorted({p.flag for p in plan.populations.values() if p.flag and p.flag in a.columns})
    for flag in pop_flags:
        out.append(native(f"ADSL.{flag}.in_set", "ADSL", "ExpectColumnValuesToBeInSet",
                          {"column": flag, "value_set": list(cv.NY)}, f"{flag} is 'Y' or 'N'",
                          f"Set {flag} to Y or N for every subject.", value_column=flag))
        out.append(native(f"ADSL.{flag}.has_subjects", "ADSL", "ExpectColumnDistinctValuesToContainSet",
                          {"column": flag, "value_set": ["Y"]}, f"the population {flag} = 'Y' has subjects",
                          f"No subject has {flag} = 'Y': set the flag in ADSL, or fix the population in the plan.",
                          value_column=flag))
    for flag in sorted(c for c in a.columns if c.endswith("FL") and c not in pop_flags and _text(a, c)):
        out.append(native(f"ADSL.{flag}.in_set", "ADSL", "ExpectColumnValuesToBeInSet",
                          {"column": flag, "value_set": list(cv.NY)}, f"the flag {flag} is 'Y', 'N' or empty",
                          f"Recode {flag} to Y/N (ADaM flags take Y, N or missing).", value_column=flag))
    if _text(a, "SEX"):
        out.append(native("ADSL.SEX.in_set", "ADSL", "ExpectColumnValuesToBeInSet",
                          {"column": "SEX", "value_set": list(cv.SEX)}, "SEX is M, F, U or UNDIFFERENTIATED",
                          "Recode SEX to CDISC controlled terms (M, F, U, UNDIFFERENTIATED).", value_column="SEX"))
    if "AGE" in a.columns and pd.api.types.is_numeric_dtype(a["AGE"]):
        out.append(native("ADSL.AGE.plausible", "ADSL", "ExpectColumnValuesToBeBetween",
                          {"column": "AGE", "min_value": 0, "max_value": 120}, "AGE is between 0 and 120 years",
                          "Correct the ages (AGE is in years at baseline).", value_column="AGE", suite="content"))
    if ctx.cutoff:
        out.append(native(f"ADSL.{ctx.cutoff}.not_null", "ADSL", "ExpectColumnValuesToNotBeNull",
                          {"column": ctx.cutoff}, f"the data cut-off {ctx.cutoff} is present for every subject",
                          f"Fill in {ctx.cutoff} (the study's data cut-off date).", value_column=ctx.cutoff))
    out += _groups(ctx)
    out += _levels(ctx)
    out += _adsl_dates(ctx)
    out += _exposure(ctx)
    return out


def _groups(ctx: Ctx) -> list[Check]:
    a, gvar = ctx.adsl, ctx.plan.groups.variable
    if gvar not in a.columns:
        return []
    missing = ctx.analysed & a[gvar].isna()
    levels = set(ctx.plan.group_values)
    other = ctx.analysed & a[gvar].notna() & ~a[gvar].isin(levels)
    return [
        derived(f"ADSL.{gvar}.not_null", "ADSL", ~missing,
                f"the grouping variable {gvar} is present for every analysed subject",
                f"Fill in {gvar}, or take the subjects out of the analysis populations.",
                detail=_detail(missing, **{gvar: a[gvar]}), suite="structure"),
        derived(f"ADSL.{gvar}.in_levels", "ADSL", ~other,
                f"{gvar} is one of the plan's groups ({', '.join(ctx.plan.group_values)}) for every analysed subject",
                f"Recode {gvar}, or add the value to groups.levels in the plan.",
                detail=_detail(other, **{gvar: a[gvar]}), suite="structure"),
    ]


def _levels(ctx: Ctx) -> list[Check]:
    """Values of subgroup and baseline variables that the plan's level lists leave out (warnings)."""
    a = ctx.adsl
    levels: dict[str, set[str]] = {}
    for s in ctx.plan.subgroups:
        if s.levels:
            levels.setdefault(s.variable, set()).update(lv.value for lv in s.levels)
    for row in ctx.plan.baseline:
        if row.levels:
            levels.setdefault(row.variable, set()).update(lv.value for lv in row.levels)
    out = []
    for var, vals in sorted(levels.items()):
        if var not in a.columns:
            continue
        other = ctx.analysed & a[var].notna() & ~_text_in(a[var], vals)
        out.append(derived(f"ADSL.{var}.in_plan_levels", "ADSL", ~other,
                           f"{var} takes only the values the plan lists ({', '.join(sorted(vals))})",
                           f"Subjects with other values are left out of the {var} rows: recode them, or add the "
                           f"value to the plan's levels for {var}.",
                           detail=_detail(other, **{var: a[var]}), severity="warning", suite="structure"))
    return out


def post_treatment_dates(a: pd.DataFrame, cutoff: str | None) -> list[str]:
    """ADSL dates of things that happen after the first dose (all dates but the pre-treatment ones)."""
    skip = {cv.TRT_START, cutoff}
    return [c for c in a.columns if is_date(a, c) and c not in skip and c not in cv.PRE_TREATMENT_DATES
            and not c.startswith(cv.PRE_TREATMENT_PREFIXES)]


def _order_rule(check_id: str, dataset: str, frame_dates: dict[str, pd.Series], bound: pd.Series,
                bound_name: str, later: bool, description: str, hint: str, *, where: pd.Series | None = None,
                suite: str = "content", severity: str = "error") -> Check:
    """Every date in `frame_dates` is on/after (later=True) or on/before `bound` (missing dates pass)."""
    wrong = {name: ((col < bound) if later else (col > bound)) for name, col in frame_dates.items()}
    bad = pd.Series(False, index=bound.index)
    for w in wrong.values():
        bad |= w
    if where is not None:
        bad &= where
    rows = np.flatnonzero(bad.to_numpy())
    shown = [", ".join([f"{bound_name}={_iso(bound.iat[i])}"]   # the bound and the dates on its wrong side
                       + [f"{name}={_iso(frame_dates[name].iat[i])}" for name, w in wrong.items() if w.iat[i]])
             for i in rows]
    detail = pd.Series(shown, index=rows, dtype=object)
    return derived(check_id, dataset, ~bad, description, hint, detail=detail, suite=suite, severity=severity)


def _adsl_dates(ctx: Ctx) -> list[Check]:
    a, cut = ctx.adsl, ctx.cutoff
    out: list[Check] = []
    dates = {c: a[c] for c in a.columns if is_date(a, c) and c != cut}
    post = {c: a[c] for c in post_treatment_dates(a, cut)}
    if cut and dates:
        out.append(_order_rule(f"ADSL.dates.not_after_{cut}", "ADSL", dates, a[cut], cut, False,
                               f"no ADSL date is after the data cut-off {cut} ({', '.join(dates)})",
                               f"Correct the dates, or the cut-off {cut}: nothing can be recorded after it."))
    if is_date(a, cv.TRT_START) and post:
        out.append(_order_rule(f"ADSL.dates.not_before_{cv.TRT_START}", "ADSL", post, a[cv.TRT_START],
                               cv.TRT_START, True,
                               f"events are on or after the first dose {cv.TRT_START} ({', '.join(post)})",
                               f"Correct the dates: an event after treatment (death, response, transplant, "
                               f"relapse...) cannot precede {cv.TRT_START}."))
    after_death = {c: s for c, s in post.items() if c != cv.DEATH_DATE}
    if is_date(a, cv.DEATH_DATE) and after_death:
        out.append(_order_rule(f"ADSL.dates.not_after_{cv.DEATH_DATE}", "ADSL", after_death, a[cv.DEATH_DATE],
                               cv.DEATH_DATE, False,
                               f"death is the last event: no date after {cv.DEATH_DATE} ({', '.join(after_death)})",
                               "Correct the death date or the later dates: nothing happens after death."))
    for flag in sorted(c for c in a.columns if c.endswith("FL") and _text(a, c)):
        date = flag[:-2] + "DT"
        if not is_date(a, date):
            continue
        bad = a[flag].notna() & (a[flag].eq("Y") != a[date].notna())
        out.append(derived(f"ADSL.{date}.only_where_{flag}", "ADSL", ~bad,
                           f"{date} is present exactly when {flag} = 'Y'",
                           f"Make {flag} and {date} agree: a date needs {flag} = Y, and {flag} = Y needs a date.",
                           detail=_detail(bad, **{flag: a[flag], date: a[date]})))
    return out


def _exposure(ctx: Ctx) -> list[Check]:
    """Every safety subject received treatment (first dose date, exposure > 0)."""
    plan, a = ctx.plan, ctx.adsl
    out: list[Check] = []
    safety = plan.safety
    days = safety.exposure_days if safety else None
    cycles = safety.exposure_cycles if safety else None
    for var in (days, cycles):
        if var and var in a.columns and pd.api.types.is_numeric_dtype(a[var]):
            out.append(native(f"ADSL.{var}.non_negative", "ADSL", "ExpectColumnValuesToBeBetween",
                              {"column": var, "min_value": 0}, f"the exposure {var} is zero or positive",
                              f"Correct {var}.", value_column=var, suite="content"))
    if not safety:
        return out
    pop = plan.populations.get(safety.population)
    if not (pop and pop.flag and pop.flag in a.columns):
        return out
    flag = pop.flag
    shown = {flag: a[flag]}
    untreated = pd.Series(False, index=a.index)
    if is_date(a, cv.TRT_START):
        untreated |= a[cv.TRT_START].isna()
        shown[cv.TRT_START] = a[cv.TRT_START]
    for var in (days, cycles):
        if var and var in a.columns and pd.api.types.is_numeric_dtype(a[var]):
            untreated |= ~(a[var] > 0)
            shown[var] = a[var]
    if len(shown) == 1:
        return out
    bad = a[flag].eq("Y") & untreated
    out.append(derived(f"ADSL.{flag}.treated", "ADSL", ~bad,
                       f"every safety subject ({flag} = 'Y') received treatment ({', '.join(list(shown)[1:])})",
                       f"Safety subjects must have a first dose and exposure > 0: correct the exposure, or set "
                       f"{flag} = N for subjects never treated.", detail=_detail(bad, **shown)))
    return out


# --------------------------------------------------------------------------------------------- ADTTE
def adtte_checks(ctx: Ctx) -> list[Check]:
    t, sid = ctx.data["ADTTE"], ctx.sid
    out = _common_structure(ctx, "ADTTE")
    dup = ctx.duplicated_keys(t, "PARAMCD")
    out += [
        derived("ADTTE.keys.unique", "ADTTE", ~dup, f"one record per {sid} and PARAMCD in ADTTE",
                "Remove duplicate parameter records.", detail=_detail(dup, PARAMCD=t["PARAMCD"]), suite="structure"),
        native("ADTTE.PARAMCD.not_null", "ADTTE", "ExpectColumnValuesToNotBeNull", {"column": "PARAMCD"},
               "PARAMCD is present", "Fill in the parameter code of every record.", value_column="PARAMCD"),
        native("ADTTE.CNSR.in_set", "ADTTE", "ExpectColumnValuesToBeInSet", {"column": "CNSR", "value_set": [0, 1]},
               "CNSR is 0 (event) or 1 (censored)", "Recode CNSR: 0 for an event, 1 for a censored time.",
               value_column="CNSR"),
        native("ADTTE.CNSR.not_null", "ADTTE", "ExpectColumnValuesToNotBeNull", {"column": "CNSR"},
               "CNSR is present", "Fill in CNSR (0 event, 1 censored).", value_column="CNSR"),
        native("ADTTE.AVAL.not_null", "ADTTE", "ExpectColumnValuesToNotBeNull", {"column": "AVAL"},
               "AVAL is present", "Fill in the analysis time.", value_column="AVAL", suite="content"),
        native("ADTTE.AVAL.non_negative", "ADTTE", "ExpectColumnValuesToBeBetween",
               {"column": "AVAL", "min_value": 0, "strict_max": False},
               "AVAL is zero or positive", "Times cannot be negative: check the start and event dates.",
               value_column="AVAL", suite="content"),
    ]
    if pd.api.types.is_numeric_dtype(t["AVAL"]):
        aval = t["AVAL"]
        bad = aval.notna() & ~np.isfinite(aval.to_numpy(dtype=float, na_value=np.nan))
        out.append(derived("ADTTE.AVAL.finite", "ADTTE", ~bad, "AVAL is a finite number",
                           "Replace infinite times by the real follow-up time.",
                           detail=_detail(bad, PARAMCD=t["PARAMCD"], AVAL=aval)))
    if is_date(t, cv.TTE_ORIGIN) and is_date(t, cv.TTE_DATE):
        out.append(_order_rule(f"ADTTE.{cv.TTE_DATE}.not_before_{cv.TTE_ORIGIN}", "ADTTE",
                               {cv.TTE_DATE: t[cv.TTE_DATE]}, t[cv.TTE_ORIGIN], cv.TTE_ORIGIN, True,
                               f"the event or censoring date {cv.TTE_DATE} is not before the origin {cv.TTE_ORIGIN} "
                               "(e.g. relapse after remission, death after transplant)",
                               "Correct the dates (were they swapped?); the time AVAL must follow from them."))
    return out


# ---------------------------------------------------------------------------------------------- ADRS
def _adrs_params(ctx: Ctx) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for b in ctx.plan.binary:
        if b.source.dataset == "ADRS" and b.source.paramcd:
            out.setdefault(b.source.paramcd, set()).update(b.source.values)
    return out


def adrs_checks(ctx: Ctx) -> list[Check]:
    r, sid = ctx.data["ADRS"], ctx.sid
    out = _common_structure(ctx, "ADRS")
    params = _adrs_params(ctx)
    if "PARAMCD" not in r.columns or not params:
        return out
    planned = r["PARAMCD"].isin(params)
    dup = planned & r.duplicated([sid, "PARAMCD"], keep="first") & r[sid].notna()
    out.append(derived("ADRS.keys.unique", "ADRS", ~dup,
                       f"one record per {sid} for each planned parameter ({', '.join(sorted(params))})",
                       "Keep one record per subject for these parameters (e.g. the best response only).",
                       detail=_detail(dup, PARAMCD=r["PARAMCD"]), suite="structure"))
    for var in sorted({b.source.variable for b in ctx.plan.binary if b.source.dataset == "ADRS"}):
        if not _text(r, var):
            continue
        allowed = {v.upper() for v in cv.RESPONSE_CATEGORIES} | {v.upper() for vs in params.values() for v in vs}
        bad = planned & r[var].notna() & ~_text_in(r[var], allowed, upper=True)
        out.append(derived(f"ADRS.{var}.known_category", "ADRS", ~bad,
                           f"{var} of the planned parameters is a known response category or a value the plan names",
                           f"Recode {var} to the response criteria's categories (CR, PR, SD, PD, NR, NE...), or "
                           "name the value in the plan's binary[].source.values.",
                           detail=_detail(bad, PARAMCD=r["PARAMCD"], **{var: r[var]}), suite="structure"))
    return out


# ---------------------------------------------------------------------------------------------- ADAE
def adae_checks(ctx: Ctx) -> list[Check]:
    e, sid, plan = ctx.data["ADAE"], ctx.sid, ctx.plan
    out = _common_structure(ctx, "ADAE")
    if not plan.safety:
        return out
    v = plan.safety.variables
    if cv.AE_SEQ in e.columns:
        dup = ctx.duplicated_keys(e, cv.AE_SEQ)
        out.append(derived("ADAE.keys.unique", "ADAE", ~dup, f"one record per {sid} and {cv.AE_SEQ} in ADAE",
                           f"Renumber {cv.AE_SEQ} or remove duplicated AE records.",
                           detail=_detail(dup, **{cv.AE_SEQ: e[cv.AE_SEQ]}), suite="structure"))
    for var, what in ((v.soc, "system organ class"), (v.pt, "preferred term")):
        out.append(native(f"ADAE.{var}.not_null", "ADAE", "ExpectColumnValuesToNotBeNull", {"column": var},
                          f"the {what} {var} is present for every AE", f"Code every AE ({var}) with MedDRA.",
                          value_column=sid))
    if v.severity_kind == "ctcae":
        out.append(native(f"ADAE.{v.severity}.in_set", "ADAE", "ExpectColumnValuesToBeInSet",
                          {"column": v.severity, "value_set": list(cv.CTCAE_GRADES)}, f"{v.severity} is a CTCAE grade 1-5",
                          f"Recode {v.severity} to grades 1-5 (or set safety.variables.severity_kind).",
                          value_column=v.severity))
    else:
        out.append(native(f"ADAE.{v.severity}.in_set", "ADAE", "ExpectColumnValuesToBeInSet",
                          {"column": v.severity, "value_set": list(cv.MILD_MODERATE_SEVERE)},
                          f"{v.severity} is MILD, MODERATE or SEVERE",
                          f"Recode {v.severity} (or set safety.variables.severity_kind: ctcae).", value_column=v.severity))
    for var in (v.serious, v.teae_flag):
        if var and _text(e, var):
            out.append(native(f"ADAE.{var}.in_set", "ADAE", "ExpectColumnValuesToBeInSet",
                              {"column": var, "value_set": list(cv.NY)}, f"{var} is 'Y' or 'N'",
                              f"Recode {var} to Y or N.", value_column=var))
    if v.outcome and _text(e, v.outcome):
        out.append(native(f"ADAE.{v.outcome}.in_set", "ADAE", "ExpectColumnValuesToBeInSet",
                          {"column": v.outcome, "value_set": sorted(set(cv.AE_OUTCOME) | set(v.fatal_values))},
                          f"{v.outcome} is a CDISC outcome term", f"Recode {v.outcome} to CDISC controlled terms.",
                          value_column=v.outcome, severity="warning"))
        if v.severity_kind == "ctcae" and pd.api.types.is_numeric_dtype(e[v.severity]):
            bad = e[v.severity].eq(5) & e[v.outcome].notna() & ~e[v.outcome].isin(v.fatal_values)
            out.append(derived(f"ADAE.{v.severity}.grade5_fatal", "ADAE", ~bad,
                               f"a grade 5 AE has a fatal outcome ({v.outcome} in {', '.join(v.fatal_values)})",
                               f"Grade 5 means death from the AE: correct {v.severity} or {v.outcome}.",
                               detail=_detail(bad, **{v.pt: e[v.pt], v.severity: e[v.severity], v.outcome: e[v.outcome]}),
                               severity="warning"))
    if v.action and _text(e, v.action):
        out.append(native(f"ADAE.{v.action}.in_set", "ADAE", "ExpectColumnValuesToBeInSet",
                          {"column": v.action, "value_set": sorted(set(cv.AE_ACTION) | set(v.withdrawn_values))},
                          f"{v.action} is a CDISC action term", f"Recode {v.action} to CDISC controlled terms.",
                          value_column=v.action, severity="warning"))
    pts = sorted({p for t in plan.safety.of_interest for p in t.pt})
    socs = sorted({s for t in plan.safety.of_interest for s in t.soc})
    for var, terms, what in ((v.pt, pts, "preferred terms"), (v.soc, socs, "system organ classes")):
        if terms:
            out.append(native(f"ADAE.{var}.interest_terms_present", "ADAE", "ExpectColumnDistinctValuesToContainSet",
                              {"column": var, "value_set": terms},
                              f"the {what} of the plan's AEs of interest occur in {var}",
                              "A term with no AE is either a typo in safety.of_interest or truly absent; check the "
                              "spelling against the MedDRA term in the data.", value_column=var, severity="warning"))
    return out


# ------------------------------------------------------------------------------------- cross-dataset
def _origin(ctx: Ctx, t: pd.DataFrame, rows: pd.Series) -> str | None:
    """The ADSL date that equals STARTDT for (nearly) every record of one ADTTE parameter (`rows`)."""
    a = ctx.adsl
    start = t[cv.TTE_ORIGIN][rows]
    best, share = None, 0.0
    for col in a.columns:
        if col == ctx.cutoff or not pd.api.types.is_datetime64_any_dtype(a[col]):
            continue
        match = float(start.eq(ctx.subject_values(t, col)[rows]).mean()) if len(start) else 0.0
        if match > share:
            best, share = col, match
    return best if share >= ORIGIN_MATCH else None


def cross_checks(ctx: Ctx) -> list[Check]:
    plan, sid, a = ctx.plan, ctx.sid, ctx.adsl
    out: list[Check] = []
    cut = ctx.cutoff
    for ds in ("ADTTE", "ADRS", "ADAE"):
        if not ctx.data.has(ds) or sid not in ctx.data[ds].columns:
            continue
        f = ctx.data[ds]
        bad = f[sid].notna() & pd.Series(ctx.positions(f) < 0, index=f.index)
        out.append(derived(f"{ds}.subjects.in_ADSL", ds, ~bad, f"every {ds} subject exists in ADSL",
                           "Add the subjects to ADSL or remove their records.", detail=_detail(bad, **{sid: f[sid]}),
                           suite="cross-dataset"))
        date = {"ADTTE": cv.TTE_DATE, "ADRS": cv.BDS_DATE, "ADAE": cv.AE_START}[ds]
        if not is_date(f, date):
            continue
        dates = {date: f[date]}
        if is_date(a, cv.TRT_START):
            where = None
            teae = plan.safety.variables.teae_flag if plan.safety else None
            if ds == "ADAE" and teae and teae in f.columns:
                where = f[teae].eq("Y")
            out.append(_order_rule(f"{ds}.{date}.not_before_{cv.TRT_START}", ds, dates,
                                   ctx.subject_values(f, cv.TRT_START), cv.TRT_START, True,
                                   f"{ds} {date} is on or after the subject's first dose (ADSL {cv.TRT_START})"
                                   + (" for treatment-emergent AEs" if where is not None else ""),
                                   f"Correct {date} in {ds} or {cv.TRT_START} in ADSL.", where=where,
                                   suite="cross-dataset"))
        if cut:
            out.append(_order_rule(f"{ds}.{date}.not_after_{cut}", ds, dates, ctx.subject_values(f, cut), cut, False,
                                   f"{ds} {date} is not after the subject's data cut-off (ADSL {cut})",
                                   f"Correct {date}, or remove records dated after the cut-off.", suite="cross-dataset"))
        if is_date(a, cv.DEATH_DATE):
            out.append(_order_rule(f"{ds}.{date}.not_after_{cv.DEATH_DATE}", ds, dates,
                                   ctx.subject_values(f, cv.DEATH_DATE), cv.DEATH_DATE, False,
                                   f"{ds} {date} is not after the subject's death (ADSL {cv.DEATH_DATE})",
                                   f"Correct {date} in {ds} or {cv.DEATH_DATE} in ADSL: death is the last event.",
                                   suite="cross-dataset"))
    out += _origins(ctx)
    if plan.safety and ctx.data.has("ADAE") and sid in ctx.data["ADAE"].columns:
        pop = plan.populations.get(plan.safety.population)
        if pop and pop.flag and pop.flag in a.columns:
            e = ctx.data["ADAE"]
            flag = ctx.subject_values(e, pop.flag)
            bad = pd.Series(ctx.positions(e) >= 0, index=e.index) & flag.ne("Y")
            out.append(derived(f"ADAE.subjects.in_{pop.flag}", "ADAE", ~bad,
                               f"AEs are recorded for safety subjects ({pop.flag} = 'Y') only",
                               f"AEs of subjects outside the safety population are not analysed: check {pop.flag}.",
                               detail=_detail(bad, **{sid: e[sid], pop.flag: flag}), severity="warning",
                               suite="cross-dataset"))
    return out


def _origins(ctx: Ctx) -> list[Check]:
    """Each planned ADTTE parameter starts at one ADSL date: records only where that date (and its flag) exist."""
    if not ctx.data.has("ADTTE"):
        return []
    t, a = ctx.data["ADTTE"], ctx.adsl
    if not is_date(t, cv.TTE_ORIGIN) or "PARAMCD" not in t.columns:
        return []
    out: list[Check] = []
    for paramcd in dict.fromkeys(e.paramcd for e in ctx.plan.time_to_event):
        rows = t["PARAMCD"].eq(paramcd)
        origin = _origin(ctx, t, rows)
        if origin is None:
            continue
        value = ctx.subject_values(t, origin)
        flag = origin[:-2] + "FL" if origin.endswith("DT") else None
        ok = value.notna() & t[cv.TTE_ORIGIN].eq(value)
        shown = {origin: value, cv.TTE_ORIGIN: t[cv.TTE_ORIGIN]}
        if flag and flag in a.columns and _text(a, flag):
            fv = ctx.subject_values(t, flag)
            ok &= fv.eq("Y")
            shown = {flag: fv, **shown}
        bad = rows & ~ok
        who = f"{flag} = 'Y'" if flag in shown else f"a {origin}"
        out.append(derived(f"ADTTE.{paramcd}.origin_{origin}", "ADTTE", ~bad,
                           f"{paramcd} records exist only for subjects with {who} in ADSL and start at {origin} "
                           f"(its time origin)",
                           f"Each {paramcd} record needs the subject's {origin} in ADSL{' and ' + flag + ' = Y' if flag in shown else ''}"
                           f", with {cv.TTE_ORIGIN} equal to it: remove the record or correct ADSL.",
                           detail=_detail(bad, **shown), suite="cross-dataset"))
    return out


def all_checks(plan: Plan, data: StudyData) -> list[Check]:
    ctx = Ctx(plan, data)
    checks = adsl_checks(ctx)
    for name, fn in (("ADTTE", adtte_checks), ("ADRS", adrs_checks), ("ADAE", adae_checks)):
        if data.has(name):
            checks += fn(ctx)
    checks += cross_checks(ctx)
    seen: set[str] = set()
    unique = []
    for c in checks:
        if c.id not in seen:
            seen.add(c.id)
            unique.append(c)
    return unique

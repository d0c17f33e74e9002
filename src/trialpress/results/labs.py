"""Laboratory values and vital signs (ICH E3 12.4 and 12.5) → ARD rows, from BDS datasets (ADLB, ADVS) of
the safety population, per the plan's `safety.labs` / `safety.vitals`.

Records: the subjects of the safety population (and, when the plan names a record flag such as ANL01FL, its
'Y' records). Baseline: ABLFL = 'Y'. Post-baseline: ONTRTFL = 'Y' when the plan names the on-treatment flag,
else a record dated after the first dose (ADT > ADSL TRTSDT), else a visit number above 0; never a baseline
record. A subject with several records at one visit contributes their mean.
- By visit: n, mean, SD, median, minimum, maximum of the value at baseline and at each post-baseline visit
  (AVISIT, in AVISITN order), and of the change from baseline (CHG; without it, value - baseline value).
- Shift of the reference-range indicator: baseline (BNRIND; '(missing)' when none) by worst post-baseline
  indicator (ANRIND): NORMAL when every post-baseline value is normal, LOW or HIGH when the subject had only
  that abnormality, LOW+HIGH when both occurred (one category, so that each subject is counted once);
  '(missing)' when the subject has no post-baseline indicator. Subjects: those with a record of the parameter.
- Toxicity grades (ATOXGR/BTOXGR): ADaM codes the low direction with negative grades; each direction is
  tabulated separately (in the high direction a low grade counts as grade 0, and vice versa). Worst = the
  highest post-baseline grade in the direction; grade 3-4 = a worst grade of 3 or more ('worsened': from a
  baseline grade below 3 or missing).
- Liver tests (ADLB with ANRHI): ALT, AST and total bilirubin found by PARAMCD or test code (ALT, AST, BILI or
  TBILI), each subject's highest post-baseline value as a multiple of its upper limit of normal; the eDISH
  quadrants compare the highest ALT or AST (> 3 x ULN) and the highest bilirubin (> 2 x ULN), not necessarily
  on the same day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialpress.analysis.populations import rows_in_population
from trialpress.data.loading import StudyData
from trialpress.plan import Plan
from trialpress.plan.safety import Measurements
from trialpress.results import safety_keys as sk
from trialpress.results.ard import ARDBuilder, row
from trialpress.results.safety_subjects import (
    Subjects,
    as_days,
    is_yes,
    text_values,
)

BASELINE = "Baseline"
RANGE_ORDER = ("LOW", "NORMAL", "HIGH")
BOTH = "LOW+HIGH"
LIVER_TESTS = {"ALT": ("ALT",), "AST": ("AST",), "BILI": ("BILI", "TBILI")}


def post_baseline_rule(m: Measurements) -> str:
    if m.on_treatment_flag:
        return f"{m.on_treatment_flag} = 'Y' and {m.baseline_flag} not 'Y'"
    if m.date:
        return f"{m.date} after the first dose (ADSL TRTSDT) and {m.baseline_flag} not 'Y'"
    return f"{m.visit_number} > 0 and {m.baseline_flag} not 'Y'"


def _records(plan: Plan, data: StudyData, subjects: Subjects, m: Measurements) -> pd.DataFrame:
    """The analyzed records as a compact frame: subject (row of the population), parameter, value, visit ..."""
    frame = data[m.dataset]
    who = rows_in_population(subjects.frame, subjects.adsl, data.rows_in_adsl(m.dataset, plan.data.subject_id))
    keep = who >= 0
    if m.record_flag:
        keep &= is_yes(frame[m.record_flag])
    f = frame.loc[keep]
    s = who[keep]
    out = pd.DataFrame({"s": s, "p": text_values(f["PARAMCD"]).to_numpy(dtype=object),
                        "v": f["AVAL"].to_numpy(dtype=float)})
    out["base"] = is_yes(f[m.baseline_flag])
    if m.on_treatment_flag:
        post = is_yes(f[m.on_treatment_flag])
    elif m.date:
        first, _ = subjects.first_dose
        when = as_days(f[m.date], m.date, m.dataset).to_numpy()
        start = first.to_numpy()[s] if first is not None else np.full(len(s), np.datetime64("NaT"), "datetime64[ns]")
        post = ~np.isnat(when) & ~np.isnat(start) & (when > start)
    else:
        post = np.round(f[m.visit_number].to_numpy(dtype=float), 6) > 0
    out["post"] = post & ~out["base"].to_numpy()
    out["visit"] = text_values(f[m.visit]).to_numpy(dtype=object)
    out["vn"] = np.round(f[m.visit_number].to_numpy(dtype=float), 6)   # XPT stores 0 as 5e-79
    out["chg"] = f[m.change].to_numpy(dtype=float) if m.change else np.nan
    for col, var in (("anr", m.range_indicator), ("bnr", m.baseline_range_indicator), ("label", m.label),
                     ("unit", m.unit), ("tc", m.test_code)):
        out[col] = text_values(f[var]).to_numpy(dtype=object) if var else None
    for col, var in (("gr", m.grade), ("bgr", m.baseline_grade), ("uln", m.upper_limit)):
        out[col] = pd.to_numeric(f[var], errors="coerce").to_numpy(dtype=float) if var else np.nan
    out["g"] = subjects.group_of[s]
    return out


def collect_measurements(plan: Plan, data: StudyData, subjects: Subjects, ard: ARDBuilder, m: Measurements,
                         prefix: str) -> None:
    assert plan.safety is not None
    pop = plan.safety.population
    d = _records(plan, data, subjects, m)
    present = sorted({str(p) for p in d["p"].dropna()})
    params = [p for p in m.parameters if p in present] if m.parameters else present[:m.max_parameters]
    cap = "" if m.parameters or len(present) <= m.max_parameters else \
        f"the first {m.max_parameters} of {len(present)} parameters (alphabetical; safety.{prefix}.parameters " \
        "chooses)"
    groups = subjects.groups
    rule = post_baseline_rule(m)

    def add(key, value: float, **kw: object) -> None:  # type: ignore[no-untyped-def]
        ard.add(row(key, population=pop, value=value, **kw))  # type: ignore[arg-type]

    for param in params:
        p = d.loc[d["p"] == param]
        label = next((str(x) for x in p["label"] if x is not None), param)
        unit = next((str(x) for x in p["unit"] if x is not None), "")
        ard.add(row(sk.visit(prefix, "label", parameter=param, what="value", visit=""), population=pop, text=label,
                    method=f"{m.label or 'PARAMCD'} of {m.dataset} PARAMCD = '{param}'", note=cap))
        _by_visit(p, groups, prefix, param, unit, m, rule, add)
        if m.range_indicator and m.baseline_range_indicator:
            _range_shift(p, groups, prefix, param, m, rule, add)
        if m.grade and m.baseline_grade:
            _grade_shift(p, groups, prefix, param, m, rule, add)
    if prefix == "lab" and m.upper_limit:
        _liver(d, groups, m, rule, add)


def _stats_by(values: pd.DataFrame, column: str, by: list[str]) -> pd.DataFrame:
    """n, mean, SD (n - 1), median, min, max of `column` per `by` (one value per subject already)."""
    grouped = values.groupby(by, sort=False, observed=True)[column]
    return pd.DataFrame({"n": grouped.count().astype(float), "mean": grouped.mean(), "sd": grouped.std(ddof=1),
                         "median": grouped.median(), "min": grouped.min(), "max": grouped.max()})


def _add_summaries(stats: pd.DataFrame, groups: list[str], add, key_of, unit: str, method: str) -> None:  # type: ignore[no-untyped-def]
    """Rows of one summary per group (`stats` indexed by group code; a group with no value gets n = 0)."""
    empty = {"n": 0.0, "mean": np.nan, "sd": np.nan, "median": np.nan, "min": np.nan, "max": np.nan}
    for i, g in enumerate(groups):
        found = stats.loc[i].to_dict() if i in stats.index else empty
        for stat in ("n", "mean", "sd", "median", "min", "max"):
            add(key_of(stat, g), float(found[stat]), unit="" if stat == "n" else unit, method=method)


def _by_visit(p: pd.DataFrame, groups: list[str], prefix: str, param: str, unit: str, m: Measurements, rule: str,
              add) -> None:  # type: ignore[no-untyped-def]
    base = p.loc[p["base"] & p["v"].notna()].groupby("s", sort=False).agg(v=("v", "mean"), g=("g", "first"))
    _add_summaries(_stats_by(base, "v", ["g"]), groups, add,
                   lambda stat, g: sk.visit(prefix, stat, g, parameter=param, what="value", visit=BASELINE), unit,
                   f"AVAL of the baseline record ({m.baseline_flag} = 'Y')")
    post = p.loc[p["post"] & p["visit"].notna()]
    if post.empty:
        return
    per = post.groupby(["visit", "s"], sort=False).agg(v=("v", "mean"), chg=("chg", "mean"), g=("g", "first"),
                                                        vn=("vn", "median")).reset_index()
    if m.change:
        how = m.change
    else:
        per["chg"] = per["v"] - per["s"].map(base["v"])
        how = "AVAL - baseline AVAL"
    value_stats = _stats_by(per.dropna(subset=["v"]), "v", ["visit", "g"])
    change_stats = _stats_by(per.dropna(subset=["chg"]), "chg", ["visit", "g"])
    order = per.groupby("visit")["vn"].median()
    for visit in sorted(order.index, key=lambda v: (order[v], str(v))):
        for what, stats, method in (
                ("value", value_stats, f"AVAL at {m.visit} = '{visit}' ({rule})"),
                ("change", change_stats, f"change from baseline ({how}) at {m.visit} = '{visit}'")):
            inside = stats.index.get_level_values("visit") == visit
            at = stats.loc[inside].droplevel("visit")
            _add_summaries(at, groups, add, lambda stat, g, v=visit, w=what: sk.visit(
                prefix, stat, g, parameter=param, what=w, visit=str(v)), unit, method)


def _first_text(frame: pd.DataFrame, column: str) -> pd.Series:
    x = frame[["s", column]].dropna()
    return x.groupby("s")[column].first()


def _range_shift(p: pd.DataFrame, groups: list[str], prefix: str, param: str, m: Measurements, rule: str,
                 add) -> None:  # type: ignore[no-untyped-def]
    subjects = p.groupby("s")["g"].first()
    # baseline: BNRIND of the baseline record, else of any record of the subject
    base = _first_text(p.loc[p["base"]], "bnr").combine_first(_first_text(p, "bnr"))
    baseline = base.reindex(subjects.index).map(lambda v: sk.MISSING if pd.isna(v) else str(v).upper())
    worst = _worst_ranges(p, subjects.index)
    rows = _ordered(set(baseline), RANGE_ORDER)
    cols = _ordered(set(worst), (*RANGE_ORDER, BOTH))
    method = (f"baseline {m.baseline_range_indicator} by worst post-baseline {m.range_indicator} ({rule}): "
              "NORMAL, LOW, HIGH, or LOW+HIGH when both occurred")
    for i, g in enumerate(groups):
        inside = (subjects == i).to_numpy()
        n = int(inside.sum())
        add(sk.shift(prefix, "subjects", g, parameter=param), n, n=n, method="subjects with a record of the "
            "parameter")
        b, w = baseline.to_numpy()[inside], worst.to_numpy()[inside]
        for r in rows:
            add(sk.shift(prefix, "n", g, parameter=param, baseline=r), int((b == r).sum()), n=n,
                method=f"baseline {m.baseline_range_indicator} (all worst categories)")
            for c in cols:
                add(sk.shift(prefix, "n", g, parameter=param, baseline=r, worst=c), int(((b == r) & (w == c)).sum()),
                    n=n, method=method)


def _worst_ranges(p: pd.DataFrame, subjects: pd.Index) -> pd.Series:
    """Each subject's worst post-baseline indicator: NORMAL when every value is normal, else the abnormal values
    that occurred joined by '+' (LOW, HIGH, then others: LOW+HIGH when both); '(missing)' with no value."""
    post = p.loc[p["post"] & p["anr"].notna(), ["s", "anr"]]
    values = post["anr"].map(lambda v: str(v).upper())
    abnormal = sorted(set(values) - {"NORMAL"}, key=lambda v: (RANGE_ORDER.index(v) if v in RANGE_ORDER else 9, v))
    worst = pd.Series(sk.MISSING, index=subjects, dtype=object)
    worst[worst.index.isin(post["s"].unique())] = "NORMAL"
    label = pd.Series("", index=subjects, dtype=object)
    for v in abnormal:
        hit = label.index.isin(post.loc[(values == v).to_numpy(), "s"].unique())
        label[hit] = [f"{t}+{v}" if t else v for t in label[hit]]
    return worst.where(label == "", label)


def _ordered(found: set[str], standard: tuple[str, ...]) -> list[str]:
    """The standard categories (always shown), any others found, then '(missing)' when it occurs."""
    others = sorted(found - set(standard) - {sk.MISSING})
    return [*standard, *others] + ([sk.MISSING] if sk.MISSING in found else [])


def _grade_shift(p: pd.DataFrame, groups: list[str], prefix: str, param: str, m: Measurements, rule: str,
                 add) -> None:  # type: ignore[no-untyped-def]
    subjects = p.groupby("s")["g"].first()
    directions = [(name, sign) for name, sign in (("high", 1.0), ("low", -1.0))
                  if ((p["gr"] * sign > 0) | (p["bgr"] * sign > 0)).any()]
    for direction, sign in directions:
        graded = p.assign(dg=np.clip(p["gr"] * sign, 0, None), db=np.clip(p["bgr"] * sign, 0, None))
        base = _first_text(graded.loc[graded["base"]], "db").combine_first(_first_text(graded, "db"))
        base = base.reindex(subjects.index)
        worst = graded.loc[graded["post"]].dropna(subset=["dg"]).groupby("s")["dg"].max().reindex(subjects.index)
        top = int(max(4, np.nanmax(np.r_[base.to_numpy(dtype=float), worst.to_numpy(dtype=float), 0])))
        levels = [str(k) for k in range(top + 1)]

        def name(x: float) -> str:
            return sk.MISSING if np.isnan(x) else str(int(x))

        b = np.array([name(x) for x in base.to_numpy(dtype=float)], dtype=object)
        w = np.array([name(x) for x in worst.to_numpy(dtype=float)], dtype=object)
        rows = levels + ([sk.MISSING] if (b == sk.MISSING).any() else [])
        cols = levels + ([sk.MISSING] if (w == sk.MISSING).any() else [])
        words = "high (increased)" if sign > 0 else "low (decreased; negative grades)"
        method = (f"baseline {m.baseline_grade} by worst post-baseline {m.grade} ({rule}), direction {words}; a "
                  "grade in the other direction counts as 0")
        g_of = subjects.to_numpy()
        for i, g in enumerate([*groups, ""]):
            inside = g_of == i if g else g_of >= 0
            n = int(inside.sum())
            if g:
                add(sk.grade_shift(prefix, "subjects", g, parameter=param, direction=direction), n, n=n,
                    method="subjects with a record of the parameter")
                for r in rows:
                    add(sk.grade_shift(prefix, "n", g, parameter=param, direction=direction, baseline=r),
                        int((b[inside] == r).sum()), n=n, method=f"baseline {m.baseline_grade} (all worst grades)")
                    for c in cols:
                        add(sk.grade_shift(prefix, "n", g, parameter=param, direction=direction, baseline=r, worst=c),
                            int(((b[inside] == r) & (w[inside] == c)).sum()), n=n, method=method)
            wv = worst.to_numpy(dtype=float)[inside]
            bv = base.to_numpy(dtype=float)[inside]
            with_post = int((~np.isnan(wv)).sum())
            high = wv >= 3
            add(sk.grade34(prefix, g, parameter=param, direction=direction), int(high.sum()), n=with_post,
                method=f"worst post-baseline {m.grade} >= 3 ({words}); n: subjects with a post-baseline grade")
            add(sk.grade34(prefix, g, parameter=param, direction=direction, term="worsened"),
                int((high & ~(bv >= 3)).sum()), n=with_post,
                method=f"worst post-baseline {m.grade} >= 3 from a baseline {m.baseline_grade} below 3 or missing")


def _liver(d: pd.DataFrame, groups: list[str], m: Measurements, rule: str, add) -> None:  # type: ignore[no-untyped-def]
    """eDISH counts: the highest post-baseline ALT/AST and total bilirubin as multiples of the ULN."""
    post = d.loc[d["post"] & (d["uln"] > 0) & d["v"].notna()]
    found: dict[str, pd.Series] = {}
    for test, codes in LIVER_TESTS.items():
        hit = post["p"].isin(codes) | (post["tc"].isin(codes) if m.test_code else False)
        if hit.any():
            x = post.loc[hit]
            found[test] = (x["v"] / x["uln"]).groupby(x["s"]).max()
    if "BILI" not in found or not ({"ALT", "AST"} & set(found)):
        return
    group_of = d.groupby("s")["g"].first()
    everyone = group_of.index
    ratio = {t: s.reindex(everyone) for t, s in found.items()}
    tests = [t for t in ("ALT", "AST") if t in ratio]
    trans = pd.concat([ratio[t] for t in tests], axis=1).max(axis=1, skipna=True)
    has_trans = pd.concat([ratio[t].notna() for t in tests], axis=1).any(axis=1)
    bili = ratio["BILI"]
    both = has_trans & bili.notna()
    names = "ALT or AST" if len(tests) == 2 else tests[0]
    uln = f"{m.upper_limit} (ULN)"
    criteria: list[tuple[str, pd.Series, pd.Series, str]] = []
    for t in tests:
        criteria.append((f"{t.lower()}_3", ratio[t] > 3, ratio[t].notna(), f"highest post-baseline {t} > 3 x {uln}"))
    for k in (3, 5, 10, 20):
        criteria.append((f"alt_or_ast_{k}", trans > k, has_trans, f"highest post-baseline {names} > {k} x {uln}"))
    criteria.append(("bili_2", bili > 2, bili.notna(), f"highest post-baseline total bilirubin > 2 x {uln}"))
    quadrants = (("normal", (trans <= 3) & (bili <= 2), f"{names} <= 3 x ULN and bilirubin <= 2 x ULN"),
                 ("hyperbilirubinaemia", (trans <= 3) & (bili > 2), f"{names} <= 3 x ULN and bilirubin > 2 x ULN"),
                 ("temple", (trans > 3) & (bili <= 2),
                  f"{names} > 3 x ULN and bilirubin <= 2 x ULN (Temple's corollary)"),
                 ("potential_hys_law", (trans > 3) & (bili > 2),
                  f"{names} > 3 x ULN and bilirubin > 2 x ULN (potential Hy's law; not necessarily the same day)"))
    for term, mask, quad_method in quadrants:
        criteria.append((term, mask & both, both, f"eDISH quadrant of the highest post-baseline values: {quad_method}"))
    g_of = group_of.to_numpy()
    for i, g in enumerate([*groups, ""]):
        inside = g_of == i if g else g_of >= 0
        add(sk.liver("subjects", g), int((both.to_numpy() & inside).sum()), n=int((both.to_numpy() & inside).sum()),
            method=f"subjects with post-baseline {names} and total bilirubin ({rule})")
        for term, mask, base, method in criteria:
            denominator = int((base.to_numpy() & inside).sum())
            add(sk.liver("n", g, term=term), int((mask.fillna(False).to_numpy(dtype=bool) & inside).sum()),
                n=denominator, method=method)

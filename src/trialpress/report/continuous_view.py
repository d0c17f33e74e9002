"""Continuous endpoints for the templates: the CSR table (baseline, the primary visit, change from baseline,
LS means and the difference vs the reference), the mean-over-visits figure, and the sentences' pieces — every
number from the ARD, every comparative word from its decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from trialpress.plan import Continuous, Plan
from trialpress.report import formatting as fmt
from trialpress.report.context import ContextBuilder, FigureView, GroupView, Num, TableView, comparator_side
from trialpress.report.escape import slug
from trialpress.report.figures.jobs import FigureJob
from trialpress.report.figures.specs import MeansPanel
from trialpress.report.tables import Cell, Table, label
from trialpress.results import keys

MODEL_NAMES = {"mmrm": "MMRM", "ancova": "ANCOVA"}
DF_NAMES = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger", "residual": "residual"}
COVARIANCE_NAMES = {"us": "unstructured", "toeplitz": "Toeplitz", "ar1": "first-order autoregressive",
                    "cs": "compound symmetry", "none": "none (the model did not converge)"}


@dataclass(frozen=True)
class ContinuousContrast:
    first: GroupView            # the favored group when the difference is significant, else the comparator
    second: GroupView
    first_lsmean: Num
    second_lsmean: Num
    difference: Num             # comparator minus reference
    ci: Num
    p_phrase: Num
    significant: bool | None
    favours: str                # 'comparator', 'reference' or 'neither'
    comparator: GroupView
    reference: GroupView
    comparator_direction: str = ""   # a safety endpoint's words: 'higher' / 'lower' ('' when nothing is favored)

    @property
    def comparator_lsmean(self) -> Num:
        return self.first_lsmean if self.first.value == self.comparator.value else self.second_lsmean

    @property
    def reference_lsmean(self) -> Num:
        return self.second_lsmean if self.first.value == self.comparator.value else self.first_lsmean


@dataclass(frozen=True)
class GroupMean:
    """One group's (LS) mean at the primary visit with its CI, for a sentence that describes (a study of one
    group: nothing is compared)."""

    group: GroupView
    estimate: Num
    ci: Num


@dataclass(frozen=True)
class ContinuousView:
    id: str
    label: str
    abbreviation: str | None    # None also when the label already holds it
    unit: str
    role: str                   # 'efficacy' (the results) or 'safety' (the safety section, described not favored)
    better: str                 # 'higher' / 'lower'
    visit: str                  # the primary visit
    what: str                   # 'change from baseline' / 'value' / 'percent change from baseline'
    model: str                  # 'MMRM' / 'ANCOVA' / ''
    population_label: str
    contrasts: list[ContinuousContrast]
    in_abstract: bool
    table: TableView | None
    figures: list[FigureView]
    by_group: list[GroupMean] = field(default_factory=list)
    statistic: str = "mean"     # what `by_group` holds: 'LS mean' (a model) or 'mean'


WHAT = {"CHG": "change from baseline", "AVAL": "value", "PCHG": "percent change from baseline"}


def _unit(cb: ContextBuilder, ep: Continuous, parameter: str) -> str:
    """The unit the ARD gives `parameter`'s values (BASE, AVAL, CHG or PCHG): the plan's, else the data's AVALU,
    % for a percent change; '' when there is none."""
    return next((r.unit for r in cb.ard.select(endpoint=ep.id, analysis="cont_desc", statistic="mean",
                                                parameter=parameter) if r.unit), "")


def _d(cb: ContextBuilder, key: keys.Key, decimals: int) -> Num:
    r = cb.row(key)
    return Num(fmt.fixed(r.value, decimals), r.id)


def _signed_ci(cb: ContextBuilder, key: keys.Key, decimals: int) -> Num:
    """'-2.7 to 0.7': 'to' between bounds that may be negative."""
    r = cb.row(key)
    return Num(f"{fmt.fixed(r.lower, decimals)} to {fmt.fixed(r.upper, decimals)}", r.id)


def _contrasts(cb: ContextBuilder, ep: Continuous, groups: list[GroupView]) -> list[ContinuousContrast]:
    if ep.model == "descriptive":
        return []
    by, out = {g.value: g for g in groups}, []
    ref = cb.plan.groups.reference
    for c in cb.plan.comparators:
        diff = keys.continuous(ep.id, ep.model, "difference", c, visit=ep.primary_visit)
        if not cb.has(diff):
            continue
        favoured = cb.decision(keys.decision(ep.id, "favours", c, on=ep.model))
        sig = cb.flag(keys.decision(ep.id, "significant", c, on=ep.model))
        side = "neither" if not favoured else ("comparator" if favoured == c else "reference")
        first, second = (by[ref], by[c]) if sig and side == "reference" else (by[c], by[ref])
        lsm = {g: _d(cb, keys.continuous(ep.id, ep.model, "lsmean", g, visit=ep.primary_visit), ep.decimals)
               for g in (c, ref)}
        out.append(ContinuousContrast(first, second, lsm[first.value], lsm[second.value], _d(cb, diff, ep.decimals),
                                      _signed_ci(cb, diff, ep.decimals),
                                      cb.p_phrase(keys.continuous(ep.id, ep.model, "p", c, visit=ep.primary_visit)),
                                      sig, side, by[c], by[ref],
                                      comparator_side(sig, side, ep.better, "higher", "lower")))
    return out


def _desc_rows(cb: ContextBuilder, ep: Continuous, parameter: str, visit: str, cols: list[str]) -> list[tuple[Cell, ...]]:
    d = ep.decimals

    def stat(g: str, s: str) -> float:
        return cb.row(keys.continuous(ep.id, "desc", s, g, parameter=parameter, visit=visit)).value

    def cell(g: str, text: str, s: str = "mean") -> Cell:
        return Cell(text, keys.continuous(ep.id, "desc", s, g, parameter=parameter, visit=visit).id)

    return [
        (label("n", indent=1), *(cell(g, fmt.count(stat(g, "n")), "n") for g in cols)),
        (label("Mean (SD)", indent=1), *(cell(g, f"{fmt.fixed(stat(g, 'mean'), d)} ({fmt.fixed(stat(g, 'sd'), d)})")
                                         for g in cols)),
        (label("Median (Q1–Q3)", indent=1), *(cell(g, f"{fmt.fixed(stat(g, 'median'), d)} "
                                                     f"({fmt.span(stat(g, 'q1'), stat(g, 'q3'), d)})", "median")
                                             for g in cols)),
    ]


def continuous_table(cb: ContextBuilder, plan: Plan, ep: Continuous) -> TableView:
    groups = cb.analysed_groups(ep.id, ep.population)
    cols = [g.value for g in groups]
    def unit(parameter: str) -> str:
        u = _unit(cb, ep, parameter)
        return f", {u}" if u else ""

    rows: list[tuple[Cell, ...]] = [(label(f"Baseline{unit('BASE')}", bold=True), *(Cell("") for _ in cols))]
    rows += _desc_rows(cb, ep, "BASE", "", cols)
    rows.append((label(f"{ep.primary_visit}{unit('AVAL')}", bold=True), *(Cell("") for _ in cols)))
    rows += _desc_rows(cb, ep, "AVAL", ep.primary_visit, cols)
    if ep.value != "AVAL":
        rows.append((label(f"{fmt.upper_first(WHAT[ep.value])} at {ep.primary_visit}{unit(ep.value)}", bold=True),
                     *(Cell("") for _ in cols)))
        rows += _desc_rows(cb, ep, ep.value, ep.primary_visit, cols)
    if ep.model != "descriptive":
        rows += _model_rows(cb, ep, cols)
    table = Table(f"table-{slug(ep.id.lower())}", (tuple([label("")] + [Cell(g.header) for g in groups]),),
                  tuple(rows), (2.6,) + (1.5,) * len(cols))
    return TableView(cb.numbering.table(f"continuous-{ep.id}"), f"{ep.label}: {WHAT[ep.value]} by visit and "
                     f"{MODEL_NAMES[ep.model] if ep.model != 'descriptive' else 'summary'}", table,
                     _note(cb, ep), population=cb.analysed_label(ep.id))


def _model_rows(cb: ContextBuilder, ep: Continuous, cols: list[str]) -> list[tuple[Cell, ...]]:
    ref, d, a, v = cb.plan.groups.reference, ep.decimals, ep.model, ep.primary_visit
    rows: list[tuple[Cell, ...]] = [(label(f"{MODEL_NAMES[a]} at {v}", bold=True), *(Cell("") for _ in cols))]
    lsm = []
    for g in cols:
        m, se = cb.row(keys.continuous(ep.id, a, "lsmean", g, visit=v)), cb.row(keys.continuous(ep.id, a, "lsmean_se", g, visit=v))
        lsm.append(Cell(f"{fmt.fixed(m.value, d)} ({fmt.fixed(se.value, d)})", m.id))
    rows.append((label("LS mean (SE)", indent=1), *lsm))
    if not cb.plan.comparators:   # one group: nothing to compare
        return rows
    diff = [Cell("Reference") if g == ref else Cell(
        f"{_d(cb, keys.continuous(ep.id, a, 'difference', g, visit=v), d).text} "
        f"({_signed_ci(cb, keys.continuous(ep.id, a, 'difference', g, visit=v), d).text})",
        keys.continuous(ep.id, a, "difference", g, visit=v).id) for g in cols]
    rows.append((label(f"Difference vs reference ({cb.conf} CI)", indent=1), *diff))
    p = [Cell("") if g == ref else Cell(cb.num(keys.continuous(ep.id, a, "p", g, visit=v), "p").text,
                                        keys.continuous(ep.id, a, "p", g, visit=v).id) for g in cols]
    rows.append((label("P", indent=2), *p))
    return rows


def _note(cb: ContextBuilder, ep: Continuous) -> str:
    base = "SD, standard deviation; Q1–Q3, first and third quartiles (SAS definition 5); LS, least-squares; SE, standard error."
    if ep.model == "descriptive":
        return base
    terms = ", ".join([*ep.covariates, *ep.factors])
    weights = "observed margins of the factors" if ep.lsmeans == "observed" else "equal weights of the factor levels"
    compared = bool(cb.plan.comparators)
    if ep.model == "mmrm":
        cov = cb.decision_text(keys.continuous(ep.id, "mmrm", "covariance"))
        model = (f"MMRM of the {WHAT[ep.value]} with " + ("group, visit and group-by-visit" if compared else "visit")
                 + (f", {terms}" if terms else "")
                 + (f", {', '.join(ep.covariate_by_visit)}-by-visit" if ep.covariate_by_visit else "")
                 + f"; {COVARIANCE_NAMES.get(cov, cov)} covariance over visits; {DF_NAMES[ep.df_method]} degrees of "
                 "freedom; every observed visit used, missing visits assumed missing at random")
    else:
        model = (f"ANCOVA of the {WHAT[ep.value]} at {ep.primary_visit} with "
                 + ", ".join((["group"] if compared else []) + ([terms] if terms else [])) 
                 + "; subjects with a missing value at that visit are left out")
    return f"{base} {model}; LS means with {weights}" + (
        "; differences are each group minus the reference." if compared else ".")


def means_figure(cb: ContextBuilder, plan: Plan, ep: Continuous, figdir: Path, kinds: tuple[str, ...],
                 jobs: list[FigureJob]) -> FigureView:
    """LS means (MMRM) or means (otherwise) of the analyzed value at each visit, with 95% CIs (its job joins
    `jobs`)."""
    visits = [r.timepoint for r in cb.ard.select(endpoint=ep.id, analysis="cont_desc", statistic="n", group="",
                                                 parameter=ep.value if ep.value != "AVAL" else "AVAL")]
    use_model = ep.model == "mmrm"

    def row(g: str, v: str):  # type: ignore[no-untyped-def]
        return cb.row(keys.continuous(ep.id, "mmrm", "lsmean", g, visit=v) if use_model else
                      keys.continuous(ep.id, "desc", "mean", g, parameter=ep.value, visit=v))

    gv, unit = plan.group_values, _unit(cb, ep, ep.value)
    panel = MeansPanel(tuple(visits), {g: plan.group_labels[g] for g in gv},
                       {g: tuple(row(g, v).value for v in visits) for g in gv},
                       {g: tuple(row(g, v).lower for v in visits) for g in gv},
                       {g: tuple(row(g, v).upper for v in visits) for g in gv},
                       {g: tuple(int(cb.row(keys.continuous(ep.id, "desc", "n", g, parameter=ep.value, visit=v)).value)
                                 for v in visits) for g in gv},
                       f"{'LS mean ' if use_model else 'Mean '}{WHAT[ep.value]}" + (f" ({unit})" if unit else ""),
                       0.0 if ep.value != "AVAL" else None)
    stem = figdir / f"means-{ep.id.lower()}"
    jobs.append(FigureJob(panel, stem, kinds))
    n = cb.numbering.figure(f"means-{ep.id}")
    what = f"{'LS mean' if use_model else 'Mean'} {WHAT[ep.value]} in {fmt.lower_first(ep.label)} by visit"
    alt = (f"{what} for {', '.join(plan.group_labels[g] for g in gv)}, with {cb.conf} confidence intervals, over "
           f"{len(visits)} visits.")
    return FigureView(f"figure-{n}", str(n), f"{what} ({fmt.lower_first(cb.analysed_label(ep.id))})",
                      f"figures/{stem.name}.svg", alt,
                      f"Bars are {cb.conf} CIs" + (" from the MMRM" if use_model else " of the mean") +
                      "; the numbers below the axis are the subjects with a value at each visit.")


def continuous_views(cb: ContextBuilder, plan: Plan, figures: dict[str, list[FigureView]],
                     role: str = "efficacy") -> list[ContinuousView]:
    """The views of the plan's continuous endpoints of one role (their tables are numbered when built: the
    efficacy ones after the efficacy outcomes, the safety ones after the safety outcomes)."""
    out = []
    for ep in (e for e in plan.continuous if e.role == role):
        groups = cb.analysed_groups(ep.id, ep.population)
        # an abbreviation the label already spells ('FKSI-19 total score') is not repeated after it
        shown = None if ep.abbreviation and ep.abbreviation in ep.label else ep.abbreviation
        modelled = ep.model != "descriptive"
        out.append(ContinuousView(ep.id, ep.label, shown, _unit(cb, ep, ep.value), ep.role, ep.better, ep.primary_visit,
                                  WHAT[ep.value], MODEL_NAMES.get(ep.model, ""), cb.analysed_label(ep.id),
                                  _contrasts(cb, ep, groups), ep.in_abstract, continuous_table(cb, plan, ep),
                                  figures.get(ep.id, []), _by_group(cb, ep, groups),
                                  "LS mean" if modelled else "mean"))
    return out


def _by_group(cb: ContextBuilder, ep: Continuous, groups: list[GroupView]) -> list[GroupMean]:
    """Each group's LS mean (a model) or mean at the primary visit, with its CI (groups without one left out)."""
    out = []
    for g in groups:
        key = (keys.continuous(ep.id, ep.model, "lsmean", g.value, visit=ep.primary_visit) if ep.model != "descriptive"
               else keys.continuous(ep.id, "desc", "mean", g.value, parameter=ep.value, visit=ep.primary_visit))
        r = cb.ard.get(key)
        if r is not None and not fmt.is_missing(r.value):
            out.append(GroupMean(g, _d(cb, key, ep.decimals), _signed_ci(cb, key, ep.decimals)))
    return out


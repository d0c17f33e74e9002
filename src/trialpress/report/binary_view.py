"""Binary endpoints for the templates: 'n = 89 [54%]' views, their block of an outcomes table, and the
abstract's grouping of outcomes by the decisions (significance, which group's rate is higher)."""

from __future__ import annotations

from dataclasses import dataclass

from trialpress.plan import Binary, Plan
from trialpress.report import formatting as fmt
from trialpress.report.context import ContextBuilder, GroupView, Num
from trialpress.report.tables import Cell, label
from trialpress.report.tte_view import Comparison, comparison
from trialpress.results import keys


@dataclass(frozen=True)
class Count:
    """'n = 89 [54%]' pieces of one group."""

    n: Num
    percent: Num


@dataclass(frozen=True)
class BinaryContrast:
    id: str
    label: str
    abbreviation: str
    role: str
    better: str               # 'higher' or 'lower'
    first: GroupView          # the group with the higher rate (the comparator when rates are equal)
    second: GroupView
    first_count: Count
    second_count: Count
    comparison: Comparison    # odds ratio of the comparator vs the reference
    significant: bool | None
    favourable_group: str     # the group the significant difference favors ('' if none)

    @property
    def comparator_count(self) -> Count:
        """The comparator's count: with the reference's, in the odds ratio's own order."""
        return self.first_count if self.first.value == self.comparison.group.value else self.second_count

    @property
    def reference_count(self) -> Count:
        return self.second_count if self.first.value == self.comparison.group.value else self.first_count


@dataclass(frozen=True)
class BinaryRate:
    """One endpoint's rate in one group with its exact CI, for a sentence that describes (a study of one group)."""

    id: str
    label: str
    abbreviation: str
    group: GroupView
    count: Count
    ci: Num                   # '41.2–58.0' (percent)


@dataclass(frozen=True)
class BinarySection:
    contrasts: list[BinaryContrast]
    population_label: str
    rates: list[BinaryRate]

    def higher_with(self, group: str) -> list[BinaryContrast]:
        """Outcomes whose odds are significantly higher in `group`."""
        return [c for c in self.contrasts if c.significant and c.first.value == group]

    def favourable_with(self, group: str) -> list[BinaryContrast]:
        """Outcomes whose significant difference favors `group` (by each endpoint's better direction)."""
        return [c for c in self.contrasts if c.favourable_group == group]

    @property
    def by_endpoint(self) -> list[list[BinaryContrast]]:
        """The contrasts of each endpoint together, in order: one Results paragraph per endpoint, however many
        comparators it is compared over."""
        groups: dict[str, list[BinaryContrast]] = {}
        for c in self.contrasts:
            groups.setdefault(c.id, []).append(c)
        return list(groups.values())

    @property
    def not_significant(self) -> list[BinaryContrast]:
        return [c for c in self.contrasts if not c.significant]


@dataclass(frozen=True)
class LeadContrast:
    """One comparison of a binary endpoint the abstract's conclusion follows, ordered as a time-to-event or
    continuous one is: the group its significant difference favors first, else the comparator."""

    first: GroupView
    second: GroupView
    comparison: Comparison


@dataclass(frozen=True)
class BinaryLead:
    """A binary primary endpoint as the conclusion states it."""

    id: str
    label: str
    better: str               # 'higher' or 'lower': the rate the favored group has
    contrasts: list[LeadContrast]


def binary_lead(section: BinarySection, endpoint: str) -> BinaryLead | None:
    """The conclusion's view of binary endpoint `endpoint` (None when the section does not hold it)."""
    mine = [c for c in section.contrasts if c.id == endpoint]
    if not mine:
        return None
    out = []
    for c in mine:
        comp = c.comparison
        favoured = c.favourable_group == comp.reference.value
        out.append(LeadContrast(comp.reference if favoured else comp.group, comp.group if favoured else comp.reference,
                                comp))
    return BinaryLead(endpoint, mine[0].label, mine[0].better, out)


def count(cb: ContextBuilder, ep: Binary, group: str) -> Count:
    key = keys.rate(ep.id, "n", group)
    return Count(cb.num(key, "count"), cb.num(key, "percent"))


def binary_section(cb: ContextBuilder, plan: Plan, role: str = "efficacy") -> BinarySection | None:
    endpoints = [b for b in plan.binary if b.role == role]
    if not endpoints:
        return None
    contrasts, rates = [], []
    for ep in endpoints:
        groups = cb.analysed_groups(ep.id, ep.population)
        for g in groups:
            rates.append(BinaryRate(ep.id, ep.label, ep.abbreviation or fmt.lower_first(ep.label), g,
                                    count(cb, ep, g.value), _pct_ci_num(cb, keys.rate(ep.id, "proportion", g.value))))
        for c in plan.comparators:
            comp = comparison(cb, ep.id, "logistic", "or", c, groups)
            higher = cb.decision(keys.decision(ep.id, "higher", c, on="rate"))
            first, second = (comp.reference, comp.group) if higher == comp.reference.value else (comp.group,
                                                                                                  comp.reference)
            favourable = ""
            if comp.significant and comp.favours != "neither":
                favourable = (comp.group if comp.favours == "comparator" else comp.reference).value
            contrasts.append(BinaryContrast(ep.id, ep.label, ep.abbreviation or fmt.lower_first(ep.label), ep.role,
                                            ep.better, first, second, count(cb, ep, first.value),
                                            count(cb, ep, second.value), comp, comp.significant, favourable))
    return BinarySection(contrasts, cb.analysed_label(endpoints[0].id), rates)


def binary_note(cb: ContextBuilder, plan: Plan, endpoints: list[Binary]) -> str:
    """The outcomes table's note for its binary endpoints: the CI of each statistic at the plan's level, and
    Firth's fits where the ARD's odds-ratio rows say the data separated."""
    conf = cb.conf
    firth = any("Firth" in cb.row(keys.model(ep.id, analysis, "or", c)).note
                for ep in endpoints for analysis in ("logistic", "logistic_adj") for c in plan.comparators
                if cb.has(keys.model(ep.id, analysis, "or", c)))
    adjusted = ", ".join(plan.label_of(v) for v in sorted({v for b in endpoints for v in b.adjust_for}))
    if not plan.comparators:   # one group: rates only
        return f"Percentages of the patients analyzed. Exact (Clopper-Pearson) {conf} CIs for rates."
    return (f"OR, odds ratio. Percentages of the patients analyzed in the group. Exact (Clopper-Pearson) {conf} CIs "
            f"for rates; differences in proportions with Newcombe hybrid score {conf} CIs; odds ratios "
            f"({_vs(plan)}) from logistic regression with "
            + (f"profile-likelihood {conf} CI and likelihood-ratio P, "
               if plan.conventions.odds_ratio_inference == "likelihood-ratio" else f"Wald {conf} CI and P, ")
            + (f"unadjusted and adjusted for {adjusted}" if adjusted else "unadjusted")
            + ("; where the data separate completely (as noted), Firth's penalized likelihood with profile "
               "penalized-likelihood CI and penalized likelihood-ratio P." if firth else "."))


def _vs(plan: Plan) -> str:
    labels = plan.group_labels
    return "; ".join(f"{fmt.lower_first(labels[c])} vs {fmt.lower_first(labels[plan.groups.reference])}"
                     for c in plan.comparators)


def binary_rows(cb: ContextBuilder, plan: Plan, endpoints: list[Binary]) -> list[tuple[Cell, ...]]:
    """The binary endpoints' blocks of an outcomes table."""
    gv = plan.group_values
    ref = plan.groups.reference
    rows: list[tuple[Cell, ...]] = []
    for ep in endpoints:
        head = ep.label if not cb.subset_shown(ep.id) else f"{ep.label}, {cb.analysed_label(ep.id)}"
        rows.append((label(head, bold=True), *(Cell("") for _ in gv)))
        if cb.subset_shown(ep.id):
            rows.append((label("Patients analyzed, n", indent=1),
                         *(_cell(cb.num(keys.analysis_set(ep.id, "n", g), "count")) for g in gv)))
        cells = []
        for g in gv:
            c = count(cb, ep, g)
            cells.append(Cell(f"{c.n.text} ({c.percent.text})", c.n.ref))
        rows.append((label("n (%)", indent=1), *cells))
        rows.append((label(f"{cb.conf} CI, %", indent=1),
                     *(_pct_ci(cb, keys.rate(ep.id, "proportion", g)) for g in gv)))
        if plan.comparators:
            rows.append((label(f"Difference, % ({cb.conf} CI)", indent=1), *(
                Cell("Reference") if g == ref else _diff(cb, keys.difference(ep.id, g)) for g in gv)))
        for name, analysis in ((f"OR ({cb.conf} CI)", "logistic"), (f"Adjusted OR ({cb.conf} CI)", "logistic_adj")):
            if not any(cb.has(keys.model(ep.id, analysis, "or", c)) for c in plan.comparators):
                continue
            rows.append((label(name, indent=1), *(
                Cell("Reference") if g == ref else _cell(cb.est_ci(keys.model(ep.id, analysis, "or", g)))
                for g in gv)))
            rows.append((label(f"P ({name.split(' (')[0]})", indent=2), *(
                Cell("") if g == ref else _cell(cb.num(keys.model(ep.id, analysis, "p", g), "p")) for g in gv)))
    return rows


def _cell(num: Num) -> Cell:
    return Cell(num.text, num.ref)


def _diff(cb: ContextBuilder, key: keys.Key) -> Cell:
    r = cb.row(key)
    return Cell(fmt.percent_difference(r.value, r.lower, r.upper), r.id)


def _pct_ci_num(cb: ContextBuilder, key: keys.Key) -> Num:
    """A proportion's CI in percent, '41.2–58.0', linked to its ARD row."""
    r = cb.row(key)
    return Num(fmt.ci(100 * r.lower, 100 * r.upper, 1, fmt.EN_DASH), r.id)


def _pct_ci(cb: ContextBuilder, key: keys.Key) -> Cell:
    num = _pct_ci_num(cb, key)
    return Cell(num.text, num.ref)

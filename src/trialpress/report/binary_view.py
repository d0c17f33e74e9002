"""Binary endpoints for the templates: 'n = 89 [54%]' views, the efficacy table, and the abstract's
grouping of outcomes by the direction and significance their odds ratios support."""

from __future__ import annotations

from dataclasses import dataclass

from trialpress.plan import Binary, Plan
from trialpress.report import formatting as fmt
from trialpress.report.context import Comparison, ContextBuilder, GroupView, Num
from trialpress.report.tables import Cell, label


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
    first: GroupView          # the group with the higher rate (the reference when rates are equal)
    second: GroupView
    first_count: Count
    second_count: Count
    comparison: Comparison    # odds ratio of the comparator vs the reference
    significant: bool


@dataclass(frozen=True)
class BinarySection:
    contrasts: list[BinaryContrast]
    population_label: str

    def higher_with(self, group: str) -> list[BinaryContrast]:
        """Outcomes whose odds are significantly higher in `group`."""
        return [c for c in self.contrasts if c.significant and c.first.value == group]

    @property
    def not_significant(self) -> list[BinaryContrast]:
        return [c for c in self.contrasts if not c.significant]


def count(cb: ContextBuilder, ep: Binary, group: str) -> Count:
    key = (ep.id, "rate", group, "n")
    return Count(cb.num(key, "count"), cb.num(key, "percent"))


def binary_section(cb: ContextBuilder, plan: Plan) -> BinarySection | None:
    if not plan.binary:
        return None
    contrasts = []
    for ep in plan.binary:
        for c in plan.comparators:
            comp = cb.comparison(ep.id, "logistic", c, ep.population, higher_is_better=True)
            comparator_first = comp.favours == "comparator"
            first, second = (comp.group, comp.reference) if comparator_first else (comp.reference, comp.group)
            contrasts.append(BinaryContrast(ep.id, ep.label, ep.abbreviation or fmt.lower_first(ep.label), first,
                                            second, count(cb, ep, first.value), count(cb, ep, second.value), comp,
                                            comp.significant))
    return BinarySection(contrasts, plan.populations[plan.binary[0].population].label)


def binary_note(plan: Plan) -> str:
    return ("OR, odds ratio. Percentages of all patients in the group. Exact (Clopper-Pearson) 95% CIs for rates; "
            "differences in proportions with Newcombe hybrid score 95% CIs; odds ratios "
            f"({_vs(plan)}) from logistic regression with Wald 95% CI and P, unadjusted and adjusted for "
            f"{', '.join(plan.label_of(v) for v in sorted({v for b in plan.binary for v in b.adjust_for})) or 'no covariates'}.")


def _vs(plan: Plan) -> str:
    labels = plan.group_labels
    return "; ".join(f"{fmt.lower_first(labels[c])} vs {fmt.lower_first(labels[plan.groups.reference])}"
                     for c in plan.comparators)


def binary_rows(cb: ContextBuilder, plan: Plan) -> list[tuple[Cell, ...]]:
    """The binary endpoints' blocks of the efficacy table."""
    gv = plan.group_values
    ref = plan.groups.reference
    rows: list[tuple[Cell, ...]] = []
    for ep in plan.binary:
        rows.append((label(ep.label, bold=True), *(Cell("") for _ in gv)))
        cells = []
        for g in gv:
            c = count(cb, ep, g)
            cells.append(Cell(f"{c.n.text} ({c.percent.text})", c.n.ref))
        rows.append((label("n (%)", indent=1), *cells))
        rows.append((label("95% CI, %", indent=1),
                     *(_pct_ci(cb, (ep.id, "rate", g, "proportion")) for g in gv)))
        for name, analysis in (("Difference, % (95% CI)", "diff"), ("OR (95% CI)", "logistic"),
                               ("Adjusted OR (95% CI)", "logistic_adj"), ("P (OR)", "logistic")):
            if analysis == "logistic_adj" and not ep.adjust_for:
                continue
            cells = []
            for g in gv:
                if g == ref:
                    cells.append(Cell("Reference" if name != "P (OR)" else ""))
                elif name.startswith("Difference"):
                    r = cb.ard[(ep.id, "diff", g, "difference")]
                    cells.append(Cell(fmt.percent_difference(r.value, r.lower, r.upper), r.id))
                elif name.startswith("P"):
                    p = cb.num((ep.id, analysis, g, "p"), "p")
                    cells.append(Cell(p.text, p.ref))
                else:
                    est = cb.est_ci((ep.id, analysis, g, "or"))
                    cells.append(Cell(est.text, est.ref))
            rows.append((label(name, indent=2 if name.startswith("P") else 1), *cells))
    return rows


def _pct_ci(cb: ContextBuilder, key: tuple[str, ...]) -> Cell:
    r = cb.ard[key]
    return Cell(fmt.ci(100 * r.lower, 100 * r.upper, 1, fmt.EN_DASH), r.id)

"""The ARD as a CDISC Analysis Results Standard (ARS) reporting event: `ars.json`.

The target is ARS version 1.0, the LinkML model `https://www.cdisc.org/ars/1-0` of cdisc-org/analysis-results-standard.
Its JSON schema is `tests/reference/ars/ars_ldm.schema.json`, and the tests validate the output against it.

What this module writes:
- `analyses`: one per endpoint × ARD analysis × population, split further by subgroup variable and by
  summarized variable (`parameter`: a baseline or exposure variable, or what a decision is about). Each
  analysis has a `dataset` and `variable`, `analysisSetId`, `dataSubsetId`, `orderedGroupings` and
  `methodId`. Its `results` hold one OperationResult per number of its ARD rows: the value (or the text
  of a text-valued statistic), the CI bounds and n. A result carries `rawValue` (12 significant digits, as
  ard.csv has them; absent when not estimable), `formattedValue` (as the report rounds it; 'NE' when not
  estimable) and `resultGroups`. `reason` is SPECIFIED IN SAP. `purpose` is a sponsor term, because the
  plan does not name primary and secondary endpoints.
- `methods`: one per ARD analysis kind, with one `operation` per statistic (`results/schema.py`) and per
  part that occurs (the value; `.lower`/`.upper` for the CI bounds; `.n` for the subjects the number rests
  on). The operation `name` is the statistic, with the part after a dot.
- `analysisSets`: the plan's populations, with the condition FLAG EQ 'Y'. An expression population has
  only its description, in the label.
- `analysisGroupings` (subject groupings): the grouping variable of each population with the plan's groups
  as pre-specified groups (condition VAR EQ value), the plan's subgroup variables, and the categorical
  baseline variables. A grouping whose levels the plan does not list is data-driven (`groupValue`).
- `dataGroupings` (data-driven): system organ class, preferred term, AE overview category, AE of interest,
  model term and time point (landmark or risk-table tick, in the endpoint's display unit).
- `dataSubsets`: PARAMCD EQ of each ADTTE/ADRS endpoint, treatment-emergent AEs (TEAE flag EQ 'Y'), and
  severe TEAEs (TEAE AND grade GE 3, or severity EQ 'SEVERE').
- `mainListOfContents`: the report (output) → endpoints → analyses. `outputs`: the report as one output
  with one display. `referenceDocuments`: ard.json and ard-cards.csv. `terminologyExtensions`: the
  sponsor purpose term.

What it leaves out:
- displays' content (`displaySections`, table shells), `globalDisplaySections`,
  `analysisOutputCategorizations`, `programmingCode`/`codeTemplate` and page-level `documentRefs`;
- `referencedOperationRelationships` (numerator/denominator links) and `referencedAnalysisOperations`;
- where clauses for expression populations, for an endpoint's analyzed subset (responders, a `where`),
  for the response definition, the AE overview categories and the AEs of interest (these are described in
  the analysis `description` and the ARD `method`);
- the Kaplan-Meier step functions, for which ARS has no class. Only the curve id and its number of
  times are written; the curve table is curves.csv.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from trialpress.plan import Plan
from trialpress.results import jsontext
from trialpress.results.ard import ARD, Row
from trialpress.results.cards import Fmt, fmt_fn, formatted, group_variable, stat_spec, table_decimals
from trialpress.results.schema import ANALYSES

ARS_VERSION = "1.0"
ARS_MODEL = "https://www.cdisc.org/ars/1-0"
PARTS: tuple[str, ...] = ("value", "lower", "upper", "n")
PURPOSE_TERM = "PURPOSE_PLANNED"
SECTION_LABELS = {"POP": "Populations", "STUDY": "Study", "BASELINE": "Baseline characteristics", "SAFETY": "Safety"}

Json = dict[str, Any]


def ident(*parts: str) -> str:
    """An ARS id from parts joined by '_': letters, digits, '_', '-' and '.' kept, anything else '_', and a
    short hash of the original appended when anything was replaced (so that two values never share an id)."""
    raw = "_".join(parts)
    clean = re.sub(r"[^A-Za-z0-9_.-]", "_", raw)
    if clean == raw:
        return clean
    return f"{clean}_{hashlib.sha256(raw.encode('utf-8', 'surrogatepass')).hexdigest()[:6]}"


def _number(x: float) -> str:
    return f"{x:.12g}"


def _condition(dataset: str, variable: str, comparator: str, values: Iterable[str]) -> Json:
    return {"dataset": dataset, "variable": variable, "comparator": comparator, "value": [str(v) for v in values]}


# --------------------------------------------------------------------------------------- analysis keys
def analysis_key(r: Row) -> tuple[str, str, str, str, str]:
    """(endpoint, analysis, population, subgroup, parameter): the ARS analysis an ARD row belongs to."""
    return r.endpoint, r.analysis, r.population, r.subgroup, r.parameter


def analysis_id(r: Row) -> str:
    return ident("AN", *(p for p in analysis_key(r) if p))


def method_id(analysis: str) -> str:
    return ident("MTH", analysis)


class _Builder:
    def __init__(self, ard: ARD, plan: Plan, version_id: str) -> None:
        self.ard, self.plan, self.version_id = ard, plan, version_id
        self.subject_groupings: dict[str, Json] = {}
        self.data_groupings: dict[str, Json] = {}
        self.data_subsets: dict[str, Json] = {}
        self.operations: dict[str, dict[tuple[str, str], Json]] = {}   # analysis kind → (stat, part) → op
        self.safety = plan.safety.variables if plan.safety else None
        self.tables = table_decimals(ard, plan)

    # ------------------------------------------------------------------ groupings
    def _subject_grouping(self, gid: str, label: str, variable: str, levels: list[tuple[str, str]] | None) -> str:
        if gid not in self.subject_groupings:
            g: Json = {"id": gid, "label": label, "groupingDataset": "ADSL", "groupingVariable": variable,
                       "dataDriven": levels is None}
            if levels is not None:
                g["groups"] = [{"id": f"{gid}_{i}", "label": lab, "level": 1, "order": i,
                                "condition": _condition("ADSL", variable, "EQ", [value])}
                               for i, (value, lab) in enumerate(levels, 1)]
            self.subject_groupings[gid] = g
        return gid

    def _data_grouping(self, gid: str, label: str, dataset: str = "", variable: str = "") -> str:
        if gid not in self.data_groupings:
            g: Json = {"id": gid, "label": label, "dataDriven": True}
            if dataset:
                g["groupingDataset"] = dataset
            if variable:
                g["groupingVariable"] = variable
            self.data_groupings[gid] = g
        return gid

    def treatment(self, population: str) -> str:
        var = group_variable(self.plan, population)
        label = f"{self.plan.groups.label or 'Group'} ({var})"
        return self._subject_grouping(ident("AG", var), label, var,
                                      [(lv.value, lv.label) for lv in self.plan.groups.levels])

    def subgroup(self, variable: str) -> str:
        sg = next((s for s in self.plan.subgroups if s.variable == variable), None)
        levels = [(lv.value, lv.label) for lv in sg.levels] if sg and sg.levels else None
        return self._subject_grouping(ident("AG_SUB", variable), sg.label if sg else variable, variable, levels)

    def baseline_variable(self, variable: str) -> str:
        b = next((b for b in self.plan.baseline if b.variable == variable), None)
        levels = [(lv.value, lv.label) for lv in b.levels] if b and b.levels else None
        return self._subject_grouping(ident("AG_BL", variable), b.label if b else variable, variable, levels)

    def soc(self) -> str:
        return self._data_grouping("DG_SOC", "System organ class", "ADAE", self.safety.soc if self.safety else "AEBODSYS")

    def pt(self) -> str:
        return self._data_grouping("DG_PT", "Preferred term", "ADAE", self.safety.pt if self.safety else "AEDECOD")

    def _measure(self, analysis: str) -> tuple[str, Any] | None:
        """('LAB'/'VS', the plan's Measurements) of a lab_*/vs_* analysis."""
        s = self.plan.safety
        if s is None:
            return None
        if analysis.startswith("lab_") and s.labs is not None:
            return "LAB", s.labs
        if analysis.startswith("vs_") and s.vitals is not None:
            return "VS", s.vitals
        return None

    def term_grouping(self, r: Row) -> str | None:
        """The grouping of an ARD row's `term`, by what the analysis counts (None: no grouping)."""
        kind = r.parameter if r.analysis == "decision" else r.analysis
        if r.analysis == "population":
            return None     # the term is the analysis set itself
        if kind.startswith("soc_"):
            return self.soc()
        if kind.startswith("pt_") or kind == "max_grade":
            return self.pt()
        if r.analysis == "baseline":
            return self.baseline_variable(r.parameter)
        if kind in {"overview", "eair"}:
            return self._data_grouping("DG_AE_CATEGORY", "Adverse event overview category (trialpress id)", "ADAE")
        if kind in {"interest", "interest_severe", "interest_eair"}:
            return self._data_grouping("DG_AE_INTEREST", "Adverse event of interest (plan id)", "ADAE")
        if kind in {"cox_adj_term", "logistic_adj_term"}:
            return self._data_grouping("DG_MODEL_TERM", "Model term (covariate, or covariate=level)")
        measure = self._measure(kind)
        if measure is not None:
            prefix, m = measure
            if kind.endswith("_grade_shift"):
                return self._data_grouping(f"DG_{prefix}_WORST_GRADE", "Worst post-baseline toxicity grade",
                                           m.dataset, m.grade or "ATOXGR")
            if kind.endswith("_shift"):
                return self._data_grouping(f"DG_{prefix}_WORST_RANGE", "Worst post-baseline reference-range "
                                           "indicator", m.dataset, m.range_indicator or "ANRIND")
            if kind.endswith("_visit"):
                return self._data_grouping(f"DG_{prefix}_VALUE", "Value or change from baseline", m.dataset)
            return self._data_grouping(f"DG_{prefix}_CRITERION", "Criterion", m.dataset)
        named = {"deaths": ("DG_DEATH_CAUSE", "Cause of death ('' = all causes)", ""),
                 "death_listing": ("DG_SUBJECT", "Subject", "ADSL"),
                 "exposure_category": ("DG_DURATION_CATEGORY", "Category of the duration of exposure (days)", "ADSL"),
                 "disposition": ("DG_DISPOSITION", "Category of the disposition variable", "ADSL")}
        if kind in named:
            gid, label, dataset = named[kind]
            return self._data_grouping(gid, label, dataset, self.plan.data.subject_id if kind == "death_listing" else "")
        return self._data_grouping("DG_TERM", "Category (ARD term)")

    def parent_grouping(self, r: Row) -> str:
        """The grouping of an ARD row's `parent` (the enclosing category)."""
        kind = r.parameter if r.analysis == "decision" else r.analysis
        measure = self._measure(kind)
        if measure is not None:
            prefix, m = measure
            if kind.endswith("_grade_shift"):
                return self._data_grouping(f"DG_{prefix}_BASE_GRADE", "Baseline toxicity grade", m.dataset,
                                           m.baseline_grade or "BTOXGR")
            return self._data_grouping(f"DG_{prefix}_BASE_RANGE", "Baseline reference-range indicator", m.dataset,
                                       m.baseline_range_indicator or "BNRIND")
        if kind == "deaths":
            return self._data_grouping("DG_DEATH_PERIOD", "Period of death (all, on_treatment, follow_up)")
        if kind == "exposure_summary":
            e = self.plan.safety.exposure if self.plan.safety else None
            return self._data_grouping("DG_EXPOSURE_CATEGORY", "Exposure category", e.dataset if e else "",
                                       (e.category or "") if e else "")
        if kind.startswith(("pt_", "soc_")) or kind == "max_grade":
            return self.soc()
        return self._data_grouping("DG_PARENT", "Enclosing category (ARD parent)")

    def timepoint(self, r: Row) -> str:
        measure = self._measure(r.analysis)
        if measure is not None:
            prefix, m = measure
            return self._data_grouping(f"DG_{prefix}_VISIT", "Visit", m.dataset, m.visit)
        return self._data_grouping("DG_TIMEPOINT", "Time point, in the endpoint's display unit")

    def result_groups(self, r: Row) -> list[tuple[int, str, Json]]:
        """(role, grouping id, ResultGroup) of an ARD row. Roles order the groupings: treatment, subgroup,
        parent, term, time."""
        out: list[tuple[int, str, Json]] = []
        if r.group:
            gid = self.treatment(r.population)
            out.append((0, gid, self._group_ref(self.subject_groupings[gid], r.group)))
        if r.subgroup and r.subgroup_level:
            gid = self.subgroup(r.subgroup)
            out.append((1, gid, self._group_ref(self.subject_groupings[gid], r.subgroup_level)))
        if r.parent:
            gid = self.parent_grouping(r)
            out.append((2, gid, {"groupingId": gid, "groupValue": r.parent}))
        if r.term:
            gid = self.term_grouping(r)
            if gid is not None:
                grouping = self.subject_groupings.get(gid) or self.data_groupings[gid]
                out.append((3, gid, self._group_ref(grouping, r.term)))
        if r.timepoint:
            gid = self.timepoint(r)
            out.append((4, gid, {"groupingId": gid, "groupValue": r.timepoint}))
        return out

    @staticmethod
    def _group_ref(grouping: Json, value: str) -> Json:
        for g in grouping.get("groups", []):
            if g["condition"]["value"] == [value]:
                return {"groupingId": grouping["id"], "groupId": g["id"]}
        return {"groupingId": grouping["id"], "groupValue": value}

    # ------------------------------------------------------------------ subsets
    def data_subset(self, r: Row) -> str | None:
        ep = self._endpoint(r.endpoint)
        if ep is not None and r.analysis not in {"decision"}:
            source = getattr(ep, "source", None)
            if source is None:   # time to event
                return self._subset(ident("DS", ep.id), f"{ep.label}: ADTTE PARAMCD = '{ep.paramcd}'",
                                    condition=_condition("ADTTE", "PARAMCD", "EQ", [ep.paramcd]))
            if source.dataset == "ADRS" and source.paramcd:
                return self._subset(ident("DS", ep.id), f"{ep.label}: ADRS PARAMCD = '{source.paramcd}'",
                                    condition=_condition("ADRS", "PARAMCD", "EQ", [source.paramcd]))
            return None
        measure = self._measure(r.analysis)
        if measure is not None and r.parameter:
            prefix, m = measure
            paramcd = r.parameter.split("@")[0]      # 'ALT@low': one direction of ALT's grades
            return self._subset(ident("DS", prefix, paramcd), f"{m.dataset} PARAMCD = '{paramcd}'",
                                condition=_condition(m.dataset, "PARAMCD", "EQ", [paramcd]))
        if self.safety is None or not _is_ae_analysis(r.analysis):
            return None
        severe = r.analysis in {"soc_severe", "pt_severe", "interest_severe"}
        v = self.safety
        teae = _condition("ADAE", v.teae_flag, "EQ", ["Y"]) if v.teae_flag else None
        grade = (_condition("ADAE", v.severity, "GE", ["3"]) if v.severity_kind == "ctcae"
                 else _condition("ADAE", v.severity, "EQ", ["SEVERE"]))
        if not severe:
            return None if teae is None else self._subset("DS_TEAE", "Treatment-emergent adverse events", condition=teae)
        if teae is None:
            return self._subset("DS_SEVERE", "Severe adverse events", condition=grade)
        return self._subset("DS_TEAE_SEVERE", "Severe treatment-emergent adverse events", compound={
            "logicalOperator": "AND",
            "whereClauses": [{"level": 2, "order": 1, "condition": teae}, {"level": 2, "order": 2, "condition": grade}]})

    def _subset(self, sid: str, label: str, *, condition: Json | None = None, compound: Json | None = None) -> str:
        if sid not in self.data_subsets:
            d: Json = {"id": sid, "label": label, "level": 1, "order": len(self.data_subsets) + 1}
            if condition is not None:
                d["condition"] = condition
            if compound is not None:
                d["compoundExpression"] = compound
            self.data_subsets[sid] = d
        return sid

    # ------------------------------------------------------------------ methods
    def operation(self, r: Row, part: str) -> str:
        ops = self.operations.setdefault(r.analysis, {})
        key = (r.statistic, part)
        if key not in ops:
            stats = list(ANALYSES[r.analysis].statistics) if r.analysis in ANALYSES else []
            order = (stats.index(r.statistic) if r.statistic in stats else len(stats)) * len(PARTS) + PARTS.index(part) + 1
            described = ANALYSES[r.analysis].statistics.get(r.statistic, r.statistic) if r.analysis in ANALYSES else r.statistic
            name = r.statistic if part == "value" else f"{r.statistic}.{part}"
            label = {"value": described, "lower": f"{r.statistic}: lower bound of the CI",
                     "upper": f"{r.statistic}: upper bound of the CI",
                     "n": f"{r.statistic}: subjects it is based on (the ARD n, a denominator for counts)"}[part]
            op_id = ident(method_id(r.analysis), r.statistic, *(() if part == "value" else (part,)))
            op: Json = {"id": op_id, "name": name, "label": label, "order": order}
            pattern = _pattern(self._fmt(r, part))
            if pattern:
                op["resultPattern"] = pattern
            ops[key] = op
        return ops[key]["id"]

    def _fmt(self, r: Row, part: str) -> Fmt:
        if part == "n":
            return 0
        if r.statistic in (ANALYSES[r.analysis].text_statistics if r.analysis in ANALYSES else ()):
            return None
        name = stat_spec(r, self.plan).name if part == "value" else {"lower": "conf.low", "upper": "conf.high"}[part]
        return fmt_fn(r, name, self.plan, self.tables)

    def methods(self) -> list[Json]:
        out = []
        for analysis, ops in self.operations.items():
            spec = ANALYSES.get(analysis)
            out.append({"id": method_id(analysis), "name": spec.description if spec else analysis,
                        "label": analysis,
                        "description": f"trialpress ARD analysis '{analysis}' (docs/ard.md): "
                                       + "; ".join(f"{s}: {d}" for s, d in (spec.statistics.items() if spec else ())),
                        "operations": sorted(ops.values(), key=lambda o: (o["order"], o["id"]))})
        return out

    # ------------------------------------------------------------------ analyses
    def _endpoint(self, endpoint: str) -> Any:
        try:
            return self.plan.endpoint(endpoint)
        except KeyError:
            return None

    def endpoint_label(self, endpoint: str) -> str:
        ep = self._endpoint(endpoint)
        return ep.label if ep is not None else SECTION_LABELS.get(endpoint, endpoint)

    def dataset_variable(self, r: Row) -> tuple[str, str]:
        ep = self._endpoint(r.endpoint)
        if r.analysis == "decision":
            return "", ""
        if ep is not None:
            source = getattr(ep, "source", None)
            return ("ADTTE", "AVAL") if source is None else (source.dataset, source.variable)
        if r.analysis in {"baseline", "exposure"}:
            return "ADSL", r.parameter
        if r.analysis == "study":
            return "ADSL", self.plan.data.cutoff_variable or ""
        if r.analysis == "population":
            return "ADSL", self.plan.data.subject_id
        if r.analysis.startswith("soc_"):
            return "ADAE", self.safety.soc if self.safety else ""
        if r.analysis.startswith("pt_"):
            return "ADAE", self.safety.pt if self.safety else ""
        if r.analysis == "max_grade":
            return "ADAE", self.safety.severity if self.safety else ""
        measure = self._measure(r.analysis)
        if measure is not None:
            m = measure[1]
            if r.analysis.endswith("_grade_shift") or r.analysis.endswith("_grade34"):
                return m.dataset, m.grade or "ATOXGR"
            if r.analysis.endswith("_shift"):
                return m.dataset, m.range_indicator or "ANRIND"
            return m.dataset, "AVAL"
        s = self.plan.safety
        if r.analysis == "exposure_summary":
            adsl = {"duration", "intensity", "relative_intensity", s.exposure_cycles if s else None}
            if s is not None and s.exposure is not None and r.parameter not in adsl:
                return s.exposure.dataset, "AVAL"
            return "ADSL", r.parameter
        if r.analysis == "disposition":
            return "ADSL", r.parameter if r.parameter and r.parameter != "population" else self.plan.data.subject_id
        if r.analysis in {"exposure_category", "deaths", "death_listing"}:
            return "ADSL", self.plan.data.subject_id
        if _is_ae_analysis(r.analysis) or r.analysis == "coding":
            return "ADAE", self.plan.data.subject_id
        return "", ""

    def parameter_label(self, analysis: str, parameter: str) -> str:
        if analysis == "decision":
            return f"on {parameter}"
        b = next((b for b in self.plan.baseline if b.variable == parameter), None)
        return b.label if b is not None and analysis == "baseline" else parameter

    def analysis(self, rows: list[Row]) -> Json:
        r0 = rows[0]
        endpoint, kind, pop, subgroup, parameter = analysis_key(r0)
        spec = ANALYSES.get(kind)
        name = f"{self.endpoint_label(endpoint)}: {spec.description if spec else kind}"
        if subgroup:
            sg = next((s for s in self.plan.subgroups if s.variable == subgroup), None)
            name += f", by {sg.label if sg else subgroup}"
        if parameter:
            name += f": {self.parameter_label(kind, parameter)}"
        if pop in self.plan.populations:
            name += f" ({self.plan.populations[pop].label})"
        methods = sorted({r.method for r in rows if r.method})
        refs = sorted({r.reference for r in rows if r.reference})
        description = "; ".join(methods)
        parts = [description] if description else []
        if refs:
            labels = self.plan.group_labels
            parts.append("comparisons of each group with the reference "
                         + ", ".join(f"{labels.get(x, x)} ({x})" for x in refs))
        notes = sorted({r.note for r in rows if r.note})
        if notes:
            parts.append(("rule: " if kind == "decision" else "notes: ") + "; ".join(notes))
        description = "; ".join(parts)
        a: Json = {"id": analysis_id(r0), "name": name, "reason": {"controlledTerm": "SPECIFIED IN SAP"},
                   "purpose": {"sponsorTermId": PURPOSE_TERM}, "methodId": method_id(kind)}
        if description:
            a["description"] = description
        dataset, variable = self.dataset_variable(r0)
        if dataset:
            a["dataset"] = dataset
        if variable:
            a["variable"] = variable
        if pop:
            a["analysisSetId"] = ident("AS", pop)
        subset = self.data_subset(r0)
        if subset:
            a["dataSubsetId"] = subset
        results: list[Json] = []
        used: dict[str, int] = {}
        for r in rows:
            groups = self.result_groups(r)
            for role, gid, _ in groups:
                used.setdefault(gid, role)
            for part in PARTS:
                result = self.result(r, part, [g for _, _, g in groups])
                if result is not None:
                    results.append(result)
        ordered = sorted(used, key=lambda g: (used[g], list(used).index(g)))
        if ordered:
            a["orderedGroupings"] = [{"order": i, "groupingId": g, "resultsByGroup": True}
                                     for i, g in enumerate(ordered, 1)]
        a["results"] = results
        return a

    def result(self, r: Row, part: str, groups: list[Json]) -> Json | None:
        spec = ANALYSES.get(r.analysis)
        is_text = spec is not None and r.statistic in spec.text_statistics
        x = getattr(r, part)
        if part != "value" and math.isnan(x):
            return None
        out: Json = {"operationId": self.operation(r, part)}
        if groups:
            out["resultGroups"] = groups
        if part == "value" and is_text:
            out["rawValue"] = r.text
            out["formattedValue"] = r.text
        elif math.isnan(x):
            out["formattedValue"] = "NE"
        else:
            out["rawValue"] = _number(x)
            out["formattedValue"] = formatted(x, self._fmt(r, part))
        return out

    # ------------------------------------------------------------------ whole event
    def build(self) -> Json:
        plan = self.plan
        by_key: dict[tuple[str, ...], list[Row]] = {}
        for r in self.ard:
            by_key.setdefault(analysis_key(r), []).append(r)
        analyses = [self.analysis(rows) for rows in by_key.values()]
        sets = []
        for i, (pid, pop) in enumerate(plan.populations.items(), 1):
            s: Json = {"id": ident("AS", pid), "label": pop.label, "level": 1, "order": i}
            if pop.flag:
                s["condition"] = _condition("ADSL", pop.flag, "EQ", ["Y"])
            elif pop.expression:
                from trialpress.expressions import parse

                s["label"] = f"{pop.label}: {parse(pop.expression).describe()}"
            sets.append(s)
        endpoints: dict[str, list[Json]] = {}
        for a, rows in zip(analyses, by_key.values()):
            endpoints.setdefault(rows[0].endpoint, []).append(a)
        contents = [{"name": self.endpoint_label(ep), "level": 2, "order": j,
                     "sublist": {"listItems": [{"name": a["name"], "level": 3, "order": k, "analysisId": a["id"]}
                                               for k, a in enumerate(items, 1)]}}
                    for j, (ep, items) in enumerate(endpoints.items(), 1)]
        study = plan.study
        return {
            "id": ident("RE", study.id, self.version_id),
            "name": study.title,
            **({"label": study.subtitle} if study.subtitle else {}),
            "description": f"Analyses and results of study {study.id}, report version {self.version_id}, as a "
                           f"CDISC ARS {ARS_VERSION} reporting event ({ARS_MODEL}), written by trialpress from "
                           "its analysis results dataset (ard.json, schema trialpress-ard/2).",
            "mainListOfContents": {"name": "Report contents", "label": "Analyses by endpoint", "contentsList": {
                "listItems": [{"name": study.title, "level": 1, "order": 1, "outputId": "OUT_REPORT",
                               "sublist": {"listItems": contents}}]}},
            "referenceDocuments": [
                {"id": "REF_ARD", "name": "Analysis results dataset (trialpress-ard/2)", "location": "ard.json"},
                {"id": "REF_CARDS", "name": "The same results in the long layout of the cards R package",
                 "location": "ard-cards.csv"}],
            "terminologyExtensions": [{"id": "TE_PURPOSE", "enumeration": "AnalysisPurposeEnum", "sponsorTerms": [
                {"id": PURPOSE_TERM, "submissionValue": "PLANNED ANALYSIS",
                 "description": "An analysis of the machine-readable analysis plan; the plan does not designate "
                                "primary, secondary or exploratory outcome measures."}]}],
            "analysisSets": sets,
            "analysisGroupings": list(self.subject_groupings.values()),
            "dataSubsets": list(self.data_subsets.values()),
            "dataGroupings": list(self.data_groupings.values()),
            "methods": self.methods(),
            "analyses": analyses,
            "outputs": [{"id": "OUT_REPORT", "name": "Report", "label": study.title, "version": 1,
                         "description": f"The trialpress report, version {self.version_id}",
                         "displays": [{"order": 1, "display": {"id": "DSP_REPORT", "name": "report",
                                                               "displayTitle": study.title}}]}],
        }


def _is_ae_analysis(analysis: str) -> bool:
    """Whether an analysis counts treatment-emergent adverse events (ADAE records)."""
    return analysis.startswith(("soc_", "pt_")) or analysis in {"overview", "interest", "interest_severe",
                                                                "interest_eair", "eair", "max_grade"}


def _pattern(fmt: Fmt) -> str:
    if fmt is None:
        return ""
    if isinstance(fmt, int):
        return "XX" if fmt == 0 else "XX." + "X" * fmt
    return fmt.upper()


def reporting_event(ard: ARD, plan: Plan, *, version_id: str) -> dict[str, Any]:
    """The ARD and the plan as an ARS v1.0 ReportingEvent (a JSON-ready dict; key order is fixed)."""
    return _Builder(ard, plan, version_id).build()


def write_ars_json(ard: ARD, plan: Plan, path: Path, *, version_id: str) -> None:
    """ars.json: the reporting event, UTF-8, deterministic bytes."""
    body = reporting_event(ard, plan, version_id=version_id)
    Path(path).write_text(jsontext.dumps(body), encoding="utf-8")

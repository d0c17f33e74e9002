"""ARD analyses of the safety and disposition tables beyond the AE overview (their rows pass schema.check_row).

Every row is in section SAFETY. Counts are subjects (never records); `n` holds the denominator of a count.
Key parts: `group` the group value ('' = all groups); `parameter` the variable or measurement (ADSL variable,
PARAMCD, a grade level); `parent` the enclosing category (SOC of a PT, a baseline category, a death period);
`term` the category counted; `timepoint` the visit of a by-visit summary (`results/safety_keys.py` builds them).
"""

from __future__ import annotations

from trialpress.results.schema_types import Analysis
from trialpress.results.schema_types import analysis as _a

_SUMMARY = {"n": "subjects with a value", "mean": "mean", "sd": "standard deviation (n - 1)", "median": "median",
            "min": "minimum", "max": "maximum"}
_COUNT = {"n": "subjects (denominator in column n)"}


def _term_tables() -> dict[str, Analysis]:
    """SOC and PT tables of each TEAE category beyond any grade and grade >= 3 (`soc_any`, `pt_any` ...)."""
    what = {"serious": "serious", "related": "treatment-related", "discontinued": "leading to discontinuation of "
            "study treatment", "fatal": "fatal (leading to death)"}
    out: dict[str, Analysis] = {}
    for category, words in what.items():
        out[f"soc_{category}"] = _a(f"Subjects with >= 1 {words} TEAE in a system organ class (term)", **_COUNT)
        out[f"pt_{category}"] = _a(f"Subjects with >= 1 {words} TEAE of a preferred term (term) within its SOC "
                                   "(parent)", **_COUNT)
    return out


def _measurements(prefix: str, what: str) -> dict[str, Analysis]:
    return {
        f"{prefix}_visit": _a(f"{what} by visit (parameter = PARAMCD; term = 'value' or 'change' from baseline; "
                              "timepoint = visit, 'Baseline' for the baseline record)", text=("label",),
                              label="the parameter's label (text; term 'value', no group or visit)", **_SUMMARY),
        f"{prefix}_shift": _a(f"{what}: baseline reference-range indicator (parent) by worst post-baseline indicator "
                              "(term) per group (parameter = PARAMCD; '(missing)' = no value; 'LOW+HIGH' = both "
                              "low and high after baseline)", subjects="subjects with a record of the parameter "
                              "(the denominator)", **_COUNT),
        f"{prefix}_grade_shift": _a(f"{what}: baseline toxicity grade (parent) by worst post-baseline grade (term) "
                                    "in one direction (parameter = PARAMCD@high or PARAMCD@low)",
                                    subjects="subjects with a record of the parameter (the denominator)", **_COUNT),
        f"{prefix}_grade34": _a(f"{what}: subjects with a post-baseline grade 3 or 4 in one direction (parameter = "
                                "PARAMCD@high or PARAMCD@low; term = 'any' or 'worsened' from a baseline grade "
                                "below 3)", **_COUNT),
    }


SAFETY_ANALYSES: dict[str, Analysis] = {
    "disposition": _a("Subject disposition of all subjects assigned to a group by groups.variable (parameter = the "
                      "ADSL variable read or 'population'; term = its category or the population id)",
                      subjects="subjects assigned to the group (every count's denominator)",
                      missing="subjects with no value of `parameter` (among those it applies to)", **_COUNT),
    "exposure_summary": _a("Exposure per subject in the safety population (parameter = 'duration' in days, "
                           "'intensity' per week, an ADSL count variable or an ADEX PARAMCD; parent = the "
                           "ADEX category, e.g. the drug)", patient_years="sum of durations in years (365.25 days)",
                           text=("label",), label="the ADEX parameter's label, PARAM (text; no group)", **_SUMMARY),
    "exposure_category": _a("Subjects by category of exposure duration (term = the category, e.g. '30-89' days)",
                            **_COUNT),
    **_term_tables(),
    "max_grade": _a("Subjects by their maximum grade or severity of TEAE (parameter = the grade level, every level "
                    "of the scale with 0 included; term/parent = PT/SOC, '' for any TEAE; a subject with no grade "
                    "recorded on any event: '(missing)', only when there is one)",
                    **_COUNT),
    "eair": _a("Exposure-adjusted incidence of an overview category (term): time at risk to the first event, or to "
               "the end of exposure without one", rate="subjects with the event per 100 patient-years at risk "
               "(exact Poisson CI)", patient_years="time at risk in patient-years (365.25 days)",
               events="subjects with the event (n: subjects with a time at risk)"),
    "deaths": _a("Deaths in the safety population (parent = period: 'all', 'on_treatment' or 'follow_up'; term = "
                 "cause, '' for all causes)", missing="deaths with no cause recorded", **_COUNT),
    "death_listing": _a("One row per death (term = subject id)", text=("date", "cause", "period"),
                        date="date of death (ISO 8601)", day="study day of death (day 1 = first dose)",
                        cause="cause of death as recorded (text)", period="'on_treatment' or 'follow_up' (text)"),
    "coding": _a("Dictionaries the AE data were coded with", text=("meddra_version", "ctcae_version"),
                 meddra_version="MedDRA version (text; method: where it was read)",
                 ctcae_version="CTCAE version (text)"),
    **_measurements("lab", "Laboratory value"),
    "lab_liver": _a("Liver tests after baseline as multiples of the upper limit of normal (term = criterion: "
                    "alt_3, ast_3, alt_or_ast_3/5/10/20, bili_2, and the eDISH quadrants of the maxima after "
                    "baseline: normal, hyperbilirubinaemia (bilirubin > 2xULN, ALT and AST <= 3xULN), temple "
                    "(ALT or AST > 3xULN, bilirubin <= 2xULN: Temple's corollary), potential_hys_law (ALT or AST > "
                    "3xULN and bilirubin > 2xULN, not necessarily on the same day))",
                    subjects="subjects with a post-baseline value of both tests (the denominator)", **_COUNT),
    **_measurements("vs", "Vital sign"),
}

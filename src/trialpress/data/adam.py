"""ADaM naming conventions and CDISC controlled terms, shared by the data layer and the quality gate.

Nothing here names a study. Variables are the standard names of the ADaM IG (ADSL, BDS, BDS-TTE,
OCCDS); study-specific variables are found by ADaM naming patterns (`xxxFL` with `xxxDT`) or from
the data, never listed here. Controlled terms are CDISC CT submission values, with the codelist
they come from; a study's own codelist (its data, its Define-XML, the plan) may extend them.
"""

from __future__ import annotations

import re

# ---------------------------------------------------------------------------------------- variables
PARAMCD, AVAL, AVALC, CNSR = "PARAMCD", "AVAL", "AVALC", "CNSR"
# ADSL: first dose (a date, a datetime, or both) and death date
TRT_START, TRT_START_DTM = "TRTSDT", "TRTSDTM"
DEATH_DATE = "DTHDT"
# BDS-TTE: time origin, event/censoring date, unit and descriptions
TTE_ORIGIN, TTE_ORIGIN_DTM = "STARTDT", "STARTDTM"
TTE_DATE, TTE_DATETIME = "ADT", "ADTM"
UNIT, EVENT_DESCRIPTION, CENSOR_DATE_DESCRIPTION = "AVALU", "EVNTDESC", "CNSDTDSC"
# BDS (e.g. ADRS) analysis date; OCCDS (ADAE) analysis start date and sequence number
BDS_DATE, BDS_DATETIME = "ADT", "ADTM"
AE_START, AE_START_DTM = "ASTDT", "ASTDTM"
AE_SEQ = "AESEQ"
AE_TERM = "AETERM"    # the verbatim term: what an uncoded AE is shown by

# The variables of a record-level dataset the quality gate reads by ADaM convention (besides those the
# plan names): the loader should read them when the file has them.
GATE_VARIABLES: dict[str, frozenset[str]] = {
    "ADTTE": frozenset({PARAMCD, AVAL, CNSR, TTE_ORIGIN, TTE_ORIGIN_DTM, TTE_DATE, TTE_DATETIME, UNIT,
                        EVENT_DESCRIPTION, CENSOR_DATE_DESCRIPTION}),
    "ADRS": frozenset({PARAMCD, BDS_DATE, BDS_DATETIME}),
    "ADAE": frozenset({AE_SEQ, AE_TERM, AE_START, AE_START_DTM}),
}

# ADSL dates that by definition precede (or are) the first dose: never required to follow it
PRE_TREATMENT_DATES = frozenset({
    "BRTHDT", "RFICDT", "ICDT", "CONSDT", "ENRLDT", "SCRNDT", "SCRFDT", "RANDDT", "DIAGDT", "INITDT", "DSDIAGDT",
    "DISONSDT", "VISIT1DT", "TRTSDT",
})
# ... and by the ADaM/SDTM naming of their stem (the name without DT/DTM): prior (PR...), screening,
# informed consent, diagnosis, disease onset, randomisation, enrolment, birth, visit 1, baseline
PRE_TREATMENT_PATTERN = re.compile(r"^PR(?!OG)|SCR|^RFIC|IC$|CONS|DIAG|ONS$|RAND|ENRL|BRTH|VISIT1$|^V1$|^BL")


def date_stem(name: str) -> str:
    """The name of a date or datetime variable without its DT/DTM suffix ('TRTSDTM' → 'TRTS')."""
    return name[:-3] if name.endswith("DTM") else name[:-2] if name.endswith("DT") else name


def is_datetime_name(name: str) -> bool:
    """ADaM names a datetime xxxDTM and a date xxxDT: the precision two values can be compared at."""
    return name.endswith("DTM")


def named_pre_treatment(name: str) -> bool:
    """A date whose ADaM name says it comes before the first dose (screening, consent, diagnosis …)."""
    return name in PRE_TREATMENT_DATES or bool(PRE_TREATMENT_PATTERN.search(date_stem(name)))


# -------------------------------------------------------------------------------- controlled terms
SEX = ("M", "F", "U", "UNDIFFERENTIATED")                                 # C66731 Sex
SEX_DECODES = {"F": "Female", "M": "Male", "U": "Unknown", "UNDIFFERENTIATED": "Undifferentiated"}   # C66731's
NY = ("Y", "N")                                                           # C66742 No Yes Response
AE_OUTCOME = ("RECOVERED/RESOLVED", "RECOVERING/RESOLVING", "NOT RECOVERED/NOT RESOLVED",   # C66768 OUT
              "RECOVERED/RESOLVED WITH SEQUELAE", "FATAL", "UNKNOWN")
AE_ACTION = ("DOSE NOT CHANGED", "DOSE INCREASED", "DOSE REDUCED", "DOSE RATE REDUCED",     # C66767 ACN
             "DRUG INTERRUPTED", "DRUG WITHDRAWN", "NOT APPLICABLE", "UNKNOWN", "NOT EVALUABLE")
CTCAE_GRADES = (1.0, 2.0, 3.0, 4.0, 5.0)                                  # CTCAE grade 1-5 (AETOXGR)
MILD_MODERATE_SEVERE = ("MILD", "MODERATE", "SEVERE")                    # C66769 Severity/Intensity Scale
# C71620 Unit: the units of time a time-to-event AVAL can be in (with common abbreviations), by plan unit
TIME_UNIT_TERMS: dict[str, str] = {
    "DAYS": "days", "DAY": "days", "D": "days",
    "WEEKS": "weeks", "WEEK": "weeks", "WK": "weeks", "WKS": "weeks",
    "MONTHS": "months", "MONTH": "months", "MO": "months", "MTH": "months", "MTHS": "months",
    "YEARS": "years", "YEAR": "years", "YR": "years", "YRS": "years", "Y": "years",
    "HOURS": "hours", "HOUR": "hours", "H": "hours", "MINUTES": "minutes", "MIN": "minutes",
    "SECONDS": "seconds", "SEC": "seconds", "S": "seconds",
}
# Response categories of the published response criteria (CDISC CT ONCRSR: RECIST 1.1, iRECIST, Lugano,
# iwCLL, IMWG; remission categories of the haematology criteria) and the codes ADaM producers use for
# "no assessment" (admiralonco: MISSING). A value outside these, the plan's and the study's own codelist
# is reported (a warning): the analysis counts it as not responding.
RESPONSE_TERMS = frozenset({
    "CR", "PR", "SD", "PD", "NE", "NED", "NON-CR/NON-PD", "NON-CR/NON-PD/NON-NED", "UNK", "UNKNOWN",
    "ICR", "IPR", "ISD", "IUPD", "ICPD", "CMR", "PMR", "NMR", "PMD", "SCR", "VGPR", "MR", "NR", "CRU",
    "CRH", "CRI", "CRP", "MLFS", "CRMRD-", "CRMRD+", "RELAPSE", "REFRACTORY", "PRL", "Y", "N",
})
NO_ASSESSMENT = frozenset({"MISSING", "NOT DONE", "ND", "NA", "N/A", "NOT EVALUABLE", "NOT ASSESSED", "NOT APPLICABLE"})

# What each ADaM dataset looks like, to name the dataset a wrongly named file really holds
SIGNATURES: dict[str, frozenset[str]] = {
    "ADSL": frozenset({"AGE", "SEX", "TRTSDT", "SAFFL", "ITTFL", "FASFL", "RACE", "ARM", "TRT01P"}),
    "ADTTE": frozenset({"PARAMCD", "AVAL", "CNSR", "STARTDT", "EVNTDESC", "CNSDTDSC"}),
    "ADRS": frozenset({"PARAMCD", "AVALC", "RSSEQ"}),
    "ADAE": frozenset({"AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AETOXGR", "AESEV", "AESER", "TRTEMFL"}),
}


def looks_like(columns: object) -> str | None:
    """The ADaM dataset whose signature variables these columns match best (None if none fits)."""
    cols = {str(c).upper() for c in columns}  # type: ignore[attr-defined]
    scores = {name: len(sig & cols) for name, sig in SIGNATURES.items()}
    if "CNSR" not in cols:
        scores["ADTTE"] = 0
    if "AVALC" not in cols or "CNSR" in cols:
        scores["ADRS"] = 0
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] >= 2 else None

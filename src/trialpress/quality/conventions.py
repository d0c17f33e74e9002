"""CDISC/ADaM conventions the generic checks rely on: standard variable names and controlled terms.

Nothing here names a study. The checks discover which of these variables a study's data hold and
apply a rule only where its variables exist; study-specific variables (e.g. a transplant or
remission date) are found by ADaM naming patterns (`xxxFL` with `xxxDT`) or from the data itself
(the ADSL date a time-to-event parameter starts from), never listed by name.
"""

from __future__ import annotations

# ADSL (ADaM IG): first and last dose, death flag and date
TRT_START = "TRTSDT"
DEATH_DATE = "DTHDT"
# ADTTE (ADaM BDS-TTE): time origin and event/censoring date
TTE_ORIGIN = "STARTDT"
TTE_DATE = "ADT"
# ADAE (OCCDS) analysis start date; ADRS/BDS analysis date
AE_START = "ASTDT"
BDS_DATE = "ADT"
AE_SEQ = "AESEQ"

# ADSL dates that by definition precede the first dose (so are not 'events after treatment start')
PRE_TREATMENT_DATES = frozenset({
    "BRTHDT", "RFICDT", "ENRLDT", "SCRNDT", "RANDDT", "DIAGDT", "INITDT", "DSDIAGDT", "ICDT", "SCRFDT",
})
# a leading 'PR' marks prior history in common naming (e.g. PRxxxDT: a prior procedure's date)
PRE_TREATMENT_PREFIXES = ("PR",)

# CDISC controlled terminology (C66731 SEX; C66742 NY; C66768 OUT; C66767 ACN)
SEX = ("M", "F", "U", "UNDIFFERENTIATED")
NY = ("Y", "N")
AE_OUTCOME = ("RECOVERED/RESOLVED", "RECOVERING/RESOLVING", "NOT RECOVERED/NOT RESOLVED",
              "RECOVERED/RESOLVED WITH SEQUELAE", "FATAL", "UNKNOWN")
AE_ACTION = ("DOSE NOT CHANGED", "DOSE INCREASED", "DOSE REDUCED", "DOSE RATE REDUCED", "DRUG INTERRUPTED",
             "DRUG WITHDRAWN", "NOT APPLICABLE", "UNKNOWN", "NOT EVALUABLE")
CTCAE_GRADES = (1.0, 2.0, 3.0, 4.0, 5.0)
MILD_MODERATE_SEVERE = ("MILD", "MODERATE", "SEVERE")
# response categories of the common response criteria (RECIST 1.1, iwCLL, ELN/NCCN haematology,
# Lugano): a response value outside these and the plan's own values is a coding error
RESPONSE_CATEGORIES = (
    "CR", "CRH", "CRI", "CRP", "CRMRD-", "CRMRD+", "MLFS", "PR", "VGPR", "MR", "SD", "PD", "NR", "NE", "BFHM",
    "NON-CR/NON-PD", "PMR", "PMD", "SCR", "RELAPSE", "REFRACTORY", "Y", "N", "UNK", "UNKNOWN", "NA",
)

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

"""ARD analyses of continuous (BDS) endpoints: by-visit summaries, ANCOVA, MMRM."""

from __future__ import annotations

from trialpress.results.schema_types import Analysis, analysis

_MODEL = {"lsmean": "LS mean of `group` at `timepoint` (CI)", "lsmean_se": "its standard error",
          "difference": "LS-mean difference `group` minus `reference` at `timepoint` (CI)",
          "difference_se": "its standard error", "df": "denominator degrees of freedom of the difference",
          "t": "t statistic of the difference", "p": "two-sided P of the difference"}

CONTINUOUS_ANALYSES: dict[str, Analysis] = {
    "cont_desc": analysis("Descriptive statistics of a continuous endpoint (parameter = BASE, AVAL, CHG or PCHG; "
                          "timepoint = visit, '' for the baseline)", n="subjects with a value",
                          mean="mean (t-based CI)", sd="standard deviation (n - 1)", median="median",
                          q1="first quartile (SAS QNTLDEF=5)", q3="third quartile (SAS QNTLDEF=5)", min="minimum",
                          max="maximum"),
    "ancova": analysis("ANCOVA at one visit", residual_sd="residual standard deviation",
                       excluded="subjects left out (missing value, covariate or factor)",
                       dose_slope="linear dose-response slope per unit of dose (CI)",
                       dose_p="P of the dose-response slope", **_MODEL),
    "mmrm": analysis("Mixed model for repeated measures over the visits", text=("covariance",),
                     covariance="covariance structure used (text)", observations="observations in the model",
                     **_MODEL),
}

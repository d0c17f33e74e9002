# Reference values for the subgroup analysis of overall survival on the public ADaM package
# (tests/test_public_subgroups.py), read from its own XPT files with haven (not trialpress's reader).
#   Rscript tests/reference/r/public_subgroups.R   (from the repo root)
#
# Data: data/random-cdisc-data/adsl.xpt and adtte.xpt (random.cdisc.data, Apache-2.0; README there).
# Rows: ADTTE PARAMCD OS of the ITT population (ADSL ITTFL = "Y"), arm TRT01P, event = 1 - CNSR, time AVAL.
# Calls, for each subgroup variable SEX, BMRKR2, REGION1, RACE:
#   per level: coxph(Surv(AVAL, 1 - CNSR) ~ ARM, ties = "efron") (unstratified, unadjusted), exp(coef),
#              exp(confint) (Wald), summary()$coefficients P
#   interaction: coxph(Surv(AVAL, 1 - CNSR) ~ ARM * V, ties = "efron"); Wald chi-square of the ARM:V
#              coefficients b' V^-1 b with their count as df (NA coefficients, aliased by an empty cell, left out:
#              RACE, whose rare levels have subjects in one arm only, is reported for information)
source(file.path("tests", "reference", "r", "_common.R"))
suppressPackageStartupMessages(library(haven))

REF <- "B: Placebo"
PKG <- file.path("data", "random-cdisc-data")
adsl <- as.data.frame(read_xpt(file.path(PKG, "adsl.xpt")))
adtte <- as.data.frame(read_xpt(file.path(PKG, "adtte.xpt")))
d <- merge(adtte[adtte$PARAMCD == "OS", c("USUBJID", "AVAL", "CNSR")], adsl[adsl$ITTFL == "Y", ], by = "USUBJID")
d$ARM <- relevel(factor(d$TRT01P), ref = REF)

level_fits <- function(v) {
  out <- list()
  for (lv in sort(unique(d[[v]]))) {
    s <- d[d[[v]] == lv, ]
    s$ARM <- droplevels(s$ARM)
    if (nlevels(s$ARM) < 2) next
    f <- coxph(Surv(AVAL, 1 - CNSR) ~ ARM, data = s, ties = "efron")
    sm <- summary(f)$coefficients
    ci <- exp(confint(f))
    arms <- list()
    for (nm in rownames(sm)) {
      arms[[sub("^ARM", "", nm)]] <- list(hr = num(sm[nm, "exp(coef)"]), lower = num(ci[nm, 1]),
                                          upper = num(ci[nm, 2]), p = num(sm[nm, "Pr(>|z|)"]))
    }
    out[[lv]] <- list(n = nrow(s), events = sum(1 - s$CNSR), arms = arms)
  }
  out
}

interaction <- function(v) {
  d$V <- factor(d[[v]])
  m <- coxph(Surv(AVAL, 1 - CNSR) ~ ARM * V, data = d, ties = "efron")
  b <- coef(m)
  i <- m$assign[["ARM:V"]]
  i <- i[!is.na(b[i])]
  w <- as.numeric(t(b[i]) %*% solve(vcov(m)[i, i], b[i]))
  list(chisq = num(w), df = length(i), p = num(pchisq(w, length(i), lower.tail = FALSE)))
}

result <- list()
for (v in c("SEX", "BMRKR2", "REGION1", "RACE")) result[[v]] <- list(levels = level_fits(v), interaction = interaction(v))
result[["_meta"]] <- meta("tests/reference/r/public_subgroups.R", c(
  "haven::read_xpt(data/random-cdisc-data/{adsl,adtte}.xpt); OS, ITTFL = 'Y', ARM = TRT01P",
  "coxph(Surv(AVAL, 1 - CNSR) ~ ARM, ties = 'efron') within each level; exp(confint())",
  "coxph(Surv(AVAL, 1 - CNSR) ~ ARM * V, ties = 'efron'); Wald chi-square of the ARM:V coefficients"))
result[["_meta"]]$haven_version <- packageDescription("haven")$Version
write_ref(result, "public_subgroups")

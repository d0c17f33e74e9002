# Reference values for the adjusted Cox and logistic models on the public ADaM package
# (tests/test_public_adjusted.py), read from its own XPT files with haven (not trialpress's reader).
#   Rscript tests/reference/r/public_adjusted.R   (from the repo root)
#
# Data: data/random-cdisc-data/adsl.xpt, adtte.xpt, adrs.xpt (random.cdisc.data, Apache-2.0; README there).
# Population: ADSL ITTFL = "Y", arm TRT01P (reference "B: Placebo"); covariates AGE, SEX, BMRKR1 (numeric) and
# REGION1 (six levels, indicators against the first in sorted order: R's factor default).
# Calls:
#   coxph(Surv(AVAL, 1 - CNSR) ~ ARM + AGE + SEX + BMRKR1 + REGION1, ties = "efron") on ADTTE OS;
#     exp(coef), exp(confint()) (Wald), summary()$coefficients P
#   glm(y ~ ARM + AGE + SEX + BMRKR1 + REGION1, binomial, epsilon = 1e-14) on ADRS INVET, y = AVALC in CR/PR
#     (a subject without a record: not a responder); exp(coef), exp(confint.default()) (Wald), P
source(file.path("tests", "reference", "r", "_common.R"))
suppressPackageStartupMessages(library(haven))

PKG <- file.path("data", "random-cdisc-data")
adsl <- as.data.frame(read_xpt(file.path(PKG, "adsl.xpt")))
adtte <- as.data.frame(read_xpt(file.path(PKG, "adtte.xpt")))
adrs <- as.data.frame(read_xpt(file.path(PKG, "adrs.xpt")))
itt <- adsl[adsl$ITTFL == "Y", ]
itt$ARM <- relevel(factor(itt$TRT01P), ref = "B: Placebo")

terms_of <- function(est, ci, p) {
  lapply(setNames(seq_along(est), names(est)), function(i) list(
    estimate = num(est[i]), lower = num(ci[i, 1]), upper = num(ci[i, 2]), p = num(p[i])))
}

d <- merge(adtte[adtte$PARAMCD == "OS", c("USUBJID", "AVAL", "CNSR")], itt, by = "USUBJID")
cox <- coxph(Surv(AVAL, 1 - CNSR) ~ ARM + AGE + SEX + BMRKR1 + REGION1, data = d, ties = "efron")
b <- merge(itt, adrs[adrs$PARAMCD == "INVET", c("USUBJID", "AVALC")], by = "USUBJID", all.x = TRUE)
b$y <- as.integer(!is.na(b$AVALC) & b$AVALC %in% c("CR", "PR"))
lg <- glm(y ~ ARM + AGE + SEX + BMRKR1 + REGION1, family = binomial, data = b,
          control = glm.control(epsilon = 1e-14, maxit = 100))
ls <- summary(lg)$coefficients[-1, ]

result <- list(
  OS = list(n = cox$n, events = cox$nevent,
            terms = terms_of(exp(coef(cox)), exp(confint(cox)), summary(cox)$coefficients[, 5])),
  INVET = list(n = nobs(lg), terms = terms_of(exp(coef(lg))[-1], exp(confint.default(lg))[-1, ], ls[, 4]))
)
result[["_meta"]] <- meta("tests/reference/r/public_adjusted.R", c(
  "coxph(Surv(AVAL, 1 - CNSR) ~ ARM + AGE + SEX + BMRKR1 + REGION1, ties = 'efron'); exp(confint())",
  "glm(y ~ ARM + AGE + SEX + BMRKR1 + REGION1, binomial, epsilon = 1e-14); exp(confint.default())"))
result[["_meta"]]$haven_version <- packageDescription("haven")$Version
write_ref(result, "public_adjusted")

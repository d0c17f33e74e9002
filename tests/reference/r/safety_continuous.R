# Reference values for continuous endpoints reported as safety outcomes (tests/test_safety_continuous.py): two
# vital signs of the public ADaM package, read from its own XPT files with haven (not trialpress's reader).
#   Rscript tests/reference/r/safety_continuous.R   (from the repo root)
#
# Data: data/random-cdisc-data/advs.xpt and adsl.xpt (random.cdisc.data, Apache-2.0; README there).
# Rows: PARAMCD DIABP and TEMP at AVISIT "WEEK 5 DAY 36", not the baseline record (ABLFL != "Y"), of the safety
#   population (ADSL SAFFL = "Y") by the as-treated arm TRT01A.
# Calls:
#   lm(CHG ~ ARM + BASE) + emmeans(~ ARM) (one covariate, no factor: every weighting gives the same LS means),
#   contrast(method = "trt.vs.ctrl", ref = "B: Placebo", adjust = "none"), 95% CIs
source(file.path("tests", "reference", "r", "_common.R"))
suppressPackageStartupMessages({
  library(haven)
  library(emmeans)
})

REF <- "B: Placebo"
VISIT <- "WEEK 5 DAY 36"
PKG <- file.path("data", "random-cdisc-data")

adsl <- as.data.frame(read_xpt(file.path(PKG, "adsl.xpt")))
advs <- as.data.frame(read_xpt(file.path(PKG, "advs.xpt")))
saf <- adsl[adsl$SAFFL == "Y", c("USUBJID", "TRT01A")]

ancova_at_visit <- function(paramcd) {
  d <- advs[advs$PARAMCD == paramcd & advs$AVISIT == VISIT & advs$ABLFL != "Y", c("USUBJID", "CHG", "BASE", "AVALU")]
  d <- merge(d, saf, by = "USUBJID")
  d$ARM <- relevel(factor(d$TRT01A), ref = REF)
  fit <- lm(CHG ~ ARM + BASE, data = d)
  emm <- emmeans(fit, ~ ARM)
  lsm <- summary(emm, infer = c(TRUE, TRUE))
  dif <- summary(contrast(emm, method = "trt.vs.ctrl", ref = which(levels(d$ARM) == REF), adjust = "none"),
                 infer = c(TRUE, TRUE))
  list(
    n = nobs(fit), unit = unique(d$AVALU),
    lsmeans = lapply(seq_len(nrow(lsm)), function(i) list(group = as.character(lsm$ARM[i]),
      estimate = num(lsm$emmean[i]), se = num(lsm$SE[i]), lower = num(lsm$lower.CL[i]), upper = num(lsm$upper.CL[i]))),
    differences = lapply(seq_len(nrow(dif)), function(i) list(
      group = sub(paste0(" - ", REF, "$"), "", sub("^\\((.*)\\)", "\\1", as.character(dif$contrast[i]))),
      estimate = num(dif$estimate[i]), se = num(dif$SE[i]), df = num(dif$df[i]), lower = num(dif$lower.CL[i]),
      upper = num(dif$upper.CL[i]), p = num(dif$p.value[i])))
  )
}

result <- list(DIABP = ancova_at_visit("DIABP"), TEMP = ancova_at_visit("TEMP"))
result[["_meta"]] <- meta("tests/reference/r/safety_continuous.R", c(
  "haven::read_xpt(data/random-cdisc-data/{adsl,advs}.xpt)",
  "lm(CHG ~ ARM + BASE) at WEEK 5 DAY 36, SAFFL = 'Y', ARM = TRT01A",
  "emmeans(~ ARM); contrast(method = 'trt.vs.ctrl', adjust = 'none')"))
result[["_meta"]]$emmeans_version <- packageDescription("emmeans")$Version
result[["_meta"]]$haven_version <- packageDescription("haven")$Version
write_ref(result, "safety_continuous")

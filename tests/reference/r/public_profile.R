# Reference values for profile-likelihood odds-ratio CIs and likelihood-ratio P (plan conventions
# odds_ratio_inference: likelihood-ratio) on the public ADaM package (tests/test_public_profile.py), read from its
# own XPT files with haven.
#   Rscript tests/reference/r/public_profile.R   (from the repo root)
#
# Data: data/random-cdisc-data/adsl.xpt, adrs.xpt (random.cdisc.data, Apache-2.0; README there). ITT (ITTFL = "Y"),
# arm TRT01P vs "B: Placebo"; responder: ADRS AVALC in CR/PR for the parameter (no record: not a responder).
# Models: y ~ ARM for BESRSPI and INVET; y ~ ARM + AGE + SEX + BMRKR1 + REGION1 for INVET.
# Calls, for each arm coefficient b_j:
#   the exact profile: D(c) = deviance(glm(y ~ X[, -j] - 1 + offset(c * X[, j]))) - deviance(full fit), the CI
#   {c : D(c) <= qchisq(0.95, 1)} by uniroot (tol 1e-12) on each side (R's confint() interpolates the same
#   profile on a grid, to ~1e-4); P = pchisq(D(0), 1, lower.tail = FALSE), the LR test of dropping that column
#   (= anova of the nested fits); glm.control(epsilon = 1e-14, maxit = 100) throughout.
#   confint(fit) (R's own interpolated profile) is kept beside for information.
source(file.path("tests", "reference", "r", "_common.R"))
suppressPackageStartupMessages(library(haven))

PKG <- file.path("data", "random-cdisc-data")
adsl <- as.data.frame(read_xpt(file.path(PKG, "adsl.xpt")))
adrs <- as.data.frame(read_xpt(file.path(PKG, "adrs.xpt")))
itt <- adsl[adsl$ITTFL == "Y", ]
itt$ARM <- relevel(factor(itt$TRT01P), ref = "B: Placebo")
CTRL <- glm.control(epsilon = 1e-14, maxit = 100)
Q <- qchisq(0.95, 1)

profile_terms <- function(paramcd, formula) {
  d <- merge(itt, adrs[adrs$PARAMCD == paramcd, c("USUBJID", "AVALC")], by = "USUBJID", all.x = TRUE)
  d$y <- as.integer(!is.na(d$AVALC) & d$AVALC %in% c("CR", "PR"))
  fit <- glm(formula, family = binomial, data = d, control = CTRL)
  X <- model.matrix(fit)
  dev_at <- function(j, c) {
    off <- c * X[, j]
    deviance(glm.fit(X[, -j, drop = FALSE], d$y, family = binomial(), offset = off, control = CTRL)) - deviance(fit)
  }
  out <- list()
  for (nm in grep("^ARM", colnames(X), value = TRUE)) {
    j <- which(colnames(X) == nm)
    b <- coef(fit)[[j]]
    se <- sqrt(vcov(fit)[j, j])
    side <- function(dir) {
      step <- se
      while (dev_at(j, b + dir * step) < Q) step <- 2 * step
      uniroot(function(c) dev_at(j, c) - Q, sort(c(b, b + dir * step)), tol = 1e-12)$root
    }
    out[[sub("^ARM", "", nm)]] <- list(or = num(exp(b)), lower = num(exp(side(-1))), upper = num(exp(side(1))),
                                       p = num(pchisq(dev_at(j, 0), 1, lower.tail = FALSE)),
                                       confint_lower = num(exp(suppressMessages(confint(fit)))[j, 1]),
                                       confint_upper = num(exp(suppressMessages(confint(fit)))[j, 2]))
  }
  list(n = nobs(fit), arms = out)
}

result <- list(
  BESRSPI = profile_terms("BESRSPI", y ~ ARM),
  INVET = profile_terms("INVET", y ~ ARM),
  INVET_adjusted = profile_terms("INVET", y ~ ARM + AGE + SEX + BMRKR1 + REGION1)
)
result[["_meta"]] <- meta("tests/reference/r/public_profile.R", c(
  "glm(y ~ ARM [+ AGE + SEX + BMRKR1 + REGION1], binomial, epsilon = 1e-14)",
  "profile deviance by glm.fit(X[, -j], offset = c * X[, j]); uniroot(D(c) - qchisq(0.95, 1), tol = 1e-12)",
  "P = pchisq(D(0), 1, lower.tail = FALSE); confint(fit) for information"))
result[["_meta"]]$haven_version <- packageDescription("haven")$Version
write_ref(result, "public_profile")

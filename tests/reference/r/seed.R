# Reference values on the bundled seed data (data/blinatumomab-salvage), independent of trialpress:
#   survfit(Surv(AVAL, 1 - CNSR) ~ SALVGRP, conf.type = "log-log")   medians and 95% CI
#   coxph(Surv(AVAL, 1 - CNSR) ~ SALVGRP, ties = "efron")             HR, Wald CI, P (reference FIRST)
#   coxph(... + strata(STUDYID))                                      stratified HR
#   survdiff(Surv(AVAL, 1 - CNSR) ~ SALVGRP)                          log-rank chi-square and P
# for PARAMCD OS, RFS and OSHSCT (subjects of ADSL with FASFL = "Y").
# Run from the repo root: Rscript tests/reference/r/seed.R
source(file.path("tests", "reference", "r", "_common.R"))
seed_dir <- file.path("data", "blinatumomab-salvage")
adsl <- read.csv(file.path(seed_dir, "adsl.csv"), stringsAsFactors = FALSE)
adtte <- read.csv(file.path(seed_dir, "adtte.csv"), stringsAsFactors = FALSE)
adsl <- adsl[adsl$FASFL == "Y", c("USUBJID", "SALVGRP", "STUDYID")]
out <- list(`_meta` = meta("seed.R", c("survfit log-log", "coxph efron", "coxph strata(STUDYID)", "survdiff")))
for (p in c("OS", "RFS", "OSHSCT")) {
  d <- merge(adtte[adtte$PARAMCD == p, c("USUBJID", "AVAL", "CNSR")], adsl, by = "USUBJID")
  d$g <- factor(d$SALVGRP, levels = c("FIRST", "LATER"))
  q <- quantile(survfit(Surv(AVAL, 1 - CNSR) ~ g, data = d, conf.type = "log-log"), probs = 0.5)
  fit <- coxph(Surv(AVAL, 1 - CNSR) ~ g, data = d, ties = "efron")
  sfit <- coxph(Surv(AVAL, 1 - CNSR) ~ g + strata(STUDYID), data = d, ties = "efron")
  lr <- survdiff(Surv(AVAL, 1 - CNSR) ~ g, data = d)
  s <- summary(fit)
  ss <- summary(sfit)
  out[[p]] <- list(
    median = list(FIRST = list(est = num(q$quantile[1]), lower = num(q$lower[1]), upper = num(q$upper[1])),
                  LATER = list(est = num(q$quantile[2]), lower = num(q$lower[2]), upper = num(q$upper[2]))),
    hr = list(est = num(s$conf.int[1, 1]), lower = num(s$conf.int[1, 3]), upper = num(s$conf.int[1, 4]),
              p = num(s$coefficients[1, 5])),
    hr_strat = list(est = num(ss$conf.int[1, 1]), lower = num(ss$conf.int[1, 3]), upper = num(ss$conf.int[1, 4]),
                    p = num(ss$coefficients[1, 5])),
    logrank = list(chisq = num(lr$chisq), p = num(pchisq(lr$chisq, 1, lower.tail = FALSE)))
  )
}
write_json(out, file.path(OUT_DIR, "seed.json"), auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null")

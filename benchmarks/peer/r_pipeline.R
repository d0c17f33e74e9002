# Copied unchanged (below this note) from ../shared/bench/r_pipeline.R, the R programmer's pipeline shared with
# the team (see ../shared/bench/README.md), so that benchmarks/side_by_side.py runs from a clone.
# The flagship analysis as an R programmer would write it (data.table + survival + stats): the peer that the
# performance bar sets trialpress against. Reads the study's CSVs (needed columns only), selects populations,
# and fits what the plan asks: per TTE endpoint KM (log-log CIs) + log-rank + Cox (plain, stratified by study,
# adjusted, per subgroup level); per binary endpoint logistic (plain, adjusted); TEAE subjects by SOC/PT and
# grade >= 3 per group. Prints the wall seconds of the whole script body (after R start-up) last.
t0 <- Sys.time()
suppressMessages({library(data.table); library(survival)})
dir <- commandArgs(TRUE)[1]
setDTthreads(0)
adsl <- fread(file.path(dir, "adsl.csv"), select = c("STUDYID", "USUBJID", "AGE", "AGEGR1", "SEX", "PHSTAT", "PRHSCT",
  "BMBLGR1", "SALVGRP", "FASFL", "SAFFL", "HSCTFL", "HSCTCRFL"))
adtte <- fread(file.path(dir, "adtte.csv"), select = c("USUBJID", "PARAMCD", "AVAL", "CNSR"))
adrs <- fread(file.path(dir, "adrs.csv"), select = c("USUBJID", "PARAMCD", "AVALC"))
adae <- fread(file.path(dir, "adae.csv"), select = c("USUBJID", "AEBODSYS", "AEDECOD", "AETOXGR", "TRTEMFL"))
fas <- adsl[FASFL == "Y"]; fas[, LATER := as.integer(SALVGRP == "LATER")]
tte <- merge(adtte, fas, by = "USUBJID")
for (p in unique(tte$PARAMCD)) {
  x <- tte[PARAMCD == p]
  f <- survfit(Surv(AVAL, 1 - CNSR) ~ LATER, data = x, conf.type = "log-log"); invisible(summary(f)$table)
  invisible(summary(f, times = c(6, 12, 24), extend = TRUE))
  invisible(survdiff(Surv(AVAL, 1 - CNSR) ~ LATER, data = x))
  invisible(coxph(Surv(AVAL, 1 - CNSR) ~ LATER, data = x, ties = "efron"))
  invisible(coxph(Surv(AVAL, 1 - CNSR) ~ LATER + strata(STUDYID), data = x, ties = "efron"))
  if (p == "OS") {
    invisible(coxph(Surv(AVAL, 1 - CNSR) ~ LATER + AGE + SEX + PHSTAT + PRHSCT + BMBLGR1, data = x, ties = "efron"))
    for (v in c("PRHSCT", "AGEGR1", "SEX", "PHSTAT", "BMBLGR1")) for (l in unique(x[[v]]))
      invisible(coxph(Surv(AVAL, 1 - CNSR) ~ LATER, data = x[x[[v]] == l], ties = "efron"))
  }
}
resp <- function(flag) { d <- copy(fas); d[, Y := as.integer(USUBJID %chin% flag)]; d }
bin <- list(REM = adrs[PARAMCD == "BESTRSP" & AVALC %chin% c("CR", "CRh", "CRi"), USUBJID],
            MRD = adrs[PARAMCD == "MRDRESP" & AVALC == "Y", USUBJID],
            HSCT = fas[HSCTFL == "Y", USUBJID], HSCTCR = fas[HSCTCRFL == "Y", USUBJID])
for (b in bin) {
  d <- resp(b)
  invisible(glm(Y ~ LATER, family = binomial, data = d))
  invisible(glm(Y ~ LATER + AGE + SEX + PHSTAT + PRHSCT + BMBLGR1, family = binomial, data = d))
}
saf <- adsl[SAFFL == "Y", .(USUBJID, SALVGRP)]
ae <- merge(adae[TRTEMFL == "Y"], saf, by = "USUBJID")
invisible(ae[, .(n = uniqueN(USUBJID)), by = .(SALVGRP, AEBODSYS)])
invisible(ae[, .(n = uniqueN(USUBJID)), by = .(SALVGRP, AEBODSYS, AEDECOD)])
invisible(ae[AETOXGR >= 3, .(n = uniqueN(USUBJID)), by = .(SALVGRP, AEBODSYS, AEDECOD)])
cat("pipeline_seconds", as.numeric(difftime(Sys.time(), t0, units = "secs")), "\n")

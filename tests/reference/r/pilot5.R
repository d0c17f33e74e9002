# Reference values on the R Submission Pilot 5 package data/rconsortium-pilot5/ (the CDISC pilot study
# CDISCPILOT01 as CDISC Dataset-JSON 1.1, as submitted to the FDA; README there).
# R 4.2.2, survival 3.5-3, jsonlite 1.8.4 (versions also in JSON _meta)
#
# Data: jsonlite::fromJSON of adsl.json and adtte.json (an independent reader: R's, not trialpress's):
#       `columns` names the variables, `rows` holds the records; ISO dates as.Date. Safety population
#       SAFFL == "Y" in ADSL; group = ADSL TRT01A (as treated); reference "Placebo".
# Time to first dermatologic event, ADTTE PARAMCD TTDE (AVAL in days); event <- as.integer(CNSR == 0)
#   fit <- survfit(Surv(AVAL, event) ~ arm, conf.type = "log-log")            # Greenwood, 95%
#   quantile(fit, probs = c(.25, .5, .75), conf.int = TRUE)                    # median, quartiles + CIs
#   summary(fit, times = c(30, 60, 90, 120, 150, 180))                         # numbers at risk
#   coxph(Surv(AVAL, event) ~ arm, ties = "efron")                             # 3-arm model; exp(confint(fit)) Wald CI
#   survdiff(Surv(AVAL, event) ~ arm, data = <placebo + one arm>)              # pairwise log-rank, df 1
#   survdiff(Surv(AVAL, event) ~ arm)                                          # overall log-rank, df 2
#   survfit(Surv(AVAL, 1 - event) ~ arm, conf.type = "log-log"); quantile(., .5, conf.int = TRUE)   # reverse-KM follow-up
# ADSL, ITTFL == "Y" by TRT01P: N, and AGE mean, SD, median, min, max per arm and in total.
# Run: Rscript tests/reference/r/pilot5.R   (from repo root)
source(file.path("tests", "reference", "r", "_common.R"))

DIR <- file.path("data", "rconsortium-pilot5")
ARMS <- c("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")
TIMES <- c(30, 60, 90, 120, 150, 180)

read_dsj <- function(name) {
  j <- fromJSON(file.path(DIR, paste0(name, ".json")), simplifyVector = FALSE)
  names <- vapply(j$columns, function(c) c$name, "")
  types <- vapply(j$columns, function(c) c$dataType, "")
  stopifnot(length(j$rows) == j$records)
  d <- lapply(seq_along(names), function(k) {
    v <- lapply(j$rows, function(r) r[[k]])
    v <- vapply(v, function(x) if (is.null(x)) NA_character_ else as.character(x), "")
    if (types[k] %in% c("integer", "float", "double", "decimal")) suppressWarnings(as.numeric(trimws(v)))
    else if (types[k] == "date") as.Date(ifelse(v == "", NA, v))
    else v
  })
  names(d) <- names
  as.data.frame(d, stringsAsFactors = FALSE, optional = TRUE)
}
adsl <- read_dsj("adsl")
adtte <- read_dsj("adtte")

saf <- adsl[adsl$SAFFL == "Y", c("USUBJID", "TRT01A")]
d <- merge(adtte[adtte$PARAMCD == "TTDE", ], saf, by = "USUBJID")
stopifnot(nrow(d) == nrow(saf), !anyDuplicated(d$USUBJID))
d$event <- as.integer(d$CNSR == 0)
d$arm <- factor(d$TRT01A, levels = ARMS)

fit <- survfit(Surv(AVAL, event) ~ arm, data = d, conf.type = "log-log")
q <- quantile(fit, probs = c(.25, .5, .75), conf.int = TRUE)
rq <- quantile(survfit(Surv(AVAL, 1 - event) ~ arm, data = d, conf.type = "log-log"), probs = .5, conf.int = TRUE)
qblock <- function(i, p) list(num(q$quantile[i, p]), num(q$lower[i, p]), num(q$upper[i, p]))
arms <- list()
for (i in seq_along(ARMS)) {
  a <- ARMS[i]
  da <- d[d$arm == a, ]
  s <- summary(fit[i], times = TIMES, extend = TRUE)
  arms[[a]] <- list(n = nrow(da), events = sum(da$event), censored = sum(1 - da$event),
                    median = qblock(i, "50"), q25 = qblock(i, "25"), q75 = qblock(i, "75"),
                    at_risk = setNames(as.list(s$n.risk), as.character(TIMES)),
                    followup_reverse_km = list(num(rq$quantile[i]), num(rq$lower[i]), num(rq$upper[i])))
}
cox <- coxph(Surv(AVAL, event) ~ arm, data = d, ties = "efron")
sm <- summary(cox)$coefficients
ci <- exp(confint(cox))
hr <- list()
for (a in ARMS[-1]) {
  tm <- paste0("arm", a)
  hr[[a]] <- list(hr = num(exp(sm[tm, "coef"])), lower = num(ci[tm, 1]), upper = num(ci[tm, 2]),
                  p = num(sm[tm, "Pr(>|z|)"]))
}
lr <- list()
for (a in ARMS[-1]) {
  dp <- d[d$TRT01A %in% c(ARMS[1], a), ]
  dp$arm <- factor(dp$TRT01A, levels = c(ARMS[1], a))
  sd <- survdiff(Surv(AVAL, event) ~ arm, data = dp)
  lr[[a]] <- list(chisq = num(sd$chisq), p = num(pchisq(sd$chisq, 1, lower.tail = FALSE)))
}
all <- survdiff(Surv(AVAL, event) ~ arm, data = d)
lr_overall <- list(chisq = num(all$chisq), df = 2, p = num(pchisq(all$chisq, 2, lower.tail = FALSE)))

itt <- adsl[adsl$ITTFL == "Y", ]
age <- list()
for (a in c(ARMS, "Total")) {
  x <- if (a == "Total") itt$AGE else itt$AGE[itt$TRT01P == a]
  age[[a]] <- list(n = length(x), mean = num(mean(x)), sd = num(sd(x)), median = num(median(x)),
                   min = num(min(x)), max = num(max(x)))
}

m <- meta("pilot5.R", c("survfit(Surv(AVAL, event) ~ arm, conf.type = 'log-log')", "coxph(ties = 'efron')",
                        "survdiff", "mean/sd/median of ADSL AGE (ITTFL == 'Y')"))
write_ref(list(`_meta` = m, tte = list(arms = arms, cox = hr, logrank = lr, logrank_overall = lr_overall),
               age = age), "pilot5")

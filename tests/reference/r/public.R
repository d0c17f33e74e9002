# Reference values on the public ADaM package data/random-cdisc-data/ (random.cdisc.data study AB12345).
# R 4.2.2 Patched (2022-11-10 r83330), survival 3.5-3, haven 2.5.1, jsonlite 1.8.4 (versions also in JSON _meta)
#
# Data: read_xpt("data/random-cdisc-data/<adsl|adtte|adrs|adae>.xpt") (haven). Blank character values ("")
#       are treated as missing. Arms: reference "B: Placebo"; others "A: Drug X", "C: Combination".
#       Efficacy: ITTFL == "Y", arm = TRT01P.  Safety: SAFFL == "Y", arm = TRT01A.
#       arm <- factor(TRT01P, levels = c("B: Placebo", "A: Drug X", "C: Combination"))
#
# (1) Time to event, ADTTE PARAMCD OS, PFS, EFS (AVAL in days); event <- as.integer(CNSR == 0)  (CNSR > 0 = censored)
#   fit <- survfit(Surv(AVAL, event) ~ arm, conf.type = "log-log")            # Greenwood, 95%
#   quantile(fit, probs = c(.25, .5, .75), conf.int = TRUE)                    # median, quartiles + CIs
#   summary(fit[i], times = c(90, 180, 365), extend = TRUE)                    # KM rates, log-log CIs
#   coxph(Surv(AVAL, event) ~ arm, ties = "efron")                             # 3-arm model; exp(confint(fit)) Wald CI;
#                                                                              #   summary(fit)$coefficients[, "Pr(>|z|)"]
#   coxph(Surv(AVAL, event) ~ arm, ties = "efron", data = <placebo + one arm>) # pairwise models
#   coxph(Surv(AVAL, event) ~ arm + strata(STRATA1), ties = "efron")           # stratified 3-arm (and pairwise)
#   survdiff(Surv(AVAL, event) ~ arm, data = <placebo + one arm>)              # pairwise log-rank, df 1
#   survdiff(Surv(AVAL, event) ~ arm)                                          # overall log-rank, df 2
#   survdiff(Surv(AVAL, event) ~ arm + strata(STRATA1), data = <pair>)         # stratified pairwise (and overall)
#   p = pchisq(chisq, df, lower.tail = FALSE)
#   survfit(Surv(AVAL, 1 - event) ~ arm, conf.type = "log-log"); quantile(., .5, conf.int = TRUE)   # reverse-KM follow-up
# (2) CRSD (duration of confirmed response): the same calls, on responders only = ITT subjects whose ADRS
#     PARAMCD "BESRSPI" AVALC is "CR" or "PR"; and once more on all ITT subjects (block "CRSD_all_itt").
# (3) Responses, ADRS PARAMCD BESRSPI and INVET, ITT; responder <- AVALC %in% c("CR", "PR"); a subject with no
#     record of the parameter is a non-responder; denominator N = ITT N of the arm (ADSL).
#   binom.test(x, N)$conf.int                                                  # Clopper-Pearson
#   glm(resp ~ arm, family = binomial, control = glm.control(epsilon = 1e-14))                                       # both arm indicators in one model;
#                                                                              #   exp(confint.default(fit)) Wald CI, Wald P
#   Newcombe hybrid score CI (method 10, no CC) of p_arm - p_placebo from Wilson intervals
#     (closed form, checked against prop.test(x, n, correct = FALSE)$conf.int):
#       lower = d - sqrt((p1 - l1)^2 + (u2 - p2)^2),  upper = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)
# (4) ADAE, TRTEMFL == "Y", subjects with SAFFL == "Y" in ADSL, arm = ADSL TRT01A; denominators = SAF N per arm.
#     Counts are distinct USUBJID: length(unique(USUBJID)) per arm (tapply) among records meeting the condition:
#       any TEAE; AESER == "Y"; AEREL == "Y"; as.numeric(AETOXGR) >= 3; as.numeric(AETOXGR) == 5;
#       AEOUT == "FATAL"; AEACN == "DRUG WITHDRAWN"; AESER == "Y" & AEREL == "Y".
#     Then by AEBODSYS and by AEBODSYS x AEDECOD, any grade and grade >= 3, per arm and total.
# (5) ADSL: N per arm (ITT by TRT01P, SAF by TRT01A); EOSSTT and DCSREAS per TRT01P (ITT);
#     deaths DTHFL == "Y" per TRT01P (ITT) and by DTHCAUS.
# Run: Rscript tests/reference/r/public.R   (from repo root)
source(file.path("tests", "reference", "r", "_common.R"))
suppressPackageStartupMessages(library(haven))

PUB_DIR <- file.path("data", "random-cdisc-data")
REF_ARM <- "B: Placebo"
ARMS <- c("B: Placebo", "A: Drug X", "C: Combination")
TRT_ARMS <- c("A: Drug X", "C: Combination")
RATE_TIMES <- c(90, 180, 365)
z975 <- qnorm(0.975)

read_pub <- function(name) {
  d <- as.data.frame(read_xpt(file.path(PUB_DIR, paste0(name, ".xpt"))))
  for (v in names(d)) {
    if (is.character(d[[v]])) {
      x <- d[[v]]
      x[!is.na(x) & trimws(x) == ""] <- NA_character_   # XPT stores missing character as blank
      d[[v]] <- x
    }
  }
  d
}
adsl  <- read_pub("adsl")
adtte <- read_pub("adtte")
adrs  <- read_pub("adrs")
adae  <- read_pub("adae")
stopifnot(!anyDuplicated(adsl$USUBJID), setequal(unique(adsl$TRT01P), ARMS), setequal(unique(adsl$TRT01A), ARMS))

itt <- adsl[adsl$ITTFL %in% "Y", ]
saf <- adsl[adsl$SAFFL %in% "Y", ]
arm_factor <- function(x, levels = ARMS) factor(x, levels = levels)
# term names in a coxph/glm fit with arm = factor(., levels = c(REF_ARM, ...))
term_of <- function(a) paste0("arm", a)

# ---------------------------------------------------------------- (1), (2) time to event
qblock <- function(q, i, p) list(num(q$quantile[i, p]), num(q$lower[i, p]), num(q$upper[i, p]))

cox_terms <- function(fit, arms) {
  sm <- summary(fit)$coefficients
  ci <- exp(confint(fit))
  out <- list()
  for (a in arms) {
    tm <- term_of(a)
    out[[a]] <- list(hr = num(exp(sm[tm, "coef"])), lower = num(ci[tm, 1]), upper = num(ci[tm, 2]),
                     p = num(sm[tm, "Pr(>|z|)"]), coef = num(sm[tm, "coef"]), se = num(sm[tm, "se(coef)"]),
                     z = num(sm[tm, "z"]))
  }
  out$n <- fit$n
  out$events <- fit$nevent
  out$tests <- list(
    lr = list(stat = num(2 * diff(fit$loglik)), df = length(arms),
              p = num(pchisq(2 * diff(fit$loglik), length(arms), lower.tail = FALSE))),
    wald = list(stat = num(fit$wald.test), df = length(arms),
                p = num(pchisq(fit$wald.test, length(arms), lower.tail = FALSE))),
    score = list(stat = num(fit$score), df = length(arms),
                 p = num(pchisq(fit$score, length(arms), lower.tail = FALSE))))
  out
}

logrank <- function(f, d) {
  sd <- survdiff(f, data = d)
  df <- length(sd$n) - 1
  lev <- sub("^[^=]*=", "", names(sd$n))
  obs <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  expd <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  groups <- list()
  for (k in seq_along(lev)) groups[[lev[k]]] <- list(n = num(sd$n[k]), observed = num(obs[k]), expected = num(expd[k]))
  p <- pchisq(sd$chisq, df, lower.tail = FALSE)
  stopifnot(isTRUE(all.equal(p, sd$pvalue)))
  list(chisq = num(sd$chisq), df = df, p = num(p), groups = groups)
}

tte_block <- function(d, population) {
  d$event <- as.integer(d$CNSR == 0)
  d$arm <- arm_factor(d$TRT01P)
  stopifnot(!anyDuplicated(d$USUBJID), !anyNA(d$AVAL), !anyNA(d$CNSR), !anyNA(d$arm), all(d$CNSR >= 0))
  fit <- survfit(Surv(AVAL, event) ~ arm, data = d, conf.type = "log-log")
  lev <- sub("^[^=]*=", "", names(fit$strata))
  stopifnot(identical(lev, ARMS))
  q <- quantile(fit, probs = c(.25, .5, .75), conf.int = TRUE)
  rfit <- survfit(Surv(AVAL, 1 - event) ~ arm, data = d, conf.type = "log-log")
  rq <- quantile(rfit, probs = .5, conf.int = TRUE)
  arms <- list()
  for (i in seq_along(lev)) {
    a <- lev[i]
    da <- d[d$arm == a, ]
    s <- summary(fit[i], times = RATE_TIMES, extend = TRUE)
    rates <- list()
    for (k in seq_along(RATE_TIMES)) rates[[as.character(RATE_TIMES[k])]] <- list(
      surv = num(s$surv[k]), lower = num(s$lower[k]), upper = num(s$upper[k]),
      std_err = num(s$std.err[k]), n_risk = num(s$n.risk[k]))
    arms[[a]] <- list(
      n = nrow(da), events = sum(da$event), censored = sum(1 - da$event),
      median = qblock(q, i, "50"), q25 = qblock(q, i, "25"), q75 = qblock(q, i, "75"),
      rates = rates,
      max_time = max(da$AVAL),
      followup_reverse_km = list(num(rq$quantile[i]), num(rq$lower[i]), num(rq$upper[i])))
  }
  rall <- quantile(survfit(Surv(AVAL, 1 - event) ~ 1, data = d, conf.type = "log-log"), probs = .5, conf.int = TRUE)

  cox3 <- cox_terms(coxph(Surv(AVAL, event) ~ arm, data = d, ties = "efron"), TRT_ARMS)
  cox3_strat <- cox_terms(coxph(Surv(AVAL, event) ~ arm + strata(STRATA1), data = d, ties = "efron"), TRT_ARMS)
  cox_pair <- list(); cox_pair_strat <- list(); lr_pair <- list(); lr_pair_strat <- list()
  for (a in TRT_ARMS) {
    dp <- d[d$TRT01P %in% c(REF_ARM, a), ]
    dp$arm <- arm_factor(dp$TRT01P, c(REF_ARM, a))
    f1 <- coxph(Surv(AVAL, event) ~ arm, data = dp, ties = "efron")
    f2 <- coxph(Surv(AVAL, event) ~ arm + strata(STRATA1), data = dp, ties = "efron")
    t1 <- cox_terms(f1, a); t2 <- cox_terms(f2, a)
    cox_pair[[a]] <- c(t1[[a]], list(n = t1$n, events = t1$events, tests = t1$tests))
    cox_pair_strat[[a]] <- c(t2[[a]], list(n = t2$n, events = t2$events, tests = t2$tests))
    lr_pair[[a]] <- logrank(Surv(AVAL, event) ~ arm, dp)
    lr_pair_strat[[a]] <- logrank(Surv(AVAL, event) ~ arm + strata(STRATA1), dp)
  }
  list(
    population = population,
    arms = arms,
    followup_reverse_km_overall = list(num(rall$quantile), num(rall$lower), num(rall$upper)),
    cox3 = cox3,
    cox3_strat = cox3_strat,
    cox_pairwise = cox_pair,
    cox_pairwise_strat = cox_pair_strat,
    logrank = list(pairwise = lr_pair, overall = logrank(Surv(AVAL, event) ~ arm, d)),
    logrank_strat = list(pairwise = lr_pair_strat, overall = logrank(Surv(AVAL, event) ~ arm + strata(STRATA1), d))
  )
}

tte_itt <- merge(adtte, itt[, c("USUBJID"), drop = FALSE], by = "USUBJID")
stopifnot(all(tte_itt$TRT01P == itt$TRT01P[match(tte_itt$USUBJID, itt$USUBJID)]),
          all(tte_itt$STRATA1 == itt$STRATA1[match(tte_itt$USUBJID, itt$USUBJID)]),
          all(tte_itt$AVALU[tte_itt$PARAMCD %in% c("OS", "PFS", "EFS", "CRSD")] == "DAYS"))
best <- adrs[adrs$PARAMCD == "BESRSPI" & adrs$USUBJID %in% itt$USUBJID, ]
stopifnot(!anyDuplicated(best$USUBJID))
responders <- best$USUBJID[best$AVALC %in% c("CR", "PR")]

tte <- list()
for (p in c("OS", "PFS", "EFS")) tte[[p]] <- tte_block(tte_itt[tte_itt$PARAMCD == p, ], "ITT")
crsd <- tte_itt[tte_itt$PARAMCD == "CRSD", ]
tte$CRSD <- tte_block(crsd[crsd$USUBJID %in% responders, ],
                      "ITT responders: ADRS BESRSPI AVALC in {CR, PR}")
tte$CRSD_all_itt <- tte_block(crsd, "all ITT subjects (for contrast; CRSD is defined for responders only)")
for (p in c("CRSD", "CRSD_all_itt")) tte[[p]]$analysed_n <- lapply(tte[[p]]$arms, function(x) x$n)
tte$CRSD$non_responders_with_crsd_record <- sum(!(crsd$USUBJID %in% responders))

# ---------------------------------------------------------------- (3) responses
wilson <- function(x, n) {
  p <- x / n
  centre <- (p + z975^2 / (2 * n)) / (1 + z975^2 / n)
  half <- z975 / (1 + z975^2 / n) * sqrt(p * (1 - p) / n + z975^2 / (4 * n^2))
  ci <- c(centre - half, centre + half)
  chk <- suppressWarnings(prop.test(x, n, correct = FALSE)$conf.int)
  stopifnot(isTRUE(all.equal(ci, as.numeric(chk), tolerance = 1e-10)))
  ci
}

resp_block <- function(paramcd) {
  r <- adrs[adrs$PARAMCD == paramcd & adrs$USUBJID %in% itt$USUBJID, ]
  stopifnot(!anyDuplicated(r$USUBJID))
  d <- data.frame(USUBJID = itt$USUBJID, arm = arm_factor(itt$TRT01P), stringsAsFactors = FALSE)
  d$AVALC <- r$AVALC[match(d$USUBJID, r$USUBJID)]
  d$resp <- as.integer(d$AVALC %in% c("CR", "PR"))        # no record (NA) -> non-responder
  arms <- list()
  for (a in ARMS) {
    da <- d[d$arm == a, ]
    x <- sum(da$resp); N <- nrow(da)
    ci <- binom.test(x, N)$conf.int
    cats <- table(factor(ifelse(is.na(da$AVALC), "(no record)", da$AVALC)))
    arms[[a]] <- list(n = x, N = N, prop = x / N, lower = num(ci[1]), upper = num(ci[2]),
                      categories = as.list(setNames(as.numeric(cats), names(cats))))
  }
  fit <- glm(resp ~ arm, family = binomial, data = d, control = glm.control(epsilon = 1e-14, maxit = 100))  # converged fully: the default epsilon 1e-8 stops early when a rate is near 100%
  sm <- summary(fit)$coefficients
  w <- exp(confint.default(fit))
  or <- list(); dif <- list()
  for (a in TRT_ARMS) {
    tm <- term_of(a)
    or[[a]] <- list(or = num(exp(sm[tm, "Estimate"])), lower = num(w[tm, 1]), upper = num(w[tm, 2]),
                    p = num(sm[tm, "Pr(>|z|)"]), coef = num(sm[tm, "Estimate"]), se = num(sm[tm, "Std. Error"]),
                    z = num(sm[tm, "z value"]))
    x1 <- arms[[a]]$n; n1 <- arms[[a]]$N; x2 <- arms[[REF_ARM]]$n; n2 <- arms[[REF_ARM]]$N
    p1 <- x1 / n1; p2 <- x2 / n2; dd <- p1 - p2
    w1 <- wilson(x1, n1); w2 <- wilson(x2, n2)
    dif[[a]] <- list(diff = dd,
                     lower = dd - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2),
                     upper = dd + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2),
                     wilson_arm = list(w1[1], w1[2]), wilson_ref = list(w2[1], w2[2]))
  }
  list(responder_definition = 'AVALC in {"CR","PR"}; no record = non-responder; N = ITT N of the arm',
       n_records = nrow(r), arms = arms, odds_ratio = or, diff = dif)
}
response <- list(BESRSPI = resp_block("BESRSPI"), INVET = resp_block("INVET"))

# ---------------------------------------------------------------- (4) adverse events
SAF_N <- c(as.list(setNames(as.numeric(table(arm_factor(saf$TRT01A))), ARMS)), list(Total = nrow(saf)))
ae <- adae[adae$TRTEMFL %in% "Y" & adae$USUBJID %in% saf$USUBJID, ]
ae$arm <- arm_factor(saf$TRT01A[match(ae$USUBJID, saf$USUBJID)])   # arm from ADSL TRT01A
stopifnot(all(ae$TRT01A == as.character(ae$arm)))
ae$grade <- as.numeric(ae$AETOXGR)
stopifnot(!anyNA(ae$grade))

# distinct subjects per arm and total among the records in `rows`
subj_count <- function(rows) {
  r <- ae[rows, ]
  per_arm <- tapply(r$USUBJID, r$arm, function(u) length(unique(u)))
  per_arm[is.na(per_arm)] <- 0
  c(as.list(setNames(as.numeric(per_arm), ARMS)), list(Total = length(unique(r$USUBJID))))
}
overview <- list(
  any = subj_count(rep(TRUE, nrow(ae))),
  serious = subj_count(ae$AESER %in% "Y"),
  related = subj_count(ae$AEREL %in% "Y"),
  grade3plus = subj_count(ae$grade >= 3),
  grade5 = subj_count(ae$grade == 5),
  fatal = subj_count(ae$AEOUT %in% "FATAL"),
  discontinued = subj_count(ae$AEACN %in% "DRUG WITHDRAWN"),
  serious_related = subj_count(ae$AESER %in% "Y" & ae$AEREL %in% "Y")
)
soc_tab <- function(rows) {
  out <- list()
  for (s in sort(unique(ae$AEBODSYS))) out[[s]] <- subj_count(rows & ae$AEBODSYS == s)
  out
}
soc_pt_tab <- function(rows) {
  out <- list()
  for (s in sort(unique(ae$AEBODSYS))) {
    out[[s]] <- list()
    for (t in sort(unique(ae$AEDECOD[ae$AEBODSYS == s]))) out[[s]][[t]] <- subj_count(rows & ae$AEBODSYS == s & ae$AEDECOD == t)
  }
  out
}
all_rows <- rep(TRUE, nrow(ae))
ae_out <- list(
  N = SAF_N,
  n_records = nrow(ae),
  overview = overview,
  soc = soc_tab(all_rows),
  soc_pt = soc_pt_tab(all_rows),
  soc_grade3plus = soc_tab(ae$grade >= 3),
  soc_pt_grade3plus = soc_pt_tab(ae$grade >= 3)
)

# ---------------------------------------------------------------- (5) ADSL
count_by_arm <- function(d, armvar, var = NULL) {
  tot <- function(x) c(as.list(setNames(as.numeric(table(arm_factor(x))), ARMS)), list(Total = length(x)))
  if (is.null(var)) return(tot(d[[armvar]]))
  out <- list()
  for (v in sort(unique(d[[var]][!is.na(d[[var]])]))) out[[v]] <- tot(d[[armvar]][d[[var]] %in% v])
  out
}
adsl_out <- list(
  N = list(ITT = count_by_arm(itt, "TRT01P"), SAF = count_by_arm(saf, "TRT01A")),
  EOSSTT = count_by_arm(itt, "TRT01P", "EOSSTT"),
  DCSREAS = count_by_arm(itt, "TRT01P", "DCSREAS"),
  DCSREAS_missing = count_by_arm(itt[is.na(itt$DCSREAS), ], "TRT01P"),
  deaths = count_by_arm(itt[itt$DTHFL %in% "Y", ], "TRT01P"),
  DTHCAUS = count_by_arm(itt[itt$DTHFL %in% "Y", ], "TRT01P", "DTHCAUS"),
  note = paste("ITT by TRT01P (TRT01P equals TRT01A for every subject here); blank DCSREAS/DTHCAUS treated as missing",
               "(DCSREAS is blank for subjects not discontinued); DTHCAUS 'MISSING' is a literal value in the data")
)

# ---------------------------------------------------------------- write
m <- meta("public.R", c(
  'haven::read_xpt("data/random-cdisc-data/<ds>.xpt"); blank character -> NA',
  'event <- as.integer(CNSR == 0); arm <- factor(TRT01P, levels = c("B: Placebo","A: Drug X","C: Combination"))',
  'survfit(Surv(AVAL, event) ~ arm, conf.type = "log-log"); quantile(fit, c(.25,.5,.75), conf.int = TRUE)',
  'summary(fit[i], times = c(90, 180, 365), extend = TRUE)',
  'coxph(Surv(AVAL, event) ~ arm [+ strata(STRATA1)], ties = "efron"); exp(confint(fit)); summary(fit)$coefficients',
  'survdiff(Surv(AVAL, event) ~ arm [+ strata(STRATA1)]) on the pair / on all 3 arms; pchisq(chisq, df, lower.tail = FALSE)',
  'survfit(Surv(AVAL, 1 - event) ~ arm, conf.type = "log-log"); quantile(., .5, conf.int = TRUE)   # reverse KM',
  'binom.test(x, N)$conf.int; glm(resp ~ arm, family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100)); exp(confint.default(fit))',
  'Newcombe method 10 from Wilson intervals (checked against prop.test(x, n, correct = FALSE)$conf.int)',
  'AE: length(unique(USUBJID)) per arm via tapply, TRTEMFL == "Y", SAFFL == "Y", arm = ADSL TRT01A'))
m$haven_version <- as.character(packageVersion("haven"))
m$data <- "data/random-cdisc-data/*.xpt (random.cdisc.data @ 52ce749b162e5c43c495cff85aae2fca2ec7c6e1, study AB12345)"
m$conventions <- c(
  "[est, lower, upper] arrays for median/q25/q75/followup; null = NA (not reached / not estimable)",
  "event = CNSR == 0; any CNSR > 0 = censored",
  "HR/OR/diff: arm vs B: Placebo; cox3 = one model with both arm indicators; cox_pairwise = placebo + one arm only",
  "rates keyed by day as string; with extend=TRUE a time past the arm's last follow-up keeps the last S with n_risk = 0",
  "AE counts = distinct subjects; Total = all SAF subjects; N = SAF N from ADSL by TRT01A")

out <- list(`_meta` = m, tte = tte, response = response, ae = ae_out, adsl = adsl_out)
write_ref(out, "public")

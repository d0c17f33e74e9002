# Kaplan-Meier reference values.
# R 4.2.2 Patched (2022-11-10 r83330), survival 3.5-3, jsonlite 1.8.4 (versions also in JSON _meta)
#
# Exact calls (per dataset d with columns time, status, group):
#   fit <- survfit(Surv(time, status) ~ group, data = d, conf.type = "log-log")   # Greenwood variance (default), conf.int = 0.95
#   quantile(fit, probs = c(.25, .5, .75), conf.int = TRUE)                        # quartiles + 95% CI
#   summary(fit, times = <rate times>, extend = TRUE)                              # surv, lower, upper, n.risk
#   summary(fit, times = <grid>, extend = TRUE)                                    # n.risk, n.event, n.censor (per interval, cumsum'ed)
#   survfit(Surv(time, 1 - status) ~ 1,     data = d, conf.type = "log-log")       # reverse KM, median follow-up (overall)
#   survfit(Surv(time, 1 - status) ~ group, data = d, conf.type = "log-log")       # reverse KM per group
# Datasets: lung (group = sex; time in days), leukemia (time = t, group = Rx; weeks),
#           edge_noevents, edge_notreached (group = group).
# Run: Rscript tests/reference/r/km.R   (from repo root)
source(file.path("tests", "reference", "r", "_common.R"))

qtab <- function(fit_or_null, probs = c(.25, .5, .75)) {
  q <- quantile(fit_or_null, probs = probs, conf.int = TRUE)
  q
}

# strata names "group=A" -> "A"
strata_levels <- function(fit) sub("^[^=]*=", "", names(fit$strata))

km_block <- function(d, rate_times, grid) {
  fit <- survfit(Surv(time, status) ~ group, data = d, conf.type = "log-log")
  lev <- strata_levels(fit)
  q <- quantile(fit, probs = c(.25, .5, .75), conf.int = TRUE)
  rev_fit <- survfit(Surv(time, 1 - status) ~ group, data = d, conf.type = "log-log")
  rev_q <- quantile(rev_fit, probs = .5, conf.int = TRUE)
  groups <- list()
  for (i in seq_along(lev)) {
    g <- lev[i]
    dg <- d[d$group == g, ]
    qq <- function(p) list(est = num(q$quantile[i, p]), lower = num(q$lower[i, p]), upper = num(q$upper[i, p]))
    fi <- fit[i]
    s <- summary(fi, times = rate_times, extend = TRUE)
    rates <- lapply(seq_along(rate_times), function(k) list(
      time = rate_times[k], surv = num(s$surv[k]), lower = num(s$lower[k]),
      upper = num(s$upper[k]), std_err = num(s$std.err[k]), n_risk = num(s$n.risk[k])))
    sg <- summary(fi, times = grid, extend = TRUE)
    # cross-check the interval counts against direct counting
    cum_ev <- cumsum(sg$n.event); cum_ce <- cumsum(sg$n.censor)
    stopifnot(all(sg$n.risk == sapply(grid, function(t) sum(dg$time >= t))))
    stopifnot(all(cum_ev == sapply(grid, function(t) sum(dg$time <= t & dg$status == 1))))
    stopifnot(all(cum_ce == sapply(grid, function(t) sum(dg$time <= t & dg$status == 0))))
    risk_table <- lapply(seq_along(grid), function(k) list(
      time = grid[k], n_risk = num(sg$n.risk[k]), cum_events = num(cum_ev[k]), cum_censored = num(cum_ce[k])))
    groups[[g]] <- list(
      n = nrow(dg), events = sum(dg$status == 1), censored = sum(dg$status == 0),
      median = qq("50"), q25 = qq("25"), q75 = qq("75"),
      rates = rates,
      risk_table = risk_table,
      followup_reverse_km = list(est = num(rev_q$quantile[i]), lower = num(rev_q$lower[i]), upper = num(rev_q$upper[i]))
    )
  }
  rev_all <- survfit(Surv(time, 1 - status) ~ 1, data = d, conf.type = "log-log")
  rq <- quantile(rev_all, probs = .5, conf.int = TRUE)
  list(
    groups = groups,
    followup_reverse_km_overall = list(est = num(rq$quantile), lower = num(rq$lower), upper = num(rq$upper)),
    rate_times = rate_times,
    grid = grid
  )
}

lung <- read_ref("lung"); lung$group <- as.character(lung$sex)
leuk <- read_ref("leukemia"); leuk$time <- leuk$t; leuk$group <- as.character(leuk$Rx)
ne <- read_ref("edge_noevents")
nr <- read_ref("edge_notreached")

out <- list(
  `_meta` = meta("km.R", c(
    'survfit(Surv(time, status) ~ group, conf.type = "log-log")',
    'quantile(fit, probs = c(.25,.5,.75), conf.int = TRUE)',
    'summary(fit[i], times = rate_times, extend = TRUE)',
    'summary(fit[i], times = grid, extend = TRUE); cumsum(n.event), cumsum(n.censor)',
    'survfit(Surv(time, 1 - status) ~ 1, conf.type = "log-log") and ~ group; quantile(., .5, conf.int=TRUE)')),
  lung_sex = km_block(lung, c(180, 365, 730), seq(0, 1000, by = 100)),
  leukemia_rx = km_block(leuk, c(10, 20), seq(0, 35, by = 5)),
  edge_noevents = km_block(ne, c(3, 5, 10), seq(0, 16, by = 2)),
  edge_notreached = km_block(nr, c(2, 2.5, 5), 0:10)
)
write_ref(out, "km")

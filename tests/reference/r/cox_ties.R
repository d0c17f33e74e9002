# Cox reference values on data with heavy ties and many duplicated rows (trialpress collapses identical
# rows into weighted cells and does Efron's tie correction per distinct event time; these values come
# from R's ordinary row-by-row fit, so they check that the collapsed fit is the same fit).
# R 4.2.2 Patched (2022-11-10 r83330), survival 3.5-3, jsonlite 1.8.4 (versions also in JSON _meta)
#
# Data, written here and read back before fitting (so R and Python fit the very same numbers):
#   tests/reference/data/cox_ties.csv       1500 subjects (set.seed(20240611)), times in days 1..40 (heavy ties),
#                                           trt 0/1, sub 0/1, trt_sub = trt * sub, age (1 decimal, ~300 values),
#                                           site A/B/C, region N/S; plus 700 exact copies of sampled rows and
#                                           site D: 25 subjects, all censored (a stratum without events);
#                                           time_wk = round(time / 7, 3) (ties on non-integer times)
#   tests/reference/data/cox_replicated.csv 24 distinct rows (trt x sub x 6 (time, status)) each repeated 1..120
#                                           times (as rows, no weights=): 1 distinct row : up to 120 subjects
# Calls (ties in "efron", "breslow"; default coxph.control()):
#   strata_age:   coxph(Surv(time, status) ~ trt + sub + age + strata(site), cox_ties)
#   two_strata:   coxph(Surv(time, status) ~ trt + age + strata(site, region), cox_ties)
#   interaction:  coxph(Surv(time_wk, status) ~ trt + sub + trt_sub, cox_ties)
#   replicated:   coxph(Surv(time, status) ~ trt + sub + trt_sub, cox_replicated)
#   replicated_strata: coxph(Surv(time, status) ~ trt + sub + strata(stratum), cox_replicated)
#   -> coef(fit), sqrt(diag(vcov(fit))), vcov(fit) (rows), fit$loglik (null, fitted), fit$n, fit$nevent,
#      summary(fit)$logtest["test"], fit$iter
# Run: Rscript tests/reference/r/cox_ties.R   (from repo root)
source(file.path("tests", "reference", "r", "_common.R"))

set.seed(20240611)
n0 <- 1500
base <- data.frame(
  site = sample(c("A", "B", "C"), n0, replace = TRUE, prob = c(0.5, 0.3, 0.2)),
  region = sample(c("N", "S"), n0, replace = TRUE),
  trt = rbinom(n0, 1, 0.5),
  sub = rbinom(n0, 1, 0.4),
  age = round(rnorm(n0, 60, 8), 1)
)
lin <- -0.5 * base$trt + 0.3 * base$sub + 0.4 * base$trt * base$sub + 0.03 * (base$age - 60)
event_day <- ceiling(rexp(n0, 0.03 * exp(lin)))
censor_day <- sample(10:40, n0, replace = TRUE)
base$time <- pmin(event_day, censor_day)
base$status <- as.integer(event_day <= censor_day)
copies <- base[sample(n0, 700, replace = TRUE), ]
no_events <- data.frame(site = "D", region = rep(c("N", "S"), length.out = 25), trt = rep(0:1, length.out = 25),
                        sub = 0, age = 55, time = rep(c(5, 12, 30), length.out = 25), status = 0L)
ties <- rbind(base, copies, no_events)
ties$trt_sub <- ties$trt * ties$sub
ties$time_wk <- round(ties$time / 7, 3)
ties <- ties[sample(nrow(ties)), c("time", "time_wk", "status", "trt", "sub", "trt_sub", "age", "site", "region")]

cells <- expand.grid(k = 1:6, sub = 0:1, trt = 0:1)
cells$time <- c(3, 3, 7, 7, 10, 14)[cells$k]
cells$status <- c(1, 0, 1, 1, 0, 1)[cells$k]
cells$count <- ((seq_len(nrow(cells)) * 37) %% 120) + 1
cells$stratum <- ifelse(seq_len(nrow(cells)) %% 3 == 0, "y", "x")
rep_rows <- cells[rep(seq_len(nrow(cells)), cells$count), c("time", "status", "trt", "sub", "stratum")]
rep_rows$trt_sub <- rep_rows$trt * rep_rows$sub
rep_rows <- rep_rows[sample(nrow(rep_rows)), ]

write_data <- function(df, name) {
  path <- file.path(DATA_DIR, paste0(name, ".csv"))
  write.csv(df, path, row.names = FALSE, quote = FALSE)
  cat("wrote", path, "\n")
  read_ref(name)
}
ties <- write_data(ties, "cox_ties")
rep_rows <- write_data(rep_rows, "cox_replicated")
stopifnot(sum(ties$status[ties$site == "D"]) == 0, any(duplicated(ties)), nrow(unique(rep_rows)) == 24)

model <- function(formula, data, ties_method) {
  fit <- coxph(formula, data = data, ties = ties_method)
  stopifnot(fit$iter < 20)
  v <- vcov(fit)
  list(coef = as.list(num(coef(fit))) |> setNames(names(coef(fit))),
       se = as.list(num(sqrt(diag(v)))) |> setNames(names(coef(fit))),
       vcov = lapply(seq_len(nrow(v)), function(i) num(v[i, ])),
       loglik = num(fit$loglik), lr = num(summary(fit)$logtest["test"]),
       n = fit$n, nevent = fit$nevent, iter = fit$iter)
}

out <- list(`_meta` = meta("cox_ties.R", c(
  "coxph(Surv(time, status) ~ trt + sub + age + strata(site), cox_ties, ties = ties)",
  "coxph(Surv(time, status) ~ trt + age + strata(site, region), cox_ties, ties = ties)",
  "coxph(Surv(time_wk, status) ~ trt + sub + trt_sub, cox_ties, ties = ties)",
  "coxph(Surv(time, status) ~ trt + sub + trt_sub, cox_replicated, ties = ties)",
  "coxph(Surv(time, status) ~ trt + sub + strata(stratum), cox_replicated, ties = ties)")))
for (ties_method in c("efron", "breslow")) {
  out[[ties_method]] <- list(
    strata_age = model(Surv(time, status) ~ trt + sub + age + strata(site), ties, ties_method),
    two_strata = model(Surv(time, status) ~ trt + age + strata(site, region), ties, ties_method),
    interaction = model(Surv(time_wk, status) ~ trt + sub + trt_sub, ties, ties_method),
    replicated = model(Surv(time, status) ~ trt + sub + trt_sub, rep_rows, ties_method),
    replicated_strata = model(Surv(time, status) ~ trt + sub + strata(stratum), rep_rows, ties_method)
  )
}
write_ref(out, "cox_ties")

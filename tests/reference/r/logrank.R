# Log-rank test reference values.
# R 4.2.2 Patched (2022-11-10 r83330), survival 3.5-3, jsonlite 1.8.4 (versions also in JSON _meta)
#
# Exact calls (rho = 0, i.e. the ordinary log-rank test):
#   survdiff(Surv(time, status) ~ sex, data = lung)
#   survdiff(Surv(t, status) ~ Rx, data = leukemia)
#   survdiff(Surv(week, arrest) ~ fin, data = rossi)
#   survdiff(Surv(time, status) ~ sex + strata(ph.ecog), data = lung[!is.na(lung$ph.ecog), ])   (1 row removed)
#   survdiff(Surv(week, arrest) ~ fin + strata(wexp), data = rossi)
#   survdiff(Surv(time, status) ~ group, data = edge_noevents)
#   p = pchisq(chisq, df, lower.tail = FALSE)   (same as print.survdiff / sd$pvalue)
# Observed/expected: sd$obs, sd$exp (for stratified fits these are summed over strata: rowSums),
#                    variance matrix sd$var.
# Run: Rscript tests/reference/r/logrank.R   (from repo root)
source(file.path("tests", "reference", "r", "_common.R"))

lr_block <- function(sd, note = NULL) {
  if (is.matrix(sd$obs)) { obs <- rowSums(sd$obs); ex <- rowSums(sd$exp) } else { obs <- sd$obs; ex <- sd$exp }
  n <- if (is.matrix(sd$n)) rowSums(sd$n) else sd$n
  lev <- sub("^[^=]*=", "", names(sd$n))
  groups <- list()
  for (i in seq_along(obs)) {
    groups[[lev[i]]] <- list(n = num(n[i]), observed = num(obs[i]), expected = num(ex[i]))
  }
  df <- length(obs) - 1
  out <- list(chisq = num(sd$chisq), df = df, p = num(pchisq(sd$chisq, df, lower.tail = FALSE)),
              groups = groups, var = num(sd$var[1, 1]))
  if (!is.null(note)) out <- c(list(note = note), out)
  out
}

lung <- read_ref("lung")
rossi <- read_ref("rossi")
leuk <- read_ref("leukemia")
ne <- read_ref("edge_noevents")
lung2 <- lung[!is.na(lung$ph.ecog), ]

s_lung <- survdiff(Surv(time, status) ~ sex, data = lung)
s_leuk <- survdiff(Surv(t, status) ~ Rx, data = leuk)
s_rossi <- survdiff(Surv(week, arrest) ~ fin, data = rossi)
s_lung_str <- survdiff(Surv(time, status) ~ sex + strata(ph.ecog), data = lung2)
s_rossi_str <- survdiff(Surv(week, arrest) ~ fin + strata(wexp), data = rossi)
s_edge <- survdiff(Surv(time, status) ~ group, data = ne)

# sanity: our p equals survival's own pvalue
for (s in list(s_lung, s_leuk, s_rossi, s_lung_str, s_rossi_str, s_edge))
  stopifnot(isTRUE(all.equal(pchisq(s$chisq, 1, lower.tail = FALSE), s$pvalue)))

out <- list(
  `_meta` = meta("logrank.R", c(
    'survdiff(Surv(time, status) ~ sex, lung)',
    'survdiff(Surv(t, status) ~ Rx, leukemia)',
    'survdiff(Surv(week, arrest) ~ fin, rossi)',
    'survdiff(Surv(time, status) ~ sex + strata(ph.ecog), lung[!is.na(ph.ecog), ])',
    'survdiff(Surv(week, arrest) ~ fin + strata(wexp), rossi)',
    'survdiff(Surv(time, status) ~ group, edge_noevents)')),
  lung_sex = lr_block(s_lung),
  leukemia_rx = lr_block(s_leuk),
  rossi_fin = lr_block(s_rossi),
  lung_sex_strata_ecog = lr_block(s_lung_str, "rows with NA ph.ecog removed (n = 227); observed/expected summed over strata"),
  rossi_fin_strata_wexp = lr_block(s_rossi_str, "observed/expected summed over strata"),
  edge_noevents = lr_block(s_edge, "group B has no events")
)
write_ref(out, "logrank")

# Binary-endpoint reference values.
# R 4.2.2 Patched (2022-11-10 r83330), survival 3.5-3 (not used here), jsonlite 1.8.4 (versions also in JSON _meta)
#
# Exact calls:
#  (a) Clopper-Pearson:   binom.test(x, n)$conf.int                         (conf.level = 0.95, two-sided)
#  (b) Logistic, 2 groups: d <- data.frame(y = c(rep(1,89), rep(0,76), rep(1,150), rep(0,217)),
#                                          group = factor(c(rep("first",165), rep("later",367)), levels = c("first","later")))
#                          fit <- glm(y ~ group, family = binomial, data = d)
#                          Wald CI:    exp(confint.default(fit))        (estimate +/- qnorm(.975) * se)
#                          Profile CI: exp(confint(fit))                (profile likelihood; MASS method in R 4.2)
#                          Wald P:     summary(fit)$coefficients[, "Pr(>|z|)"]
#  (c) glm(arrest ~ fin + age + race + wexp + mar + paro + prio, family = binomial, data = rossi)
#                          Wald CIs exp(confint.default(fit))
#  (d) Difference in proportions p1 - p2, by formula (no R function):
#        Wald:     d +/- qnorm(.975) * sqrt(p1(1-p1)/n1 + p2(1-p2)/n2)    (unpooled, no continuity correction)
#        Newcombe hybrid score (Newcombe 1998, method 10, no CC), from Wilson intervals [l_i, u_i]:
#                  lower = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)
#                  upper = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)
#        Wilson interval by closed formula, checked against prop.test(x, n, correct = FALSE)$conf.int.
#        NB: prop.test(c(x1,x2), c(n1,n2)) is NOT Newcombe (it is a Wald interval, with CC by default);
#            it is recorded too, for reference only.
#  (e) Exact Poisson CI for a rate: poisson.test(x, T)$conf.int   (rate per unit of T)
# Run: Rscript tests/reference/r/binary.R   (from repo root)
source(file.path("tests", "reference", "r", "_common.R"))

z975 <- qnorm(0.975)

# (a)
pairs <- list(c(0,10), c(1,10), c(5,10), c(10,10), c(89,165), c(150,367), c(68,165), c(118,367),
              c(60,165), c(88,367), c(33,165), c(52,367))
cp <- lapply(pairs, function(p) {
  ci <- binom.test(p[1], p[2])$conf.int
  list(x = p[1], n = p[2], est = p[1] / p[2], lower = num(ci[1]), upper = num(ci[2]))
})

# (b)
glm_table <- function(fit) {
  sm <- summary(fit)$coefficients
  w <- exp(confint.default(fit))
  rows <- list()
  for (nm in rownames(sm)) rows[[nm]] <- list(
    coef = num(sm[nm, "Estimate"]), se = num(sm[nm, "Std. Error"]), or = num(exp(sm[nm, "Estimate"])),
    lower = num(w[nm, 1]), upper = num(w[nm, 2]), z = num(sm[nm, "z value"]), p = num(sm[nm, "Pr(>|z|)"]))
  rows
}
d2 <- data.frame(y = c(rep(1, 89), rep(0, 165 - 89), rep(1, 150), rep(0, 367 - 150)),
                 group = factor(c(rep("first", 165), rep("later", 367)), levels = c("first", "later")))
fit2 <- glm(y ~ group, family = binomial, data = d2)
prof <- suppressMessages(exp(confint(fit2)))
tab2 <- glm_table(fit2)
logit2 <- list(
  note = "y ~ group; reference = first (89/165); coefficient grouplater = log-OR later vs first",
  coefficients = tab2,
  log_or = tab2$grouplater$coef, se = tab2$grouplater$se, or = tab2$grouplater$or,
  wald_lower = tab2$grouplater$lower, wald_upper = tab2$grouplater$upper, wald_p = tab2$grouplater$p,
  profile_lower = num(prof["grouplater", 1]), profile_upper = num(prof["grouplater", 2]),
  deviance = num(fit2$deviance), null_deviance = num(fit2$null.deviance),
  lr_chisq = num(fit2$null.deviance - fit2$deviance),
  lr_p = num(pchisq(fit2$null.deviance - fit2$deviance, 1, lower.tail = FALSE))
)

# (c)
rossi <- read_ref("rossi")
fit3 <- glm(arrest ~ fin + age + race + wexp + mar + paro + prio, family = binomial, data = rossi)
logit_adj <- list(note = "Wald CIs exp(confint.default(fit)); OR = exp(coef)",
                  coefficients = glm_table(fit3), n = nrow(rossi),
                  deviance = num(fit3$deviance), null_deviance = num(fit3$null.deviance), aic = num(fit3$aic))

# (d)
wilson <- function(x, n) {
  p <- x / n
  centre <- (p + z975^2 / (2 * n)) / (1 + z975^2 / n)
  half <- z975 / (1 + z975^2 / n) * sqrt(p * (1 - p) / n + z975^2 / (4 * n^2))
  ci <- c(centre - half, centre + half)
  chk <- prop.test(x, n, correct = FALSE)$conf.int
  stopifnot(isTRUE(all.equal(ci, as.numeric(chk), tolerance = 1e-10)))
  ci
}
diff_block <- function(x1, n1, x2, n2) {
  p1 <- x1 / n1; p2 <- x2 / n2; d <- p1 - p2
  se <- sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
  w1 <- wilson(x1, n1); w2 <- wilson(x2, n2)
  pt <- suppressWarnings(prop.test(c(x1, x2), c(n1, n2)))
  pt0 <- suppressWarnings(prop.test(c(x1, x2), c(n1, n2), correct = FALSE))
  list(x1 = x1, n1 = n1, x2 = x2, n2 = n2, p1 = p1, p2 = p2, diff = d, se_unpooled = se,
       wald = list(lower = d - z975 * se, upper = d + z975 * se),
       newcombe = list(lower = d - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2),
                       upper = d + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2)),
       wilson1 = list(lower = w1[1], upper = w1[2]), wilson2 = list(lower = w2[1], upper = w2[2]),
       prop_test_cc = list(lower = num(pt$conf.int[1]), upper = num(pt$conf.int[2]),
                           chisq = num(pt$statistic), p = num(pt$p.value)),
       prop_test_nocc = list(lower = num(pt0$conf.int[1]), upper = num(pt0$conf.int[2]),
                             chisq = num(pt0$statistic), p = num(pt0$p.value)))
}
diffs <- list(`89/165_vs_150/367` = diff_block(89, 165, 150, 367),
              `60/165_vs_88/367` = diff_block(60, 165, 88, 367))

# (e)
pois <- lapply(list(c(12, 34.5), c(0, 10), c(250, 180.2)), function(p) {
  ci <- poisson.test(p[1], p[2])$conf.int
  list(x = p[1], T = p[2], rate = p[1] / p[2], lower = num(ci[1]), upper = num(ci[2]))
})

out <- list(
  `_meta` = meta("binary.R", c(
    'binom.test(x, n)$conf.int',
    'glm(y ~ group, family = binomial); exp(confint.default(fit)); exp(confint(fit))',
    'glm(arrest ~ fin + age + race + wexp + mar + paro + prio, family = binomial, rossi)',
    'Wald / Newcombe(method 10, Wilson) difference in proportions by formula; prop.test for reference',
    'poisson.test(x, T)$conf.int')),
  clopper_pearson = cp,
  logistic_two_group = logit2,
  logistic_rossi_adjusted = logit_adj,
  prop_diff = diffs,
  poisson_rate = pois
)
write_ref(out, "binary")

# Cox proportional-hazards reference values.
# R 4.2.2 Patched (2022-11-10 r83330), survival 3.5-3, jsonlite 1.8.4 (versions also in JSON _meta)
#
# Exact calls:
#   Two-group models, for ties in c("efron", "breslow"):
#     lung:     coxph(Surv(time, status) ~ factor(sex), data = lung, ties = ties)      # reference sex = 1, coef = sex 2 vs 1
#     rossi:    coxph(Surv(week, arrest) ~ fin,         data = rossi, ties = ties)     # fin 1 vs 0
#     leukemia: coxph(Surv(t, status) ~ Rx,             data = leukemia, ties = ties)  # Rx 1 vs 0
#     -> coef(fit), sqrt(diag(vcov(fit))), exp(coef), exp(confint(fit)) (Wald 95%),
#        summary(fit)$coefficients[, "z"/"Pr(>|z|)"], summary(fit)$logtest, $sctest, fit$n, fit$nevent,
#        fit$wald.test (unrounded; summary(fit)$waldtest is rounded to 2 dp)
#   Adjusted:   coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, data = rossi, ties = "efron")
#   Stratified: coxph(Surv(time, status) ~ sex + strata(ph.ecog), data = lung[!is.na(lung$ph.ecog), ])  (1 row with NA ph.ecog removed)
#               coxph(Surv(week, arrest) ~ fin + strata(wexp), data = rossi)   (efron; breslow also recorded)
#   Interaction (lung, efron, rows with NA ph.ecog removed so both models use the same 227 rows):
#               m1 <- coxph(Surv(time, status) ~ factor(sex) * factor(ph.ecog >= 1), data = lung2)
#               m0 <- coxph(Surv(time, status) ~ factor(sex) + factor(ph.ecog >= 1), data = lung2)
#               anova(m0, m1)   # LR test for the interaction
#   Edge:       coxph(Surv(time, status) ~ group, data = edge_noevents)  (group B has no events; warnings captured)
# Run: Rscript tests/reference/r/cox.R   (from repo root)
source(file.path("tests", "reference", "r", "_common.R"))

coef_table <- function(fit) {
  sm <- summary(fit)$coefficients
  ci <- exp(confint(fit))
  rows <- list()
  for (nm in rownames(sm)) {
    rows[[nm]] <- list(coef = num(sm[nm, "coef"]), se = num(sm[nm, "se(coef)"]),
                       hr = num(sm[nm, "exp(coef)"]), lower = num(ci[nm, 1]), upper = num(ci[nm, 2]),
                       z = num(sm[nm, "z"]), p = num(sm[nm, "Pr(>|z|)"]))
  }
  rows
}

global_tests <- function(fit) {
  s <- summary(fit)
  list(
    lr = list(stat = num(s$logtest["test"]), df = num(s$logtest["df"]), p = num(s$logtest["pvalue"])),
    # NB: summary(fit)$waldtest rounds the statistic to 2 decimals -> use fit$wald.test (unrounded)
    wald = list(stat = num(fit$wald.test), df = num(s$waldtest["df"]),
                p = num(pchisq(fit$wald.test, s$waldtest["df"], lower.tail = FALSE))),
    score = list(stat = num(s$sctest["test"]), df = num(s$sctest["df"]), p = num(s$sctest["pvalue"])),
    loglik = num(fit$loglik),   # c(null, fitted)
    n = fit$n, nevent = fit$nevent
  )
}

one_coef_model <- function(formula, data, ties, label) {
  fit <- coxph(formula, data = data, ties = ties)
  ct <- coef_table(fit)
  stopifnot(length(ct) == 1)
  c(list(term = names(ct)[1], comparison = label), ct[[1]], global_tests(fit))
}

lung <- read_ref("lung")
rossi <- read_ref("rossi")
leuk <- read_ref("leukemia")
ne <- read_ref("edge_noevents")

two_group <- list()
for (ties in c("efron", "breslow")) {
  two_group[[ties]] <- list(
    lung_sex = one_coef_model(Surv(time, status) ~ factor(sex), lung, ties, "sex 2 vs 1 (ref 1)"),
    rossi_fin = one_coef_model(Surv(week, arrest) ~ fin, rossi, ties, "fin 1 vs 0 (ref 0)"),
    leukemia_rx = one_coef_model(Surv(t, status) ~ Rx, leuk, ties, "Rx 1 vs 0 (ref 0)")
  )
}

adj <- coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, data = rossi, ties = "efron")

lung2 <- lung[!is.na(lung$ph.ecog), ]
strat <- list(
  lung_sex_strata_ecog = c(list(
    note = "rows with NA ph.ecog removed (1 row; n = 227); sex numeric 1/2 so coef = sex 2 vs 1; ties = efron",
    coefficients = coef_table(coxph(Surv(time, status) ~ sex + strata(ph.ecog), data = lung2, ties = "efron"))),
    global_tests(coxph(Surv(time, status) ~ sex + strata(ph.ecog), data = lung2, ties = "efron"))),
  lung_sex_strata_ecog_breslow = c(list(
    note = "as above, ties = breslow",
    coefficients = coef_table(coxph(Surv(time, status) ~ sex + strata(ph.ecog), data = lung2, ties = "breslow"))),
    global_tests(coxph(Surv(time, status) ~ sex + strata(ph.ecog), data = lung2, ties = "breslow"))),
  rossi_fin_strata_wexp = c(list(
    note = "ties = efron",
    coefficients = coef_table(coxph(Surv(week, arrest) ~ fin + strata(wexp), data = rossi, ties = "efron"))),
    global_tests(coxph(Surv(week, arrest) ~ fin + strata(wexp), data = rossi, ties = "efron"))),
  rossi_fin_strata_wexp_breslow = c(list(
    note = "ties = breslow",
    coefficients = coef_table(coxph(Surv(week, arrest) ~ fin + strata(wexp), data = rossi, ties = "breslow"))),
    global_tests(coxph(Surv(week, arrest) ~ fin + strata(wexp), data = rossi, ties = "breslow")))
)

m1 <- coxph(Surv(time, status) ~ factor(sex) * factor(ph.ecog >= 1), data = lung2, ties = "efron")
m0 <- coxph(Surv(time, status) ~ factor(sex) + factor(ph.ecog >= 1), data = lung2, ties = "efron")
av <- anova(m0, m1)
ct1 <- coef_table(m1)
int_name <- grep(":", names(ct1), value = TRUE)
interaction <- list(
  note = "lung with NA ph.ecog removed (n = 227); ties = efron; interaction term = factor(sex)2:factor(ph.ecog >= 1)TRUE",
  interaction_term = int_name,
  wald_p_interaction = ct1[[int_name]]$p,
  coefficients = ct1,
  lr_test = list(chisq = num(av$Chisq[2]), df = num(av$Df[2]), p = num(av[["Pr(>|Chi|)"]][2]),
                 loglik_without = num(av$loglik[1]), loglik_with = num(av$loglik[2]))
)

# Edge: a group with no events
warns <- character(0)
efit <- withCallingHandlers(
  coxph(Surv(time, status) ~ group, data = ne, ties = "efron"),
  warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })
es <- summary(efit)
eci <- exp(confint(efit))
edge <- list(
  note = paste("edge_noevents: group A (ref) has 5 events, group B has 0 events.",
               "Values recorded as strings to keep Inf/NA visible."),
  warnings = I(warns),
  term = rownames(es$coefficients),
  coef = inf_str(es$coefficients[, "coef"]),
  se = inf_str(es$coefficients[, "se(coef)"]),
  hr = inf_str(es$coefficients[, "exp(coef)"]),
  lower = inf_str(eci[, 1]), upper = inf_str(eci[, 2]),
  z = inf_str(es$coefficients[, "z"]), p = inf_str(es$coefficients[, "Pr(>|z|)"]),
  lr = list(stat = inf_str(es$logtest["test"]), p = inf_str(es$logtest["pvalue"])),
  wald = list(stat = inf_str(efit$wald.test), p = inf_str(pchisq(efit$wald.test, 1, lower.tail = FALSE))),
  score = list(stat = inf_str(es$sctest["test"]), p = inf_str(es$sctest["pvalue"])),
  iter = efit$iter,
  printed = capture.output(print(efit))
)

out <- list(
  `_meta` = meta("cox.R", c(
    'coxph(Surv(time, status) ~ factor(sex), lung, ties = "efron"|"breslow")',
    'coxph(Surv(week, arrest) ~ fin, rossi, ties = "efron"|"breslow")',
    'coxph(Surv(t, status) ~ Rx, leukemia, ties = "efron"|"breslow")',
    'coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, rossi, ties = "efron")',
    'coxph(Surv(time, status) ~ sex + strata(ph.ecog), lung[!is.na(ph.ecog), ])',
    'coxph(Surv(week, arrest) ~ fin + strata(wexp), rossi)',
    'anova(coxph(~ factor(sex) + factor(ph.ecog >= 1)), coxph(~ factor(sex) * factor(ph.ecog >= 1)))',
    'coxph(Surv(time, status) ~ group, edge_noevents)',
    'CI = exp(confint(fit)) (Wald, 95%)')),
  two_group = two_group,
  rossi_adjusted = c(list(note = "ties = efron; all covariates numeric 0/1 or continuous as in lifelines' rossi",
                          coefficients = coef_table(adj)), global_tests(adj)),
  stratified = strat,
  lung_interaction = interaction,
  edge_noevents = edge
)
write_ref(out, "cox")

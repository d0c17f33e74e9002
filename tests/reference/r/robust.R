# Robustness references: covariate scale, constant / collinear covariates, infinite Cox coefficients,
# missing covariates and strata, and Firth logistic regression with profile penalised-likelihood CIs and
# penalised likelihood-ratio P.
# R 4.2.2 Patched (2022-11-10 r83330); survival 3.5-3; brglm2 0.9 (Debian r-cran-brglm2).
#
# Data written here (hand-made with set.seed, so the script is deterministic):
#   data/robust_cox.csv  n = 240: time (days, integer, ties), status, trt, age (years), age_days = round(365.25 age),
#                        lab (integers ~ 15000 +/- 2500: a lab value in thousands), labk = 10000 + lab / 1000 (about
#                        10^4 with a spread of a few units: exp(b x) overflows unless x is centred), vdate (a date as days since
#                        1960, 22000 + 0..90: huge offset, small spread), site (= 3 for everyone: constant),
#                        age_lin = 2 age + 10 (collinear with age), mut (0/1; every mut = 1 subject censored, so
#                        its Cox coefficient is -Inf), early (0/1: the 20 first events, all before any other
#                        event, so its coefficient is +Inf and coxph warns), early8 (the same with the 8 first
#                        events: coxph's first Newton step takes it so far that its information is singular at
#                        the next iterate (cholesky2), so coxph reports NA without a warning),
#                        ecog (0/1/2, 12 NA), region (A/B/C, 7 NA), resp (0/1 outcome for glm).
#   data/robust_firth.csv n = 40: y, trt, lab: no responder among trt = 1 (zero cell) and lab ~ 15000.
#   data/robust_endometrial.csv: brglm2::endometrial (Heinze & Schemper 2002): HG ~ NV + PI + EH, NV quasi-
#                        separates HG (all NV = 1 have HG = 1).
# Firth fits also use data/separation.csv (sets zero_cell, quasi_adjusted, complete, quasi_continuous).
#
# Cox: coxph(..., ties = "efron" | "breslow") with the default coxph.control (eps 1e-9, iter.max 20,
#   toler.inf = sqrt(eps)); NA coefficients (constant / collinear columns) are written as null; the
#   "Loglik converged before variable k; coefficient may be infinite" warnings are kept, with the variables
#   they name.
# glm: glm(..., binomial, control = glm.control(epsilon = 1e-12, maxit = 100)) (the MLE to full precision; with
#   epsilon = 1e-14 glm does NOT alias the constant site = 3 column: its QR tolerance is passed after a few
#   iterations and it returns intercept 3.5e14, site -1.2e14 with "algorithm did not converge").
# Firth: logistf is not packaged for Debian bookworm and CRAN is not reachable, so the profile penalised-
#   likelihood CIs and the penalised likelihood-ratio P are computed here by an independent implementation of
#   logistf's definitions (Heinze & Schemper 2002; logistf's defaults pl = TRUE):
#     l*(b) = l(b) + 1/2 log|X'W(b)X|, with the FULL model's penalty also in the constrained fits;
#     CI for b_j = {c : 2 [l*(b_hat) - max_{b_-j} l*(b_j = c, b_-j)] <= qchisq(0.95, 1)};
#     P for b_j  = pchisq(2 [l*(b_hat) - max_{b_-j} l*(b_j = 0, b_-j)], 1, lower.tail = FALSE).
#   The constrained maxima use optim(BFGS) with the analytic gradient (the modified score) on the original
#   scale of the covariates (parscale = 1 / sd), twice, then Newton steps with the Fisher information of the
#   free coefficients until the largest modified-score component is < 1e-10 (BFGS alone stalls at a gradient
#   of ~3 for lab ~ 15000 beside the intercept); the limits use uniroot (tol 1e-11). The largest remaining
#   score component over all constrained fits is written as max_abs_constrained_gradient and checked.
#   The Firth estimates come from brglm2 (type = "AS_mean", which for the logit link maximises l*) and are
#   checked against direct optim maximisation (stopifnot, 1e-7).
# Run from the repo root: Rscript tests/reference/r/robust.R  -> data/robust_*.csv, expected/robust.json
source(file.path("tests", "reference", "r", "_common.R"))
suppressPackageStartupMessages(library(brglm2))

z975 <- qnorm(0.975)

# ------------------------------------------------------------------------------------------ data
set.seed(20240611)
n <- 240
trt <- rbinom(n, 1, 0.5)
age <- round(rnorm(n, 60, 10), 1)
age_days <- round(365.25 * age)
lab <- round(rnorm(n, 15000, 2500))
vdate <- 22000 + sample(0:90, n, replace = TRUE)
haz <- 0.004 * exp(0.5 * trt + 0.03 * (age - 60) + 1.2e-4 * (lab - 15000) + 0.01 * (vdate - 22045))
tt <- ceiling(rexp(n) / haz)
cens <- ceiling(runif(n, 30, 500))
time <- pmin(tt, cens)
status <- as.integer(tt <= cens)
mut <- integer(n)
mut[sample(which(status == 0), 25)] <- 1L          # every mut = 1 subject is censored
ev_order <- order(ifelse(status == 1, time, Inf))
first_events <- function(k) {     # 0/1: the k first events, all strictly before any other event
  first <- ev_order[1:k]
  stopifnot(all(status[first] == 1), max(time[first]) < min(time[status == 1 & !(seq_len(n) %in% first)]))
  as.integer(seq_len(n) %in% first)
}
early <- first_events(20)
early8 <- first_events(8)
ecog <- sample(0:2, n, replace = TRUE, prob = c(0.4, 0.4, 0.2))
ecog[sample(n, 12)] <- NA
region <- sample(c("A", "B", "C"), n, replace = TRUE)
region[sample(n, 7)] <- NA
eta <- -0.5 + 0.8 * trt + 0.04 * (age - 60) + 2e-4 * (lab - 15000) + 0.02 * (vdate - 22045)
resp <- rbinom(n, 1, plogis(eta))
labk <- 10000 + lab / 1000
cx <- data.frame(time, status, trt, age, age_days, lab, labk, vdate, site = 3L, age_lin = 2 * age + 10, mut, early, early8,
                 ecog, region, resp)
write.csv(cx, file.path(DATA_DIR, "robust_cox.csv"), row.names = FALSE, na = "NA")
cx <- read_ref("robust_cox")   # fit what the CSV holds (15 significant digits), as the Python tests read it

set.seed(7)
nf <- 40
ftrt <- rep(0:1, each = nf / 2)
flab <- round(rnorm(nf, 15000, 2000))
fy <- rbinom(nf, 1, plogis(-0.3 + 4e-4 * (flab - 15000)))
fy[ftrt == 1] <- 0L                                 # zero cell: no responder on trt = 1
stopifnot(any(fy[ftrt == 0] == 1), any(fy[ftrt == 0] == 0))
fd <- data.frame(y = fy, trt = ftrt, lab = flab)
write.csv(fd, file.path(DATA_DIR, "robust_firth.csv"), row.names = FALSE)
fd <- read_ref("robust_firth")

data("endometrial", package = "brglm2")
write.csv(endometrial, file.path(DATA_DIR, "robust_endometrial.csv"), row.names = FALSE)
endometrial <- read_ref("robust_endometrial")

# ------------------------------------------------------------------------------------------ Cox
cox_block <- function(formula, data, ties) {
  warns <- character()
  fit <- withCallingHandlers(coxph(formula, data = data, ties = ties),
                             warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })
  b <- coef(fit)
  se <- rep(NA_real_, length(b)); names(se) <- names(b)
  se[!is.na(b)] <- sqrt(diag(fit$var))[!is.na(b)]
  flagged <- character()
  for (w in warns) {
    m <- regmatches(w, regexec("variable +([0-9, ]+);", w))[[1]]
    if (length(m) == 2) flagged <- c(flagged, names(b)[as.integer(strsplit(gsub(" ", "", m[2]), ",")[[1]])])
  }
  coefs <- list()
  for (nm in names(b)) {
    coefs[[nm]] <- list(coef = num(b[nm]), se = num(se[nm]), hr = num(exp(b[nm])),
                        lower = num(exp(b[nm] - z975 * se[nm])), upper = num(exp(b[nm] + z975 * se[nm])),
                        p = num(2 * pnorm(-abs(b[nm] / se[nm]))))
  }
  df <- sum(!is.na(b))
  lr <- 2 * diff(fit$loglik)
  list(formula = paste(deparse(formula), collapse = ""), ties = ties, n = fit$n, nevent = fit$nevent,
       n_excluded = nrow(data) - fit$n, coefficients = coefs, loglik = num(fit$loglik),
       lr = list(stat = num(lr), df = df, p = num(pchisq(lr, df, lower.tail = FALSE))),
       iter = fit$iter, warnings = I(warns), infinite = I(flagged))
}

cox_models <- list(
  scale = Surv(time, status) ~ trt + age_days + lab + vdate,
  scale_units = Surv(time, status) ~ trt + I(age_days / 365.25) + I(lab / 1000) + I(vdate - 22000),
  scale_offset = Surv(time, status) ~ trt + labk + age_days,
  constant = Surv(time, status) ~ trt + age + site,
  collinear = Surv(time, status) ~ trt + age + age_lin,
  infinite_neg = Surv(time, status) ~ trt + age + mut,
  infinite_pos = Surv(time, status) ~ trt + early,
  infinite_pos_singular = Surv(time, status) ~ trt + early8,
  missing = Surv(time, status) ~ trt + lab + ecog + strata(region)
)
cox_out <- list()
for (ties in c("efron", "breslow")) {
  cox_out[[ties]] <- lapply(cox_models, cox_block, data = cx, ties = ties)
}
for (ties in c("efron", "breslow")) {
  m <- cox_out[[ties]]
  stopifnot(identical(as.character(m$infinite_neg$infinite), "mut"), identical(as.character(m$infinite_pos$infinite), "early"),
            is.na(m$constant$coefficients$site$coef), is.na(m$collinear$coefficients$age_lin$coef),
            is.na(m$infinite_pos_singular$coefficients$early8$coef), !length(m$infinite_pos_singular$warnings))
}

# ------------------------------------------------------------------------------------------ glm
glm_block <- function(formula, data) {
  fit <- glm(formula, family = binomial, data = data, control = glm.control(epsilon = 1e-12, maxit = 100))
  stopifnot(fit$converged)
  b <- coef(fit)
  se <- rep(NA_real_, length(b)); names(se) <- names(b)
  se[!is.na(b)] <- sqrt(diag(vcov(fit)))[names(b)[!is.na(b)]]
  coefs <- list()
  for (nm in names(b)) {
    coefs[[nm]] <- list(coef = num(b[nm]), se = num(se[nm]), or = num(exp(b[nm])),
                        lower = num(exp(b[nm] - z975 * se[nm])), upper = num(exp(b[nm] + z975 * se[nm])),
                        p = num(2 * pnorm(-abs(b[nm] / se[nm]))))
  }
  list(formula = paste(deparse(formula), collapse = ""), n = nobs(fit), events = sum(fit$y),
       n_excluded = nrow(data) - nobs(fit), coefficients = coefs, loglik = num(logLik(fit)),
       lr_chisq = num(fit$null.deviance - fit$deviance))
}
glm_out <- list(
  scale = glm_block(resp ~ trt + age_days + lab + vdate, cx),
  scale_units = glm_block(resp ~ trt + I(age_days / 365.25) + I(lab / 1000) + I(vdate - 22000), cx),
  scale_offset = glm_block(resp ~ trt + labk + age_days, cx),
  constant = glm_block(resp ~ trt + age + site, cx),
  missing = glm_block(resp ~ trt + lab + ecog, cx)
)

# ------------------------------------------------------------------------------------------ Firth
log1pexp <- function(eta) ifelse(eta > 0, eta + log1p(exp(-eta)), log1p(exp(eta)))
# log|X'WX| and the hat values from the QR decomposition of W^(1/2) X (stable far out on the profile)
pll <- function(b, X, y) {
  eta <- drop(X %*% b)
  p <- plogis(eta)
  r <- abs(diag(qr.R(qr(X * sqrt(p * (1 - p))))))
  sum(y * eta - log1pexp(eta)) + sum(log(r))      # 1/2 log|X'WX| = sum log |R_ii|
}
mscore <- function(b, X, y) {   # gradient of pll: the modified score, sum (y - p + h (1/2 - p)) x
  p <- plogis(drop(X %*% b))
  h <- rowSums(qr.Q(qr(X * sqrt(p * (1 - p))))^2)
  drop(crossprod(X, y - p + h * (0.5 - p)))
}
# max over b[-j] of pll with b[j] fixed at c (the full model's penalty); optim BFGS twice
profile_max <- function(j, c, X, y, start) {
  free <- setdiff(seq_len(ncol(X)), j)
  full <- function(g) { b <- start; b[j] <- c; b[free] <- g; b }
  if (!length(free)) return(list(value = pll(full(numeric()), X, y), par = full(numeric()), grad = 0))
  ps <- 1 / pmax(apply(X[, free, drop = FALSE], 2, sd), 1e-8)
  ps[apply(X[, free, drop = FALSE], 2, sd) == 0] <- 1
  f <- function(g) -pll(full(g), X, y)
  gr <- function(g) -mscore(full(g), X, y)[free]
  g <- start[free]
  for (k in 1:2) {
    o <- optim(g, f, gr, method = "BFGS", control = list(reltol = 1e-16, maxit = 10000, parscale = ps))
    g <- o$par
  }
  # polish: Newton steps on the free coefficients with the Fisher information (BFGS stalls on an
  # ill-conditioned scale such as lab ~ 15000 next to the intercept), halving while l* falls
  b <- full(g)
  for (k in 1:100) {
    u <- mscore(b, X, y)[free]
    if (max(abs(u)) < 1e-10) break
    p <- plogis(drop(X %*% b))
    info <- crossprod(X[, free, drop = FALSE] * sqrt(p * (1 - p)))
    step <- solve(info, u)
    t <- 1
    repeat {
      nb <- b; nb[free] <- b[free] + t * step
      if (pll(nb, X, y) >= pll(b, X, y) - 1e-13 || t < 1e-10) break
      t <- t / 2
    }
    b <- nb
  }
  list(value = pll(b, X, y), par = b, grad = max(abs(mscore(b, X, y)[free])))
}

firth_block <- function(formula, d) {
  X <- model.matrix(formula, d)
  y <- model.response(model.frame(formula, d))
  fit <- suppressWarnings(glm(formula, family = binomial, data = d, method = "brglmFit", type = "AS_mean",
                              control = brglmControl(epsilon = 1e-14, maxit = 1000)))
  stopifnot(fit$converged)
  bhat <- unname(coef(fit))
  se <- unname(sqrt(diag(vcov(fit))))
  top <- profile_max(integer(), NA, X, y, bhat)   # no constraint: optim from brglm2's estimate
  stopifnot(isTRUE(all.equal(bhat, unname(top$par), tolerance = 1e-7)))
  lmax <- pll(bhat, X, y)
  q <- qchisq(0.95, 1)
  rows <- list()
  worst_grad <- top$grad
  for (j in seq_len(ncol(X))) {
    dev <- function(c) {
      pm <- profile_max(j, c, X, y, bhat)
      worst_grad <<- max(worst_grad, pm$grad)
      2 * (lmax - pm$value)
    }
    limit <- function(dir) {
      step <- se[j]
      inner <- bhat[j]
      outer <- bhat[j] + dir * step
      while (dev(outer) < q) { inner <- outer; step <- 2 * step; outer <- bhat[j] + dir * step }
      uniroot(function(c) dev(c) - q, sort(c(inner, outer)), tol = 1e-11 * max(1, abs(bhat[j])),
              maxiter = 200)$root
    }
    lo <- limit(-1); hi <- limit(1)
    chisq0 <- dev(0)
    nm <- colnames(X)[j]
    rows[[nm]] <- list(coef = num(bhat[j]), se = num(se[j]), or = num(exp(bhat[j])),
                       lower = num(exp(lo)), upper = num(exp(hi)), coef_lower = num(lo), coef_upper = num(hi),
                       chisq = num(chisq0), p = num(pchisq(chisq0, 1, lower.tail = FALSE)),
                       wald_lower = num(exp(bhat[j] - z975 * se[j])), wald_upper = num(exp(bhat[j] + z975 * se[j])),
                       wald_p = num(2 * pnorm(-abs(bhat[j] / se[j]))))
  }
  res <- list(formula = paste(deparse(formula), collapse = ""), n = nrow(X), events = sum(y), coefficients = rows,
       penalised_loglik = num(lmax), max_abs_constrained_gradient = num(worst_grad))
  stopifnot(worst_grad < 1e-8)
  res
}

sep <- read_ref("separation")
firth_out <- list(
  zero_cell = firth_block(y ~ trt, sep[sep$set == "zero_cell", ]),
  quasi_adjusted = firth_block(y ~ trt + score, sep[sep$set == "quasi_adjusted", ]),
  complete = firth_block(y ~ score + trt, sep[sep$set == "complete", ]),
  quasi_continuous = firth_block(y ~ score, sep[sep$set == "quasi_continuous", ]),
  scale = firth_block(y ~ trt + lab, fd),
  endometrial = firth_block(HG ~ NV + PI + EH, endometrial)
)

out <- list(
  `_meta` = c(meta("robust.R", c(
    'coxph(f, data, ties = "efron" | "breslow"); coef NA -> null; warnings kept, with the variables they name',
    'glm(f, binomial, control = glm.control(epsilon = 1e-12, maxit = 100)); Wald CI exp(b -/+ qnorm(.975) se)',
    'Firth: glm(f, binomial, method = "brglmFit", type = "AS_mean"); profile penalised-likelihood CI and penalised LR P by optim(BFGS) + uniroot on l(b) + 0.5 log|X\'WX| (full-model penalty), as logistf(pl = TRUE) defines them')),
    list(brglm2_version = as.character(packageVersion("brglm2")))),
  cox = cox_out,
  glm = glm_out,
  firth = firth_out
)
write_ref(out, "robust")

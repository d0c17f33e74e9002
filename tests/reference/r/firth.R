# Firth penalised-likelihood logistic regression reference values.
# R 4.2.2 Patched (2022-11-10 r83330); brglm2 0.9 (Debian r-cran-brglm2); brglm 0.7.2 (r-cran-brglm).
# logistf is not packaged for Debian bookworm (and CRAN is not reachable here), so the reference is
# brglm2: for the logit link, type = "AS_mean" (mean bias reduction) maximises the Jeffreys-penalised
# likelihood l(b) + 1/2 log|I(b)|, i.e. it is Firth (1993) and gives the same estimates as logistf.
# The SE is sqrt(diag(I(b_hat)^-1)), as logistf(..., pl = FALSE); Wald CI = coef +/- qnorm(.975) * se,
# Wald P = 2 * pnorm(-|coef / se|).
#
# Two independent cross-checks are enforced with stopifnot():
#  * brglm::brglm(..., pl = TRUE) (the older package, also Firth for the logit link) gives the same coefficients;
#  * direct maximisation of the penalised log-likelihood with optim(BFGS) from base R gives them too (to 1e-6).
#
# brglm2 warns "non-integer #successes" on every fit (its adjusted responses pass through
# binomial()$initialize) and, for all_responders only, "algorithm did not converge" and "fitted probabilities
# numerically 0 or 1" from its auxiliary null-model fit; the Firth fit itself converges (stopifnot(fit$converged))
# and both cross-checks hold. The messages are kept in each block's "brglm2_warnings".
#
# Data: tests/reference/data/separation.csv, hand-made (columns set, y, trt, score):
#   zero_cell        y ~ trt          control 6/15, treated 0/12 (zero cell, quasi-complete separation)
#   quasi_adjusted   y ~ trt + score  treated 12/12, control 7/18 (zero cell), score continuous
#   complete         y ~ score + trt  y = 1 iff score > 5 (complete separation on a continuous covariate)
#   quasi_continuous y ~ score        y = 0 below score 0, 1 above, mixed at 0 (quasi-complete, no zero cell)
#   all_responders   y ~ trt          8/8 and 11/11 (outcome constant)
# Run: Rscript tests/reference/r/firth.R   (from repo root)  -> tests/reference/expected/firth.json
source(file.path("tests", "reference", "r", "_common.R"))
suppressPackageStartupMessages({
  library(brglm2)
  library(brglm)
})

z975 <- qnorm(0.975)
sep <- read_ref("separation")

penalised_loglik <- function(b, X, y) {
  eta <- drop(X %*% b)
  p <- plogis(eta)
  sum(y * eta - log1p(exp(eta))) + 0.5 * as.numeric(determinant(crossprod(X * sqrt(p * (1 - p))))$modulus)
}

firth_score <- function(b, X, y) {  # gradient of penalised_loglik (modified score), to guide optim
  p <- plogis(drop(X %*% b)); w <- p * (1 - p)
  h <- w * rowSums((X %*% solve(crossprod(X * sqrt(w)))) * X)
  drop(crossprod(X, y - p + h * (0.5 - p)))
}

firth_block <- function(set, formula) {
  d <- sep[sep$set == set, ]
  warns <- character()
  fit <- withCallingHandlers(
    glm(formula, family = binomial, data = d, method = "brglmFit", type = "AS_mean",
        control = brglmControl(epsilon = 1e-12, maxit = 500)),
    warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })
  stopifnot(fit$converged)
  sm <- summary(fit)$coefficients
  X <- model.matrix(formula, d)
  # cross-check 1: brglm (pl = TRUE is the penalised-likelihood / Firth fit)
  old <- brglm::brglm(formula, family = binomial, data = d, pl = TRUE,
                      control.brglm = brglm.control(br.epsilon = 1e-12, br.maxit = 500))
  stopifnot(isTRUE(all.equal(unname(coef(fit)), unname(coef(old)), tolerance = 1e-6)))
  # cross-check 2: direct maximisation
  opt <- optim(rep(0, ncol(X)), function(b) -penalised_loglik(b, X, d$y), function(b) -firth_score(b, X, d$y),
               method = "BFGS", control = list(reltol = 1e-15, maxit = 1000))
  stopifnot(isTRUE(all.equal(unname(coef(fit)), opt$par, tolerance = 1e-6)))
  # the unpenalised fit, to show the divergence Firth avoids
  ml <- suppressWarnings(glm(formula, family = binomial, data = d))
  rows <- list()
  for (nm in rownames(sm)) {
    b <- sm[nm, "Estimate"]; se <- sm[nm, "Std. Error"]
    rows[[nm]] <- list(coef = num(b), se = num(se), or = num(exp(b)),
                       lower = num(exp(b - z975 * se)), upper = num(exp(b + z975 * se)),
                       z = num(b / se), p = num(2 * pnorm(-abs(b / se))),
                       ml_coef = num(coef(ml)[nm]), ml_se = num(sqrt(diag(vcov(ml)))[nm]))
  }
  list(formula = paste(deparse(formula), collapse = ""), n = nrow(d), events = sum(d$y),
       coefficients = rows, penalised_loglik = num(penalised_loglik(coef(fit), X, d$y)),
       converged = fit$converged, iter = fit$iter, brglm2_warnings = I(unique(warns)))
}

out <- list(
  `_meta` = c(meta("firth.R", c(
    'glm(f, binomial, method = "brglmFit", type = "AS_mean", control = brglmControl(epsilon = 1e-12))',
    'Wald: coef +/- qnorm(.975) * summary(fit)$coefficients[, "Std. Error"]; p = 2 * pnorm(-|z|)',
    'checks: brglm::brglm(f, binomial, pl = TRUE); optim(BFGS) on l(b) + 0.5 log|X\'WX|')),
    list(brglm2_version = as.character(packageVersion("brglm2")),
         brglm_version = as.character(packageVersion("brglm")))),
  zero_cell = firth_block("zero_cell", y ~ trt),
  quasi_adjusted = firth_block("quasi_adjusted", y ~ trt + score),
  complete = firth_block("complete", y ~ score + trt),
  quasi_continuous = firth_block("quasi_continuous", y ~ score),
  all_responders = firth_block("all_responders", y ~ trt)
)
write_ref(out, "firth")

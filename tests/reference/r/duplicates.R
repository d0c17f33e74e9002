# Logistic and Firth reference values on data with many duplicated rows (few distinct covariate patterns).
# trialpress fits logistic() on the distinct (y, x) patterns with frequency weights; these values come from
# the ordinary row-by-row fits, so they check that the collapsed fit is the same fit.
# R 4.2.2 Patched (2022-11-10 r83330); brglm2 0.9 and brglm 0.7.2 (Debian r-cran-brglm2, r-cran-brglm).
#
# Data (written here to tests/reference/data/duplicates.csv; columns set, y, trt, sub, trt_sub, age, score),
# built cell by cell with no random numbers; only the row order is shuffled (set.seed(20240601); sample()):
#   ml          y ~ trt + sub + trt_sub + age   2 x 2 x 5 cells, age in {41.5, 50.25, 58, 66.75, 73.5};
#                                               events = round(n * plogis(-0.8 + 0.5 trt + 0.3 sub - 0.6 trt_sub
#                                               + 0.02 (age - 58)))
#   firth_zero  y ~ trt + sub + trt_sub + age   2 x 2 x 3 cells, age in {45, 55, 65}; as above but no responder
#                                               with trt = sub = 1 (zero cell in trt_sub: quasi-complete separation)
#   firth_lp    y ~ trt + score                 2 x 7 cells, score in {-1.5, -1, ..., 1.5}: no responder below
#                                               score 0, all above, 40% at 0 (quasi-complete separation that only
#                                               the linear programme finds: no zero cell)
# Calls:
#   ML:    glm(f, binomial, control = glm.control(epsilon = 1e-14, maxit = 100))  (tight, so the SE is the one at
#          the MLE); loglik = logLik(fit), deviance, null.deviance; Wald CI exp(coef +/- qnorm(.975) se)
#   Firth: glm(f, binomial, method = "brglmFit", type = "AS_mean", control = brglmControl(epsilon = 1e-12))
#          (Jeffreys-penalised likelihood for the logit link, as in firth.R); SE sqrt(diag(I(b_hat)^-1));
#          checked with stopifnot() against brglm::brglm(pl = TRUE) and optim(BFGS) on l(b) + 1/2 log|X'WX|
#          (all on the uncollapsed rows).
# Run: Rscript tests/reference/r/duplicates.R   (from repo root)
#      -> tests/reference/data/duplicates.csv, tests/reference/expected/duplicates.json
source(file.path("tests", "reference", "r", "_common.R"))
suppressPackageStartupMessages({
  library(brglm2)
  library(brglm)
})

z975 <- qnorm(0.975)

cells <- function(set, grid, n, events) {
  rows <- lapply(seq_len(nrow(grid)), function(i) {
    g <- grid[rep(i, n[i]), , drop = FALSE]
    g$y <- c(rep(1, events[i]), rep(0, n[i] - events[i]))
    g
  })
  d <- do.call(rbind, rows)
  d$set <- set
  d
}

eta_of <- function(g) -0.8 + 0.5 * g$trt + 0.3 * g$sub - 0.6 * g$trt * g$sub + 0.02 * (g$age - 58)

g_ml <- expand.grid(trt = 0:1, sub = 0:1, age = c(41.5, 50.25, 58, 66.75, 73.5))
n_ml <- 60 + 13 * ((3 * seq_len(nrow(g_ml))) %% 7)
ml <- cells("ml", g_ml, n_ml, round(n_ml * plogis(eta_of(g_ml))))

g_fz <- expand.grid(trt = 0:1, sub = 0:1, age = c(45, 55, 65))
n_fz <- 20 + 5 * ((5 * seq_len(nrow(g_fz))) %% 7)
e_fz <- ifelse(g_fz$trt == 1 & g_fz$sub == 1, 0, round(n_fz * plogis(eta_of(g_fz))))
fz <- cells("firth_zero", g_fz, n_fz, e_fz)

g_lp <- expand.grid(trt = 0:1, score = seq(-1.5, 1.5, by = 0.5))
n_lp <- 15 + 3 * (seq_len(nrow(g_lp)) %% 5)
e_lp <- ifelse(g_lp$score < 0, 0, ifelse(g_lp$score > 0, n_lp, round(0.4 * n_lp)))
lp <- cells("firth_lp", g_lp, n_lp, e_lp)

for (nm in c("sub", "age")) lp[[nm]] <- NA
ml$score <- NA
fz$score <- NA
all_rows <- rbind(ml, fz, lp)
all_rows$trt_sub <- all_rows$trt * all_rows$sub
set.seed(20240601)
all_rows <- all_rows[sample(nrow(all_rows)), c("set", "y", "trt", "sub", "trt_sub", "age", "score")]
write.csv(all_rows, file.path(DATA_DIR, "duplicates.csv"), row.names = FALSE, na = "NA")
dup <- read_ref("duplicates")

penalised_loglik <- function(b, X, y) {
  eta <- drop(X %*% b)
  p <- plogis(eta)
  sum(y * eta - log1p(exp(eta))) + 0.5 * as.numeric(determinant(crossprod(X * sqrt(p * (1 - p))))$modulus)
}

firth_score <- function(b, X, y) {
  p <- plogis(drop(X %*% b)); w <- p * (1 - p)
  h <- w * rowSums((X %*% solve(crossprod(X * sqrt(w)))) * X)
  drop(crossprod(X, y - p + h * (0.5 - p)))
}

coef_rows <- function(sm) {
  rows <- list()
  for (nm in rownames(sm)) {
    b <- sm[nm, "Estimate"]; se <- sm[nm, "Std. Error"]
    rows[[nm]] <- list(coef = num(b), se = num(se), or = num(exp(b)),
                       lower = num(exp(b - z975 * se)), upper = num(exp(b + z975 * se)),
                       z = num(b / se), p = num(2 * pnorm(-abs(b / se))))
  }
  rows
}

ml_block <- function(set, formula) {
  d <- dup[dup$set == set, ]
  fit <- glm(formula, family = binomial, data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
  stopifnot(fit$converged)
  list(formula = paste(deparse(formula), collapse = ""), n = nrow(d), events = sum(d$y),
       patterns = nrow(unique(d[, all.vars(formula)])),
       coefficients = coef_rows(summary(fit)$coefficients), loglik = num(logLik(fit)),
       deviance = num(fit$deviance), null_deviance = num(fit$null.deviance),
       lr_chisq = num(fit$null.deviance - fit$deviance))
}

firth_block <- function(set, formula) {
  d <- dup[dup$set == set, ]
  warns <- character()
  fit <- withCallingHandlers(
    glm(formula, family = binomial, data = d, method = "brglmFit", type = "AS_mean",
        control = brglmControl(epsilon = 1e-12, maxit = 500)),
    warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })
  stopifnot(fit$converged)
  X <- model.matrix(formula, d)
  old <- brglm::brglm(formula, family = binomial, data = d, pl = TRUE,
                      control.brglm = brglm.control(br.epsilon = 1e-12, br.maxit = 500))
  stopifnot(isTRUE(all.equal(unname(coef(fit)), unname(coef(old)), tolerance = 1e-6)))
  # started at brglm's estimate rounded to 1 decimal: from 0, BFGS's first line search on firth_lp
  # (score separates 300 rows) reaches fitted probabilities of 0/1 and a singular X'WX
  opt <- optim(round(unname(coef(old)), 1), function(b) -penalised_loglik(b, X, d$y),
               function(b) -firth_score(b, X, d$y), method = "BFGS", control = list(reltol = 1e-15, maxit = 1000))
  stopifnot(isTRUE(all.equal(unname(coef(fit)), opt$par, tolerance = 1e-6)))
  list(formula = paste(deparse(formula), collapse = ""), n = nrow(d), events = sum(d$y),
       patterns = nrow(unique(d[, all.vars(formula)])),
       coefficients = coef_rows(summary(fit)$coefficients),
       penalised_loglik = num(penalised_loglik(coef(fit), X, d$y)),
       converged = fit$converged, brglm2_warnings = I(unique(warns)))
}

out <- list(
  `_meta` = c(meta("duplicates.R", c(
    "glm(f, binomial, control = glm.control(epsilon = 1e-14, maxit = 100))",
    'glm(f, binomial, method = "brglmFit", type = "AS_mean", control = brglmControl(epsilon = 1e-12))',
    'checks: brglm::brglm(f, binomial, pl = TRUE); optim(BFGS) on l(b) + 0.5 log|X\'WX|')),
    list(brglm2_version = as.character(packageVersion("brglm2")),
         brglm_version = as.character(packageVersion("brglm")))),
  ml = ml_block("ml", y ~ trt + sub + trt_sub + age),
  firth_zero = firth_block("firth_zero", y ~ trt + sub + trt_sub + age),
  firth_lp = firth_block("firth_lp", y ~ trt + score)
)
write_ref(out, "duplicates")

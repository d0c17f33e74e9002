# Reference values for trialpress.analysis.continuous / ancova / mmrm.
#   Rscript tests/reference/r/continuous.R   (from the repo root; after tests/reference/export_continuous.py)
#
# Data (tests/reference/data/):
#   adqs_fksiall.csv, adqs_fksiall_missing.csv, adqs_fksiall_onesubj.csv  -- from data/random-cdisc-data/adqs.xpt
#   fev_data.csv -- the FEV1 rows of the R package mmrm's `fev_data` (see README)
# Calls:
#   descriptives  quantile(type = 2) (= SAS QNTLDEF=5), mean, sd
#   ANCOVA        lm(CHG ~ ARM + BASE + STRATA1) at WEEK 5 + emmeans(weights = "proportional" | "equal"),
#                 contrast(method = "trt.vs.ctrl", adjust = "none"), linear dose contrast
#   MMRM          nlme::gls(CHG ~ ARM * AVISIT + BASE + STRATA1 [+ BASE:AVISIT], method = "REML") with
#                 us: corSymm(~ vi | USUBJID) + varIdent(~ 1 | AVISIT); cs: corCompSymm(~ 1 | USUBJID);
#                 ar1: corAR1(~ vi | USUBJID); toeplitz: corARMA(~ vi | USUBJID, p = T - 1)   (vi = visit index)
#                 + emmeans(~ ARM | AVISIT, mode = "satterthwaite") and mode = "df.error" re-run with
#                 df = N - p (nlme's own residual df; emmeans' df.error subtracts the covariance parameters too)
#   MMRM, one group  the rows of A: Drug X only: gls(CHG ~ AVISIT + BASE + STRATA1) (us on the missing extract, cs on
#                 the complete one) + emmeans(~ AVISIT), df as above
#   KR            SAS PROC MIXED DDFM=KR on fev_data, as published in the mmrm package (numbers below), and
#                 lme4::lmer(+ (1 | USUBJID)) + emmeans(lmer.df = "kenward-roger") (pbkrtest) for CS, for information
source(file.path("tests", "reference", "r", "_common.R"))
suppressPackageStartupMessages({
  library(nlme)
  library(emmeans)
  library(lme4)
  library(pbkrtest)
})

ARMS <- c("A: Drug X", "B: Placebo", "C: Combination")
REF <- "B: Placebo"
DOSES <- c("A: Drug X" = 1, "B: Placebo" = 0, "C: Combination" = 2)
CTRL <- glsControl(maxIter = 500, msMaxIter = 1000, tolerance = 1e-11, msTol = 1e-13, returnObject = FALSE,
                   natural = FALSE)  # apVar in the parametrisation of coef(modelStruct), as emmeans needs

prep <- function(d, arms = ARMS) {
  d$ARM <- factor(d$ARM, levels = arms)
  d$AVISIT <- factor(d$AVISIT, levels = unique(d$AVISIT[order(d$AVISITN)]))
  d$STRATA1 <- factor(d$STRATA1)
  d$vi <- as.integer(d$AVISIT)
  d
}
complete <- prep(read_ref("adqs_fksiall"))
missing <- prep(read_ref("adqs_fksiall_missing"))
onesubj <- prep(read_ref("adqs_fksiall_onesubj"))
last_visit <- levels(complete$AVISIT)[nlevels(complete$AVISIT)]

# ------------------------------------------------------------------------------------ descriptives
desc <- function(x) {
  x <- x[!is.na(x)]
  n <- length(x)
  q <- if (n) quantile(x, c(0.25, 0.5, 0.75), type = 2, names = FALSE) else rep(NA_real_, 3)
  list(n = n, mean = num(if (n) mean(x) else NA), sd = num(if (n > 1) sd(x) else NA),
       median = num(q[2]), q1 = num(q[1]), q3 = num(q[3]),
       min = num(if (n) min(x) else NA), max = num(if (n) max(x) else NA))
}
desc_by <- function(d, var) {
  out <- list()
  for (v in levels(d$AVISIT)) for (g in levels(d$ARM)) {
    out[[length(out) + 1]] <- c(list(group = g, visit = v), desc(d[[var]][d$ARM == g & d$AVISIT == v]))
  }
  out
}
small <- list(c(1, 2, 3, 4), c(5), c(3, 1, 2), c(1, 2, 3, 4, 5, 6, 7, 8), c(2, 2, 7, 1, 9, 4),
              c(1.5, NA, 2.5, 10, -3), c(10, 20, 30, 40, 50, 60, 70), numeric(0))
descriptives <- list(
  complete = list(AVAL = desc_by(complete, "AVAL"), CHG = desc_by(complete, "CHG")),
  missing = list(AVAL = desc_by(missing, "AVAL"), CHG = desc_by(missing, "CHG")),
  small = lapply(small, function(x) c(list(values = num(x)), desc(x)))
)

# ------------------------------------------------------------------------------------------ ANCOVA
lsm_rows <- function(s, by_visit = FALSE) {
  lapply(seq_len(nrow(s)), function(i) list(
    group = as.character(s$ARM[i]), visit = if (by_visit) as.character(s$AVISIT[i]) else NULL,
    estimate = num(s$emmean[i]), se = num(s$SE[i]), df = num(s$df[i]),
    lower = num(s$lower.CL[i]), upper = num(s$upper.CL[i])))
}
diff_rows <- function(s, by_visit = FALSE) {
  lapply(seq_len(nrow(s)), function(i) list(
    group = sub(paste0(" - ", REF, "$"), "", as.character(s$contrast[i])),
    visit = if (by_visit) as.character(s$AVISIT[i]) else NULL,
    estimate = num(s$estimate[i]), se = num(s$SE[i]), df = num(s$df[i]),
    lower = num(s$lower.CL[i]), upper = num(s$upper.CL[i]), t = num(s$t.ratio[i]), p = num(s$p.value[i])))
}

ancova_ref <- function(d) {
  d <- droplevels(d[d$AVISIT == last_visit, ])
  fit <- lm(CHG ~ ARM + BASE + STRATA1, data = d)
  out <- list(n = nobs(fit), df_resid = df.residual(fit), sigma = sigma(fit),
              lsmeans = list(), differences = NULL, dose = NULL)
  for (w in c("proportional", "equal")) {
    out$lsmeans[[w]] <- lsm_rows(summary(emmeans(fit, ~ ARM, weights = w), infer = c(TRUE, TRUE)))
  }
  emm <- emmeans(fit, ~ ARM)
  ref <- which(levels(d$ARM) == REF)
  out$differences <- diff_rows(summary(contrast(emm, method = "trt.vs.ctrl", ref = ref, adjust = "none"),
                                       infer = c(TRUE, TRUE)))
  doses <- DOSES[levels(d$ARM)]
  w <- (doses - mean(doses)) / sum((doses - mean(doses))^2)
  s <- summary(contrast(emm, list(linear = unname(w))), infer = c(TRUE, TRUE))
  out$dose <- list(doses = as.list(doses), coefficients = as.list(w), estimate = num(s$estimate), se = num(s$SE),
                   df = num(s$df), lower = num(s$lower.CL), upper = num(s$upper.CL), t = num(s$t.ratio),
                   p = num(s$p.value))
  out
}

# -------------------------------------------------------------------------------------------- MMRM
cor_struct <- function(structure, n_visits) {
  switch(structure,
         us = corSymm(form = ~ vi | USUBJID),
         cs = corCompSymm(form = ~ 1 | USUBJID),
         ar1 = corAR1(form = ~ vi | USUBJID),
         toeplitz = corARMA(form = ~ vi | USUBJID, p = n_visits - 1, q = 0))
}

fit_gls <- function(formula, d, structure) {
  dd <<- d
  args <- list(model = formula, data = quote(dd), correlation = cor_struct(structure, nlevels(d$AVISIT)),
               method = "REML", control = CTRL)
  if (structure == "us") args$weights <- varIdent(form = ~ 1 | AVISIT)
  do.call(gls, args)
}

full_subject <- function(d) {
  tab <- table(d$USUBJID)
  names(tab)[tab == nlevels(d$AVISIT)][1]
}

varcov <- function(fit, id) { v <- getVarCov(fit, individual = id); matrix(as.numeric(v), nrow(v)) }

n_cov_params <- function(fit) length(coef(fit$modelStruct, unconstrained = TRUE)) + 1

# Satterthwaite df, computed here rather than by emmeans(mode = "satterthwaite"): for gls that mode uses
# nlme's apVar, a finite-difference Hessian (for corSymm in another parametrisation than the Jacobian it is
# paired with, and not positive definite for the complete data's UN fit). Here: the REML criterion written
# out in SAS's parametrisation of each structure (UN: the covariances; CS: CS and residual variance; AR(1):
# variance and rho; TOEP: the lag covariances), its Hessian and the Jacobian of (X'V^-1 X)^-1 by numDeriv
# (Richardson extrapolation) at the gls estimate; df = 2 (l'Phi l)^2 / (g' W g), W = inverse observed
# information, g = d(l'Phi l)/dtheta.
sigma_from <- function(structure, th, t) {
  lag <- abs(outer(seq_len(t), seq_len(t), "-"))
  switch(structure,
         us = { s <- matrix(0, t, t); s[lower.tri(s, diag = TRUE)] <- th; s + t(s) - diag(diag(s)) },
         cs = th[2] * diag(t) + th[1],
         ar1 = th[1] * th[2]^lag,
         toeplitz = matrix(th[lag + 1], t, t))
}
theta_from <- function(structure, s) {
  switch(structure, us = s[lower.tri(s, diag = TRUE)], cs = c(s[1, 2], s[1, 1] - s[1, 2]),
         ar1 = c(s[1, 1], s[1, 2] / s[1, 1]), toeplitz = s[1, ])
}
reml_pieces <- function(d, x, y) {
  pat <- tapply(d$vi, d$USUBJID, function(v) paste(sort(v), collapse = ","))
  lapply(split(seq_len(nrow(d)), pat[as.character(d$USUBJID)]), function(rows) {
    rows <- rows[order(d$USUBJID[rows], d$vi[rows])]
    v <- sort(unique(d$vi[rows]))
    m <- length(v)
    xs <- lapply(seq_len(m), function(a) x[rows[seq(a, length(rows), by = m)], , drop = FALSE])
    ys <- lapply(seq_len(m), function(a) y[rows[seq(a, length(rows), by = m)]])
    list(v = v, n = length(rows) / m, xs = xs, ys = ys)
  })
}
reml_parts <- function(pieces, s) {
  p <- ncol(pieces[[1]]$xs[[1]])
  a <- matrix(0, p, p); b <- numeric(p); c <- 0; logdet <- 0
  for (pc in pieces) {
    si <- solve(s[pc$v, pc$v, drop = FALSE])
    logdet <- logdet + pc$n * as.numeric(determinant(s[pc$v, pc$v, drop = FALSE])$modulus)
    m <- length(pc$v)
    for (i in seq_len(m)) for (j in seq_len(m)) {
      a <- a + si[i, j] * crossprod(pc$xs[[i]], pc$xs[[j]])
      b <- b + si[i, j] * crossprod(pc$xs[[i]], pc$ys[[j]])
      c <- c + si[i, j] * sum(pc$ys[[i]] * pc$ys[[j]])
    }
  }
  list(a = a, b = b, c = c, logdet = logdet)
}
satterthwaite <- function(fit, d, structure, lmat) {
  x <- model.matrix(formula(fit), d)
  stopifnot(identical(colnames(x), names(coef(fit))))
  y <- d[[all.vars(formula(fit))[1]]]
  pieces <- reml_pieces(d, x, y)
  t <- nlevels(d$AVISIT)
  th0 <- theta_from(structure, varcov(fit, full_subject(d)))
  neg2 <- function(th) {
    r <- reml_parts(pieces, sigma_from(structure, th, t))
    beta <- solve(r$a, r$b)
    r$logdet + as.numeric(determinant(r$a)$modulus) + r$c - sum(r$b * beta) + (nrow(x) - ncol(x)) * log(2 * pi)
  }
  phi <- function(th) as.vector(solve(reml_parts(pieces, sigma_from(structure, th, t))$a))
  w <- 2 * solve(numDeriv::hessian(neg2, th0))
  jac <- numDeriv::jacobian(phi, th0)
  phi0 <- matrix(phi(th0), ncol(x))
  list(df = apply(lmat, 1, function(l) {
    g <- as.vector(crossprod(jac, as.vector(l %o% l)))
    2 * as.numeric(t(l) %*% phi0 %*% l)^2 / as.numeric(t(g) %*% w %*% g)
  }), neg2_at_gls = neg2(th0))
}

# LS means and differences with the df of `mode`; `w_obs` = observed shares of the STRATA1 levels
emm_rows <- function(emm, df, conf = 0.95, kind = c("lsmean", "diff"), labels) {
  kind <- match.arg(kind)
  s <- summary(emm)
  est <- if (kind == "lsmean") s$emmean else s$estimate
  q <- qt(1 - (1 - conf) / 2, df)
  lapply(seq_len(nrow(s)), function(i) {
    row <- c(labels(s, i), list(estimate = num(est[i]), se = num(s$SE[i]), df = num(df[i]),
                                lower = num(est[i] - q[i] * s$SE[i]), upper = num(est[i] + q[i] * s$SE[i])))
    if (kind == "diff") c(row, list(t = num(est[i] / s$SE[i]), p = num(2 * pt(-abs(est[i] / s$SE[i]), df[i]))))
    else row
  })
}
arm_visit <- function(s, i) list(group = as.character(s$ARM[i]), visit = as.character(s$AVISIT[i]))
contrast_visit <- function(s, i) list(group = sub(paste0(" - ", REF, "$"), "", as.character(s$contrast[i])),
                                      visit = as.character(s$AVISIT[i]))

# a REML gls fit with what every MMRM reference reports of it; nlme's own t tests use N - p, checked here as the df
# we call "residual"
gls_fit <- function(formula, d, structure) {
  fit <- fit_gls(formula, d, structure)
  n_res <- fit$dims$N - fit$dims$p
  tt <- summary(fit)$tTable
  stopifnot(isTRUE(all.equal(unname(tt[, "p-value"]), unname(2 * pt(-abs(tt[, "t-value"]), n_res)))))
  ll <- as.numeric(logLik(fit))
  q <- n_cov_params(fit)
  list(fit = fit, n_res = n_res, w_obs = as.numeric(prop.table(table(d$STRATA1))),
       head = list(structure = structure, n_obs = fit$dims$N, n_subjects = length(unique(d$USUBJID)),
                   p = fit$dims$p, reml_loglik = ll, aic = -2 * ll + 2 * q, n_cov_params = q))
}

# LS means (observed and equal weights) with Satterthwaite and residual df, per df mode
lsmeans_by_mode <- function(emm, df_sat, n_res, labels) {
  out <- list()
  for (mode in c("satterthwaite", "residual")) {
    dfs <- if (mode == "residual") lapply(df_sat, function(v) rep(n_res, length(v))) else df_sat
    out[[mode]] <- list(observed = emm_rows(emm$observed, dfs$observed, labels = labels),
                        equal = emm_rows(emm$equal, dfs$equal, labels = labels))
  }
  out
}

mmrm_ref <- function(d, structure, formula = CHG ~ ARM * AVISIT + BASE + STRATA1) {
  d <- droplevels(d)
  g <- gls_fit(formula, d, structure)
  fit <- g$fit
  emm <- list(observed = emmeans(fit, ~ ARM | AVISIT, mode = "df.error", weights = g$w_obs, data = d),
              equal = emmeans(fit, ~ ARM | AVISIT, mode = "df.error", weights = "equal", data = d))
  ct <- contrast(emm$equal, method = "trt.vs.ctrl", ref = which(levels(d$ARM) == REF), adjust = "none")
  lin <- rbind(emm$observed@linfct, emm$equal@linfct, ct@linfct)
  sat <- satterthwaite(fit, d, structure, lin)
  k <- nrow(emm$observed@linfct)
  df_sat <- list(observed = sat$df[seq_len(k)], equal = sat$df[k + seq_len(k)], diff = sat$df[-seq_len(2 * k)])
  c(g$head, list(neg2_reml_check = sat$neg2_at_gls,
                 emmeans_df_error = fit$dims$N - fit$dims$p - length(unlist(fit$modelStruct)),
                 weights_observed = as.list(setNames(g$w_obs, levels(d$STRATA1))),
                 covariance = varcov(fit, full_subject(d)), visits = levels(d$AVISIT),
                 lsmeans = lsmeans_by_mode(emm, df_sat, g$n_res, arm_visit),
                 differences = list(satterthwaite = emm_rows(ct, df_sat$diff, kind = "diff", labels = contrast_visit),
                                    residual = emm_rows(ct, rep(g$n_res, length(df_sat$diff)), kind = "diff",
                                                        labels = contrast_visit))))
}

# one group (a single-arm study): no group or group-by-visit term, CHG ~ AVISIT + BASE + STRATA1 (treatment
# coding), LS means by visit; the rows of arm `arm` only, fitted and reported as mmrm_ref's lsmeans (no differences)
onegroup_ref <- function(d, structure, arm = ARMS[1]) {
  d <- droplevels(d[d$ARM == arm, ])
  g <- gls_fit(CHG ~ AVISIT + BASE + STRATA1, d, structure)
  fit <- g$fit
  emm <- list(observed = emmeans(fit, ~ AVISIT, mode = "df.error", weights = g$w_obs, data = d),
              equal = emmeans(fit, ~ AVISIT, mode = "df.error", weights = "equal", data = d))
  sat <- satterthwaite(fit, d, structure, rbind(emm$observed@linfct, emm$equal@linfct))
  k <- nrow(emm$observed@linfct)
  df_sat <- list(observed = sat$df[seq_len(k)], equal = sat$df[k + seq_len(k)])
  visit_only <- function(s, i) list(group = arm, visit = as.character(s$AVISIT[i]))
  c(g$head, list(group = arm, neg2_reml_check = sat$neg2_at_gls,
                 weights_observed = as.list(setNames(g$w_obs, levels(d$STRATA1))),
                 covariance = varcov(fit, full_subject(d)), visits = levels(d$AVISIT),
                 lsmeans = lsmeans_by_mode(emm, df_sat, g$n_res, visit_only)))
}

# one visit: the MMRM is an ANCOVA (lm), its only covariance parameter the residual variance
onevisit_ref <- function(d) {
  d <- droplevels(d[d$AVISIT == last_visit, ])
  fit <- lm(CHG ~ ARM + BASE + STRATA1, data = d)
  g <- gls(CHG ~ ARM + BASE + STRATA1, data = d, method = "REML")
  out <- list(n_obs = nobs(fit), df_resid = df.residual(fit), sigma2 = sigma(fit)^2,
              reml_loglik = as.numeric(logLik(g)), lsmeans = list())
  for (w in c("proportional", "equal")) {
    out$lsmeans[[w]] <- lsm_rows(summary(emmeans(fit, ~ ARM, weights = w), infer = c(TRUE, TRUE)))
  }
  out$differences <- diff_rows(summary(contrast(emmeans(fit, ~ ARM), method = "trt.vs.ctrl",
                                                ref = which(levels(d$ARM) == REF), adjust = "none"),
                                       infer = c(TRUE, TRUE)))
  out
}

# a last visit with a single subject: group x visit cells without data are left out (cell-means coding).
# Neither UN nor Toeplitz is identified (the visit-5 variance/covariances, resp. the lag-4 correlation, enter
# only through that subject, whose visit-5 value its own cell mean absorbs: the REML criterion is flat in
# them; gls still returns a value), so trialpress falls back to AR(1), and this is the AR(1) fit.
onesubj_ref <- function(d) {
  d <- droplevels(d)
  d$cell <- droplevels(interaction(d$ARM, d$AVISIT, sep = "|"))
  fit <- fit_gls(CHG ~ 0 + cell + BASE + STRATA1, d, "ar1")
  ll <- as.numeric(logLik(fit))
  w_obs <- as.numeric(prop.table(table(d$STRATA1)))
  emm <- list(observed = emmeans(fit, ~ cell, mode = "df.error", weights = w_obs, data = d),
              equal = emmeans(fit, ~ cell, mode = "df.error", weights = "equal", data = d))
  cells <- levels(d$cell)
  coefs <- list()
  for (v in levels(d$AVISIT)) for (g in setdiff(levels(d$ARM), REF)) {
    a <- paste(g, v, sep = "|"); b <- paste(REF, v, sep = "|")
    if (a %in% cells && b %in% cells) coefs[[paste(g, v, sep = "@")]] <- as.numeric(cells == a) - as.numeric(cells == b)
  }
  ct <- contrast(emm$equal, coefs, adjust = "none")
  lin <- rbind(emm$observed@linfct, emm$equal@linfct, ct@linfct)
  sat <- satterthwaite(fit, d, "ar1", lin)
  k <- length(cells)
  cell_label <- function(s, i) { gv <- strsplit(as.character(s$cell[i]), "|", fixed = TRUE)[[1]]
                                 list(group = gv[1], visit = gv[2]) }
  diff_label <- function(s, i) { gv <- strsplit(as.character(s$contrast[i]), "@", fixed = TRUE)[[1]]
                                 list(group = gv[1], visit = gv[2]) }
  list(n_obs = fit$dims$N, reml_loglik = ll, aic = -2 * ll + 2 * n_cov_params(fit),
       covariance = varcov(fit, full_subject(d)),
       lsmeans = list(observed = emm_rows(emm$observed, sat$df[seq_len(k)], labels = cell_label),
                      equal = emm_rows(emm$equal, sat$df[k + seq_len(k)], labels = cell_label)),
       differences = emm_rows(ct, sat$df[-seq_len(2 * k)], kind = "diff", labels = diff_label))
}

# CS with Kenward-Roger through lme4 + pbkrtest (random intercept = CS with a non-negative covariance)
lmer_cs_kr <- function(d) {
  fit <- lmer(CHG ~ ARM * AVISIT + BASE + STRATA1 + (1 | USUBJID), data = d, REML = TRUE,
              control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 0.2, rhoend = 1e-12)))
  emm <- emmeans(fit, ~ ARM | AVISIT, lmer.df = "kenward-roger", weights = "proportional")
  list(lsmeans = lsm_rows(summary(emm, infer = c(TRUE, TRUE)), by_visit = TRUE),
       differences = diff_rows(summary(contrast(emmeans(fit, ~ ARM | AVISIT, lmer.df = "kenward-roger"),
                                                method = "trt.vs.ctrl", ref = which(levels(d$ARM) == REF),
                                                adjust = "none"), infer = c(TRUE, TRUE)), by_visit = TRUE),
       reml_loglik = as.numeric(logLik(fit)))
}

# -------------------------------------------------------------------- fev_data: FEV1 ~ ARMCD (SAS checks)
fev <- read_ref("fev_data")
fev$ARMCD <- factor(fev$ARMCD, levels = c("PBO", "TRT"))
fev$AVISIT <- factor(fev$AVISIT)
fev$vi <- as.integer(fev$AVISIT)
fev_ref <- function(structure) {
  d <- fev
  fit <- fit_gls(FEV1 ~ ARMCD, d, structure)
  emm <- emmeans(fit, ~ ARMCD, mode = "df.error", data = d)
  ct <- contrast(emm, method = "trt.vs.ctrl", ref = 1, adjust = "none")
  sat <- satterthwaite(fit, d, structure, ct@linfct)
  s <- summary(ct)
  list(reml_loglik = as.numeric(logLik(fit)), estimate = num(s$estimate), se = num(s$SE), df = num(sat$df),
       covariance = varcov(fit, "PT11"))
}

# SAS PROC MIXED, MODEL FEV1 = ARMCD / DDFM=KR; REPEATED AVISIT / SUBJECT=USUBJID TYPE=...; LSMEANS ARMCD / PDIFF.
# Difference TRT - PBO: SE and df as published in openpharma/mmrm tests/testthat/test-kenwardroger.R
# ("kr give similar results as SAS"); the CS values also in design/KR/kr_cs.csv, the UN -2 Res Log Likelihood
# in design/KR/kr_us.txt (Iteration History).
sas_kr <- list(
  source = "SAS PROC MIXED DDFM=KR on mmrm::fev_data, as published in openpharma/mmrm (tests/testthat/test-kenwardroger.R; design/KR/kr_cs.csv, kr_us.txt)",
  us = list(se = 0.66124382270307, df = 160.733266403768, neg2_reml_loglik = 3667.96276376),
  cs = list(se = 0.7964696053595, df = 177.038485931223, estimate = 4.19663617897035),
  ar1 = list(se = 0.95865439662225, df = 188.46934887972),
  toeplitz = list(se = 0.87839805519623, df = 160.027408337368)
)

result <- list(
  descriptives = descriptives,
  ancova = list(complete = ancova_ref(complete), missing = ancova_ref(missing),
                nogroup = ancova_ref(prep(complete[complete$ARM != "C: Combination", ], ARMS[1:2]))),
  mmrm = list(
    complete_us = mmrm_ref(complete, "us"), complete_cs = mmrm_ref(complete, "cs"),
    complete_ar1 = mmrm_ref(complete, "ar1"), complete_toeplitz = mmrm_ref(complete, "toeplitz"),
    missing_us = mmrm_ref(missing, "us"), missing_cs = mmrm_ref(missing, "cs"),
    missing_ar1 = mmrm_ref(missing, "ar1"), missing_toeplitz = mmrm_ref(missing, "toeplitz"),
    missing_us_basevisit = mmrm_ref(missing, "us", CHG ~ ARM * AVISIT + BASE + STRATA1 + BASE:AVISIT),
    # the model of analysis/random-cdisc-data.yml's FKSI endpoint (covariates BASE, factors STRATA1,
    # covariate_by_visit BASE, covariance us (the first of its default order), Satterthwaite df, observed-margin
    # LS means) on the complete extract, i.e. the plan's records: tests/test_continuous_public.py holds the
    # ARD's MMRM rows to it
    complete_us_basevisit = mmrm_ref(complete, "us", CHG ~ ARM * AVISIT + BASE + STRATA1 + BASE:AVISIT),
    nogroup_us = mmrm_ref(prep(missing[missing$ARM != "C: Combination", ], ARMS[1:2]), "us")
  ),
  mmrm_one_group = list(missing_us = onegroup_ref(missing, "us"), complete_cs = onegroup_ref(complete, "cs")),
  onevisit = onevisit_ref(complete),
  onesubj_ar1 = onesubj_ref(onesubj),
  lmer_cs_kr = lmer_cs_kr(missing),
  fev = list(us = fev_ref("us"), cs = fev_ref("cs"), ar1 = fev_ref("ar1"), toeplitz = fev_ref("toeplitz")),
  sas_kr_fev = sas_kr
)
result[["_meta"]] <- meta("tests/reference/r/continuous.R", c(
  "quantile(x, c(.25, .5, .75), type = 2)",
  "lm(CHG ~ ARM + BASE + STRATA1) + emmeans(~ ARM, weights = 'proportional'|'equal')",
  "gls(CHG ~ ARM * AVISIT + BASE + STRATA1 [+ BASE:AVISIT], correlation = corSymm|corCompSymm|corAR1|corARMA(p = T - 1), weights = varIdent (us), method = 'REML')",
  "emmeans(~ ARM | AVISIT, mode = 'satterthwaite' | 'df.error' + update(df = N - p))",
  "lmer(... + (1 | USUBJID)) + emmeans(lmer.df = 'kenward-roger')"))
result[["_meta"]]$nlme_version <- packageDescription("nlme")$Version
result[["_meta"]]$emmeans_version <- packageDescription("emmeans")$Version
result[["_meta"]]$lme4_version <- packageDescription("lme4")$Version
result[["_meta"]]$pbkrtest_version <- packageDescription("pbkrtest")$Version
result[["_meta"]]$gls_control <- "glsControl(maxIter = 500, msMaxIter = 1000, tolerance = 1e-11, msTol = 1e-13)"
write_ref(result, "continuous")

# Reference values of the safety suite (disposition, exposure, the adverse-event tables, exposure-adjusted rates,
# deaths, laboratory and vital-sign tables) on the two bundled studies and the public ADaM package.
# R 4.2.2, haven 2.5.1, data.table 1.14.8, jsonlite 1.8.4 (versions also in the JSON _meta).
#
# Data: data/blinatumomab-salvage/{adsl,adae}.csv and data/velotrepin-copd/{adsl,adae}.csv (data.table::fread,
#       every column as text, "" = missing); data/random-cdisc-data/{adsl,adae,adex,adlb,advs}.xpt (haven::read_xpt,
#       blank text = missing; datetimes are UTC POSIXct, dates are the UTC date of them);
#       tests/reference/data/cdiscpilot01_{adsl,adae}.csv (the CDISC pilot, data/cdiscpilot01, exported from its
#       Parquet by tests/reference/export_cdiscpilot01.py; read.csv, every column as text, "" = missing).
# Groups: disposition by the plan's groups.variable (SALVGRP, TRT01P, TRT01P, TRT01P) over all ADSL subjects with a
#         group; everything else in the safety population (SAFFL == "Y") by its group variable (SALVGRP, TRT01P,
#         TRT01A, TRT01A).
# Calls and definitions (written here from the plan's words, not from trialpress's code):
# (1) disposition: counts of !is.na(RANDDT); !is.na(TRTSDT) (or TRTSDTM); each population flag == "Y" (SAF only if
#     its own group variable holds a group); each EOSSTT / EOTSTT value and NA; DCSREAS / DCTREAS values among
#     EOSSTT / EOTSTT == "DISCONTINUED", and those with no reason (DCDECOD when there is no DCSREAS; with no
#     status variable, the reason variable's values among all subjects, as the pilot's DCDECOD).
# (2) exposure: duration in days = TRTDURD (bundled); pilot: TRTEDT - TRTSDT + 1; public: ADEX PARAMCD "DOSE" records,
#     max(as.Date(AENDTM) or as.Date(ASTDTM)) - min(as.Date(ASTDTM)) + 1 per subject. mean, sd (n-1), median, min,
#     max; patient-years = sum / 365.25; categories cut at 30, 90, 180, 365 (findInterval). Public doses: sum of AVAL of
#     TDOSE and TNDOSE per subject within PARCAT2; intensity = TDOSE / (duration / 7).
# (3) TEAEs (TRTEMFL == "Y") of safety subjects, distinct USUBJID per group and total, by AEBODSYS and
#     AEBODSYS x AEDECOD for: serious (AESER == "Y"), related (AEREL in "Y"/"RELATED"), leading to discontinuation
#     (AEACN == "DRUG WITHDRAWN"; the pilot, with no AEACN: ADSL DCDECOD == "ADVERSE EVENT" in the overview),
#     fatal (AEOUT == "FATAL", or AETOXGR == 5 where grades are CTCAE). Pilot: related = AEREL in POSSIBLE, PROBABLE.
#     Maximum grade: per subject (and per subject x SOC x PT) max(as.numeric(AETOXGR)), or the rank of AESEV in
#     MILD < MODERATE < SEVERE; table(group, max).
# (4) EAIR per overview category: first onset = min(pmax(ASTDY, 1)) over the subject's events of the category;
#     time at risk = first onset for subjects with one, duration for the others (subjects with neither dropped);
#     rate = 100 * events / (sum / 365.25); CI = 100 * poisson.test(events, sum / 365.25)$conf.int.
# (5) deaths: DTHFL == "Y"; on treatment when DTHDT <= last dose + 30 days (TRTEDT, as.Date(TRTEDTM)) or no last dose;
#     follow-up when later; by DTHCAUS (public); study day = DTHDT - first dose + 1 (>= first dose) per subject.
# (6) public ADLB (ALT, CRP, IGA) and ADVS (all six): baseline ABLFL == "Y"; post-baseline ONTRTFL == "Y" and
#     ABLFL != "Y"; by AVISIT summaries of AVAL and CHG (one record per subject and visit here); shift of baseline
#     BNRIND (of the baseline record) by worst post-baseline ANRIND (NORMAL; LOW; HIGH; LOW+HIGH when both;
#     "(missing)"); toxicity grades per direction: high = pmax(ATOXGR, 0), low = pmax(-ATOXGR, 0), baseline from
#     BTOXGR of the baseline record, worst = max over post-baseline records; grade 3-4 = worst >= 3.
# Run: Rscript tests/reference/r/safety_suite.R   (from the repo root) -> tests/reference/expected/safety_suite.json
source(file.path("tests", "reference", "r", "_common.R"))
suppressPackageStartupMessages({
  library(haven)
  library(data.table)
})

blank_na <- function(d) {
  for (v in names(d)) {
    if (is.character(d[[v]])) {
      x <- d[[v]]
      x[!is.na(x) & trimws(x) == ""] <- NA_character_
      d[[v]] <- trimws(x)
    }
  }
  d
}
read_csv_text <- function(path) blank_na(as.data.frame(fread(path, colClasses = "character", na.strings = "")))
read_pub <- function(name) blank_na(as.data.frame(read_xpt(file.path("data", "random-cdisc-data", paste0(name, ".xpt")))))
day_of <- function(x) {
  if (inherits(x, "POSIXct")) return(as.Date(x, tz = "UTC"))
  if (inherits(x, "Date")) return(x)
  as.Date(x)
}
is_y <- function(x) !is.na(x) & x == "Y"

# subjects per group and total, for a logical per subject
by_group <- function(hit, group, levels) {
  out <- lapply(levels, function(g) sum(hit & group %in% g))
  names(out) <- levels
  out[["Total"]] <- sum(hit & group %in% levels)
  out
}
# distinct subjects per group and total among records
subjects_by <- function(ids, group, levels) {
  out <- lapply(levels, function(g) length(unique(ids[group %in% g])))
  names(out) <- levels
  out[["Total"]] <- length(unique(ids[group %in% levels]))
  out
}
summ <- function(x) {
  x <- x[!is.na(x)]
  if (!length(x)) return(list(n = 0, mean = NULL, sd = NULL, median = NULL, min = NULL, max = NULL))
  list(n = length(x), mean = mean(x), sd = if (length(x) > 1) sd(x) else NULL, median = median(x), min = min(x),
       max = max(x))
}
summ_by <- function(x, group, levels) {
  out <- lapply(levels, function(g) summ(x[group %in% g]))
  names(out) <- levels
  out[["Total"]] <- summ(x[group %in% levels])
  out
}

disposition <- function(adsl, gvar, levels, flags, safety_gvar = gvar) {
  d <- adsl[adsl[[gvar]] %in% levels, ]
  g <- d[[gvar]]
  out <- list(subjects = by_group(rep(TRUE, nrow(d)), g, levels))
  if ("RANDDT" %in% names(d) && any(!is.na(d$RANDDT))) out$randomised <- by_group(!is.na(d$RANDDT), g, levels)
  start <- if ("TRTSDT" %in% names(d) && any(!is.na(d$TRTSDT))) d$TRTSDT else d$TRTSDTM
  out$treated <- by_group(!is.na(start), g, levels)
  for (f in names(flags)) {
    own <- if (flags[[f]] == "SAF") safety_gvar else gvar
    out[[paste0("set:", f)]] <- by_group(is_y(d[[f]]) & d[[own]] %in% levels, g, levels)
  }
  for (pair in list(c("EOTSTT", "DCTREAS"), c("EOSSTT", "DCSREAS"))) {
    st <- pair[1]; rs <- pair[2]
    if (st == "EOSSTT" && !("DCSREAS" %in% names(d)) && "DCDECOD" %in% names(d)) rs <- "DCDECOD"
    if (!(st %in% names(d) && any(!is.na(d[[st]]))) && rs %in% names(d) && any(!is.na(d[[rs]]))) {
      # no status: the reason variable's values among all subjects (the pilot's DCDECOD, COMPLETED included)
      for (v in sort(unique(na.omit(d[[rs]])))) out[[paste0(rs, ":", v)]] <- by_group(d[[rs]] %in% v, g, levels)
      out[[paste0(rs, ":(missing)")]] <- by_group(is.na(d[[rs]]), g, levels)
    }
    if (st %in% names(d) && any(!is.na(d[[st]]))) {
      for (v in sort(unique(na.omit(d[[st]])))) out[[paste0(st, ":", v)]] <- by_group(d[[st]] %in% v, g, levels)
      out[[paste0(st, ":(missing)")]] <- by_group(is.na(d[[st]]), g, levels)
      if (rs %in% names(d)) {
        disc <- d[[st]] %in% "DISCONTINUED"
        for (v in sort(unique(na.omit(d[[rs]][disc])))) out[[paste0(rs, ":", v)]] <- by_group(disc & d[[rs]] %in% v, g, levels)
        out[[paste0(rs, ":(missing)")]] <- by_group(disc & is.na(d[[rs]]), g, levels)
      }
    }
  }
  out
}

categories <- function(days, group, levels, cuts = c(30, 90, 180, 365)) {
  labels <- c(paste0("<", cuts[1]), paste0(cuts[-length(cuts)], "-", cuts[-1] - 1), paste0(">=", cuts[length(cuts)]))
  bin <- findInterval(days, cuts)   # 0 .. length(cuts)
  out <- list()
  for (i in seq_along(labels)) out[[labels[i]]] <- by_group(!is.na(days) & bin == i - 1, group, levels)
  out
}

ae_suite <- function(ae, saf, gvar, levels, severity, kind, related_values, duration, discontinued_ids = NULL) {
  # discontinued_ids: the subjects who discontinued due to an AE as ADSL records it, when ADAE has no AEACN
  # ae: TEAE records of safety subjects with column .g (group); duration: per saf subject (named by USUBJID)
  cats <- list(
    any = rep(TRUE, nrow(ae)),
    serious = ae$AESER %in% "Y",
    related = ae$AEREL %in% related_values,
    discontinued = ae$AEACN %in% "DRUG WITHDRAWN",
    fatal = ae$AEOUT %in% "FATAL" | (kind == "ctcae" & suppressWarnings(as.numeric(ae[[severity]])) %in% 5)
  )
  grade <- if (kind == "ctcae") suppressWarnings(as.numeric(ae[[severity]])) else
    match(toupper(ae[[severity]]), c("MILD", "MODERATE", "SEVERE"))
  cats$severe <- !is.na(grade) & grade >= 3
  out <- list(overview = list(), terms = list(), max_grade = list(), max_grade_pt = list(), eair = list())
  for (c in names(cats)) {
    hit <- cats[[c]]
    out$overview[[c]] <- subjects_by(ae$USUBJID[hit], ae$.g[hit], levels)
    if (c == "discontinued" && !is.null(discontinued_ids))
      out$overview[[c]] <- by_group(saf$USUBJID %in% discontinued_ids, saf[[gvar]], levels)
    if (c %in% c("serious", "related", "discontinued", "fatal")) {
      soc <- list(); pt <- list()
      for (s in sort(unique(ae$AEBODSYS[hit]))) soc[[s]] <- subjects_by(ae$USUBJID[hit & ae$AEBODSYS %in% s], ae$.g[hit & ae$AEBODSYS %in% s], levels)
      keys <- unique(ae[hit, c("AEBODSYS", "AEDECOD")])
      for (i in seq_len(nrow(keys))) {
        w <- hit & ae$AEBODSYS %in% keys$AEBODSYS[i] & ae$AEDECOD %in% keys$AEDECOD[i]
        pt[[paste(keys$AEBODSYS[i], keys$AEDECOD[i], sep = "|")]] <- subjects_by(ae$USUBJID[w], ae$.g[w], levels)
      }
      out$terms[[c]] <- list(soc = soc, pt = pt)
    }
  }
  # maximum grade per subject (0 = no grade on any event)
  g0 <- ifelse(is.na(grade), 0, grade)
  top <- tapply(g0, ae$USUBJID, max)
  grp <- tapply(ae$.g, ae$USUBJID, function(x) x[1])
  for (k in sort(unique(top))) out$max_grade[[as.character(k)]] <- by_group(top == k, grp, levels)
  key <- paste(ae$AEBODSYS, ae$AEDECOD, ae$USUBJID, sep = "\r")
  top_pt <- tapply(g0, key, max)
  parts <- do.call(rbind, strsplit(names(top_pt), "\r", fixed = TRUE))
  pt_grp <- saf[[gvar]][match(parts[, 3], saf$USUBJID)]
  term <- paste(parts[, 1], parts[, 2], sep = "|")
  for (t in unique(term)) {
    w <- term == t
    for (k in sort(unique(top_pt[w]))) out$max_grade_pt[[paste(t, k, sep = "|")]] <- by_group(top_pt[w] == k, pt_grp[w], levels)
  }
  # exposure-adjusted incidence: time at risk to the first event, or the duration without one
  onset <- pmax(as.numeric(ae$ASTDY), 1)
  for (c in c("any", "severe", "serious", "related", "discontinued", "fatal")) {
    hit <- cats[[c]]
    first <- tapply(onset[hit], ae$USUBJID[hit], function(x) if (all(is.na(x))) NA_real_ else min(x, na.rm = TRUE))
    had <- saf$USUBJID %in% names(first)
    t <- duration[saf$USUBJID]
    f <- first[saf$USUBJID]
    risk <- ifelse(had, ifelse(is.na(f), t, f), t)
    res <- list()
    for (g in c(levels, "Total")) {
      inside <- if (g == "Total") saf[[gvar]] %in% levels else saf[[gvar]] %in% g
      used <- inside & !is.na(risk)
      py <- sum(risk[used]) / 365.25
      x <- sum(had & used)
      ci <- poisson.test(x, py)$conf.int * 100
      res[[g]] <- list(events = x, patient_years = py, rate = 100 * x / py, lower = ci[1], upper = ci[2])
    }
    out$eair[[c]] <- res
  }
  out
}

deaths <- function(saf, gvar, levels, window = 30, cause = NULL) {
  died <- is_y(saf$DTHFL)
  dth <- if ("DTHDT" %in% names(saf)) day_of(saf$DTHDT) else as.Date(rep(NA_character_, nrow(saf)))
  last <- if ("TRTEDT" %in% names(saf) && any(!is.na(saf$TRTEDT))) day_of(saf$TRTEDT) else day_of(saf$TRTEDTM)
  first <- if ("TRTSDT" %in% names(saf) && any(!is.na(saf$TRTSDT))) day_of(saf$TRTSDT) else day_of(saf$TRTSDTM)
  on <- died & !is.na(dth) & (is.na(last) | dth <= last + window)
  after <- died & !is.na(dth) & !is.na(last) & dth > last + window
  out <- list(all = by_group(died, saf[[gvar]], levels), on_treatment = by_group(on, saf[[gvar]], levels),
              follow_up = by_group(after, saf[[gvar]], levels), causes = list(), days = list())
  if (!is.null(cause)) {
    for (v in sort(unique(na.omit(saf[[cause]][died])))) {
      out$causes[[v]] <- list(all = by_group(died & saf[[cause]] %in% v, saf[[gvar]], levels),
                              on_treatment = by_group(on & saf[[cause]] %in% v, saf[[gvar]], levels),
                              follow_up = by_group(after & saf[[cause]] %in% v, saf[[gvar]], levels))
    }
  }
  delta <- as.numeric(dth - first)
  day <- ifelse(delta >= 0, delta + 1, delta)
  for (i in which(died)) out$days[[saf$USUBJID[i]]] <- day[i]
  out
}

bds <- function(d, saf, levels, params, grades = FALSE) {
  d <- d[d$USUBJID %in% saf$USUBJID & d$PARAMCD %in% params, ]
  d$.g <- saf$TRT01A[match(d$USUBJID, saf$USUBJID)]
  base <- is_y(d$ABLFL)
  post <- is_y(d$ONTRTFL) & !base
  out <- list()
  for (p in params) {
    x <- d[d$PARAMCD == p, ]
    b <- is_y(x$ABLFL); q <- is_y(x$ONTRTFL) & !b
    visits <- list(Baseline = list(value = summ_by(x$AVAL[b], x$.g[b], levels)))
    for (v in unique(x$AVISIT[q])) {
      w <- q & x$AVISIT %in% v
      visits[[v]] <- list(value = summ_by(x$AVAL[w], x$.g[w], levels), change = summ_by(x$CHG[w], x$.g[w], levels))
    }
    ids <- unique(x$USUBJID)
    grp <- saf$TRT01A[match(ids, saf$USUBJID)]
    bn <- x$BNRIND[b][match(ids, x$USUBJID[b])]
    bn[is.na(bn)] <- "(missing)"
    worst <- sapply(ids, function(s) {
      a <- unique(x$ANRIND[q & x$USUBJID == s & !is.na(x$ANRIND)])
      if (!length(a)) return("(missing)")
      ab <- setdiff(a, "NORMAL")
      if (!length(ab)) return("NORMAL")
      ab <- ab[order(match(ab, c("LOW", "HIGH")))]
      paste(ab, collapse = "+")
    })
    shift <- list()
    for (r in unique(bn)) for (cc in unique(worst)) shift[[paste(r, cc, sep = "|")]] <- by_group(bn == r & worst == cc, grp, levels)
    shift[["subjects"]] <- by_group(rep(TRUE, length(ids)), grp, levels)
    res <- list(visits = visits, shift = shift)
    if (grades) {
      gr <- as.numeric(x$ATOXGR); bg <- as.numeric(x$BTOXGR)
      res$grades <- list()
      for (dir in c("high", "low")) {
        s <- if (dir == "high") 1 else -1
        if (!any(gr * s > 0, na.rm = TRUE) && !any(bg * s > 0, na.rm = TRUE)) next
        dg <- pmax(gr * s, 0); db <- pmax(bg * s, 0)
        bgs <- db[b][match(ids, x$USUBJID[b])]
        wg <- sapply(ids, function(u) { v <- dg[q & x$USUBJID == u & !is.na(dg)]; if (length(v)) max(v) else NA_real_ })
        bl <- ifelse(is.na(bgs), "(missing)", as.character(bgs)); wl <- ifelse(is.na(wg), "(missing)", as.character(wg))
        cells <- list()
        for (r in unique(bl)) for (cc in unique(wl)) cells[[paste(r, cc, sep = "|")]] <- by_group(bl == r & wl == cc, grp, levels)
        res$grades[[dir]] <- list(shift = cells,
                                  grade34 = by_group(!is.na(wg) & wg >= 3, grp, levels),
                                  worsened = by_group(!is.na(wg) & wg >= 3 & !(!is.na(bgs) & bgs >= 3), grp, levels),
                                  with_post = by_group(!is.na(wg), grp, levels))
      }
    }
    out[[p]] <- res
  }
  out
}

result <- list()

# ------------------------------------------------------------------------ blinatumomab-salvage
adsl <- read_csv_text("data/blinatumomab-salvage/adsl.csv")
adae <- read_csv_text("data/blinatumomab-salvage/adae.csv")
LV <- c("FIRST", "LATER")
saf <- adsl[is_y(adsl$SAFFL) & adsl$SALVGRP %in% LV, ]
ae <- adae[adae$TRTEMFL %in% "Y" & adae$USUBJID %in% saf$USUBJID, ]
ae$.g <- saf$SALVGRP[match(ae$USUBJID, saf$USUBJID)]
dur <- setNames(as.numeric(saf$TRTDURD), saf$USUBJID)
result[["blinatumomab-salvage"]] <- list(
  disposition = disposition(adsl, "SALVGRP", LV, c(FASFL = "FAS", SAFFL = "SAF")),
  exposure = list(duration = summ_by(as.numeric(saf$TRTDURD), saf$SALVGRP, LV),
                  patient_years = lapply(c(setNames(LV, LV), Total = "Total"), function(g)
                    sum(as.numeric(saf$TRTDURD)[if (g == "Total") TRUE else saf$SALVGRP == g]) / 365.25),
                  categories = categories(as.numeric(saf$TRTDURD), saf$SALVGRP, LV),
                  cycles = summ_by(as.numeric(saf$CYCLES), saf$SALVGRP, LV)),
  ae = ae_suite(ae, saf, "SALVGRP", LV, "AETOXGR", "ctcae", c("Y", "RELATED"), dur),
  deaths = deaths(saf, "SALVGRP", LV)
)

# ------------------------------------------------------------------------ velotrepin-copd
adsl <- read_csv_text("data/velotrepin-copd/adsl.csv")
adae <- read_csv_text("data/velotrepin-copd/adae.csv")
LV <- c("PLACEBO", "VLT100", "VLT300")
saf <- adsl[is_y(adsl$SAFFL) & adsl$TRT01P %in% LV, ]
ae <- adae[adae$TRTEMFL %in% "Y" & adae$USUBJID %in% saf$USUBJID, ]
ae$.g <- saf$TRT01P[match(ae$USUBJID, saf$USUBJID)]
dur <- setNames(as.numeric(saf$TRTDURD), saf$USUBJID)
result[["velotrepin-copd"]] <- list(
  disposition = disposition(adsl, "TRT01P", LV, c(ITTFL = "ITT", SAFFL = "SAF")),
  exposure = list(duration = summ_by(as.numeric(saf$TRTDURD), saf$TRT01P, LV),
                  patient_years = lapply(c(setNames(LV, LV), Total = "Total"), function(g)
                    sum(as.numeric(saf$TRTDURD)[if (g == "Total") TRUE else saf$TRT01P == g]) / 365.25),
                  categories = categories(as.numeric(saf$TRTDURD), saf$TRT01P, LV)),
  ae = ae_suite(ae, saf, "TRT01P", LV, "AESEV", "mild_moderate_severe", c("Y", "RELATED"), dur),
  deaths = deaths(saf, "TRT01P", LV)
)

# ------------------------------------------------------------------------ random-cdisc-data (public)
adsl <- read_pub("adsl"); adae <- read_pub("adae"); adex <- read_pub("adex"); adlb <- read_pub("adlb"); advs <- read_pub("advs")
LV <- c("B: Placebo", "A: Drug X", "C: Combination")
saf <- adsl[is_y(adsl$SAFFL) & adsl$TRT01A %in% LV, ]
ex <- adex[adex$USUBJID %in% saf$USUBJID, ]
dose <- ex[ex$PARAMCD == "DOSE" & !is.na(ex$ASTDTM), ]
start <- tapply(as.numeric(day_of(dose$ASTDTM)), dose$USUBJID, min)
endd <- day_of(dose$AENDTM); endd[is.na(endd)] <- day_of(dose$ASTDTM)[is.na(endd)]
end <- tapply(as.numeric(endd), dose$USUBJID, max)
days <- setNames(as.numeric(end[saf$USUBJID] - start[saf$USUBJID] + 1), saf$USUBJID)
doses <- list()
for (cat in sort(unique(na.omit(ex$PARCAT2)))) {
  for (p in c("TDOSE", "TNDOSE")) {
    w <- ex$PARAMCD == p & ex$PARCAT2 %in% cat
    tot <- tapply(ex$AVAL[w], ex$USUBJID[w], sum)
    x <- as.numeric(tot[saf$USUBJID])
    doses[[paste(p, cat, sep = "|")]] <- summ_by(x, saf$TRT01A, LV)
    if (p == "TDOSE") doses[[paste("intensity", cat, sep = "|")]] <- summ_by(x / (days / 7), saf$TRT01A, LV)
  }
}
ae <- adae[adae$TRTEMFL %in% "Y" & adae$USUBJID %in% saf$USUBJID, ]
ae$.g <- saf$TRT01A[match(ae$USUBJID, saf$USUBJID)]
result[["random-cdisc-data"]] <- list(
  disposition = disposition(adsl, "TRT01P", LV, c(ITTFL = "ITT", SAFFL = "SAF"), safety_gvar = "TRT01A"),
  exposure = list(duration = summ_by(days, saf$TRT01A, LV),
                  patient_years = lapply(c(setNames(LV, LV), Total = "Total"), function(g)
                    sum(days[if (g == "Total") TRUE else saf$TRT01A == g]) / 365.25),
                  categories = categories(days, saf$TRT01A, LV), doses = doses),
  ae = ae_suite(ae, saf, "TRT01A", LV, "AETOXGR", "ctcae", c("Y", "RELATED"), days),
  deaths = deaths(saf, "TRT01A", LV, cause = "DTHCAUS"),
  labs = bds(adlb, saf, LV, c("ALT", "CRP", "IGA"), grades = TRUE),
  vitals = bds(advs, saf, LV, sort(unique(advs$PARAMCD)))
)

pilot <- function(name) blank_na(read.csv(file.path("tests", "reference", "data", paste0("cdiscpilot01_", name, ".csv")),
                                          colClasses = "character", na.strings = ""))
adsl <- pilot("adsl"); adae <- pilot("adae")
LV <- c("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")
saf <- adsl[is_y(adsl$SAFFL) & adsl$TRT01A %in% LV, ]
ae <- adae[adae$TRTEMFL %in% "Y" & adae$USUBJID %in% saf$USUBJID, ]
ae$.g <- saf$TRT01A[match(ae$USUBJID, saf$USUBJID)]
days <- setNames(as.numeric(as.Date(saf$TRTEDT) - as.Date(saf$TRTSDT)) + 1, saf$USUBJID)
result[["cdiscpilot01"]] <- list(
  disposition = disposition(adsl, "TRT01P", LV, c(ITTFL = "ITT", EFFFL = "EFF", SAFFL = "SAF"), safety_gvar = "TRT01A"),
  exposure = list(duration = summ_by(days, saf$TRT01A, LV),
                  patient_years = lapply(c(setNames(LV, LV), Total = "Total"), function(g)
                    sum(days[if (g == "Total") TRUE else saf$TRT01A == g]) / 365.25),
                  categories = categories(days, saf$TRT01A, LV)),
  ae = ae_suite(ae, saf, "TRT01A", LV, "AESEV", "mild_moderate_severe", c("POSSIBLE", "PROBABLE"), days,
                discontinued_ids = adsl$USUBJID[adsl$DCDECOD %in% "ADVERSE EVENT"]),
  deaths = deaths(saf, "TRT01A", LV)
)

result[["_meta"]] <- c(meta("tests/reference/r/safety_suite.R", c(
  "disposition: counts of RANDDT, TRTSDT(M), flags, EOSSTT/EOTSTT values, DCSREAS/DCTREAS among DISCONTINUED",
  "exposure: TRTDURD or ADEX DOSE first ASTDTM to last AENDTM + 1; mean, sd, median, min, max; sum / 365.25; findInterval",
  "TEAE categories by AEBODSYS / AEDECOD: length(unique(USUBJID)); maximum grade: tapply(max)",
  "EAIR: 100 * events / PY, 100 * poisson.test(events, PY)$conf.int; time at risk min(pmax(ASTDY, 1)) or duration",
  "deaths: DTHFL == 'Y'; DTHDT <= last dose + 30 or no last dose: on treatment; DTHCAUS",
  "ADLB/ADVS: ABLFL, ONTRTFL; summaries by AVISIT; BNRIND x worst ANRIND; pmax(+-ATOXGR, 0) shifts, worst >= 3")),
  list(haven_version = as.character(packageVersion("haven")),
       data.table_version = as.character(packageVersion("data.table"))))
write_ref(result, "safety_suite")

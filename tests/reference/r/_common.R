# Shared helpers for the trialpress R reference scripts.
# Sourced by every script; scripts are run from the repo root:
#   Rscript tests/reference/r/<name>.R
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

REF_DIR  <- file.path("tests", "reference")
DATA_DIR <- file.path(REF_DIR, "data")
OUT_DIR  <- file.path(REF_DIR, "expected")
if (!dir.exists(DATA_DIR)) stop("Run from the repo root (tests/reference/data not found)")
dir.create(OUT_DIR, showWarnings = FALSE, recursive = TRUE)

read_ref <- function(name) {
  read.csv(file.path(DATA_DIR, paste0(name, ".csv")), stringsAsFactors = FALSE,
           na.strings = c("NA", ""))
}

# numeric -> plain double; NA/NaN -> NA (JSON null); +/-Inf kept as NA too
# (use inf_str() where the infinity itself is the information)
num <- function(x) {
  x <- as.numeric(unname(x))
  x[!is.finite(x)] <- NA_real_
  x
}
inf_str <- function(x) {
  x <- as.numeric(unname(x))
  ifelse(is.nan(x), "NaN", ifelse(is.na(x), "NA", ifelse(is.infinite(x), ifelse(x > 0, "Inf", "-Inf"), sprintf("%.17g", x))))
}

meta <- function(script, calls) {
  list(
    script = script,
    r_version = R.version.string,
    survival_version = packageDescription("survival")$Version,
    jsonlite_version = packageDescription("jsonlite")$Version,
    generated_utc = format(Sys.time(), "%Y-%m-%dT%H:%M:%SZ", tz = "UTC"),
    calls = calls,
    notes = "Numbers written with 15 significant digits (jsonlite digits=NA); null = NA/not estimable."
  )
}

write_ref <- function(obj, name) {
  path <- file.path(OUT_DIR, paste0(name, ".json"))
  txt <- toJSON(obj, auto_unbox = TRUE, digits = NA, na = "null", null = "null",
                pretty = TRUE)
  writeLines(txt, path, useBytes = TRUE)
  cat("wrote", path, "\n")
}

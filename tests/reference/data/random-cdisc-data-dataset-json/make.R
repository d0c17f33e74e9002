# CDISC Dataset-JSON 1.1 files of datasets of the public package data/random-cdisc-data, for
# tests/test_dataset_json.py: written here in R (haven 2.5.1 reads the XPT files, jsonlite 1.8.4 writes JSON),
# independently of trialpress's reader. Run from the project root:
#   Rscript tests/reference/data/random-cdisc-data-dataset-json/make.R
# adsl.json and adtte.json as one JSON object each (adtte's AVAL as dataType "decimal", which 1.1 writes as
# text to keep its digits), adrs.ndjson as NDJSON (the metadata on the first line, then one record per line).
# Dates as ISO 8601 text (dataType date, datetime; targetDataType integer), numbers with 17 significant digits
# (exactly the XPT's doubles), a missing value as null, text as the XPT holds it ("" for blank).
library(haven)
library(jsonlite)
out <- "tests/reference/data/random-cdisc-data-dataset-json"

column <- function(ds, name, x, decimal) {
  col <- list(itemOID = paste0("IT.", ds, ".", name), name = name,
              label = if (is.null(attr(x, "label"))) name else attr(x, "label"))
  if (inherits(x, "Date")) {
    col <- c(col, dataType = "date", targetDataType = "integer", displayFormat = "DATE9.")
  } else if (inherits(x, "POSIXct")) {
    col <- c(col, dataType = "datetime", targetDataType = "integer", displayFormat = "DATETIME20.")
  } else if (is.character(x)) {
    col <- c(col, dataType = "string", length = max(1L, nchar(x, type = "bytes"), na.rm = TRUE))
  } else if (name %in% decimal) {
    col <- c(col, dataType = "decimal", targetDataType = "decimal")
  } else if (all(is.na(x) | x == round(x))) {
    col <- c(col, dataType = "integer")
  } else {
    col <- c(col, dataType = "double")
  }
  col
}

values <- function(x, name, decimal) {
  if (inherits(x, "Date")) return(ifelse(is.na(x), NA_character_, format(x, "%Y-%m-%d")))
  if (inherits(x, "POSIXct")) return(ifelse(is.na(x), NA_character_, format(x, "%Y-%m-%dT%H:%M:%S", tz = "UTC")))
  if (name %in% decimal) return(ifelse(is.na(x), NA_character_, sprintf("%.17g", x)))
  if (is.numeric(x)) return(as.numeric(x))
  as.character(x)
}

write_dataset <- function(name, ndjson = FALSE, decimal = character()) {
  data <- read_xpt(file.path("data", "random-cdisc-data", paste0(name, ".xpt")))
  ds <- toupper(name)
  columns <- lapply(names(data), function(v) column(ds, v, data[[v]], decimal))
  meta <- list(datasetJSONCreationDateTime = "2026-12-07T00:00:00", datasetJSONVersion = "1.1.0",
               fileOID = paste0("trialpress.tests.random-cdisc-data.", ds), originator = "trialpress tests (make.R)",
               sourceSystem = list(name = "R jsonlite", version = as.character(packageVersion("jsonlite"))),
               studyOID = "AB12345", metaDataVersionOID = "MDV.1", itemGroupOID = paste0("IG.", ds),
               records = nrow(data), name = ds, label = if (is.null(attr(data, "label"))) ds else attr(data, "label"),
               columns = columns)
  typed <- as.data.frame(lapply(setNames(names(data), names(data)), function(v) values(data[[v]], v, decimal)),
                         stringsAsFactors = FALSE, optional = TRUE)
  head <- toJSON(meta, auto_unbox = TRUE, digits = NA)
  if (ndjson) {
    rows <- vapply(seq_len(nrow(typed)), function(i)
      as.character(toJSON(unname(as.list(typed[i, , drop = FALSE])), auto_unbox = TRUE, na = "null",
                          digits = I(17))), "")
    writeLines(c(head, rows), file.path(out, paste0(name, ".ndjson")), useBytes = TRUE)
  } else {
    rows <- toJSON(typed, dataframe = "values", na = "null", digits = I(17))
    text <- paste0(sub("}$", "", head), ",\"rows\":", rows, "}")
    writeLines(text, file.path(out, paste0(name, ".json")), useBytes = TRUE)
  }
}

write_dataset("adsl")
write_dataset("adtte", decimal = "AVAL")
write_dataset("adrs", ndjson = TRUE)

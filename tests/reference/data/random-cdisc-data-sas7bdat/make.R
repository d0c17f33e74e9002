# SAS datasets (sas7bdat) of four datasets of the public package data/random-cdisc-data, for
# tests/test_sas7bdat.py. Written by haven::write_sas (haven 2.5.1, ReadStat's sas7bdat writer) from the XPT
# files, which keep their labels and formats (DATE9., DATETIME20.). Run from the project root:
#   Rscript tests/reference/data/random-cdisc-data-sas7bdat/make.R
library(haven)
out <- "tests/reference/data/random-cdisc-data-sas7bdat"
for (name in c("adsl", "adtte", "adrs", "adae")) {
  data <- read_xpt(file.path("data", "random-cdisc-data", paste0(name, ".xpt")))
  suppressWarnings(write_sas(data, file.path(out, paste0(name, ".sas7bdat"))))  # write_sas is marked deprecated
}

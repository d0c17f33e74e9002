"""The version store seen from outside a render: find, list, verify and diff version folders.

* `find`    — `resolve`: a folder or a version id (or a unique prefix of one) → a version folder;
* `listing` — `list_versions`: every version of a study (date, data, plan hash, quality, integrity);
* `verify`  — integrity, inputs of the current project, byte-for-byte recomputation;
* `diff`    — the ARD numbers and abstract sentences (recorded in the manifests) that changed;
* `show`    — all of it for the terminal (readable at 80 columns, data strings escaped);
* `page`    — the diff as an HTML page.

Everything they read comes from `manifest.json` and the ARD (`store` writes and checks both).
"""

from trialpress.store.integrity import integrity_problems
from trialpress.versions.diff import DiffResult, NumberChange, SentenceChange, diff, fmt_change, fmt_number, row_label
from trialpress.versions.find import default_report_root, resolve
from trialpress.versions.listing import VersionInfo, list_versions
from trialpress.versions.page import diff_html, write_diff_html
from trialpress.versions.show import print_diff, print_list, print_verify
from trialpress.versions.verify import Check, VerifyResult, find_project, input_problems, verify

__all__ = ["Check", "DiffResult", "NumberChange", "SentenceChange", "VerifyResult", "VersionInfo",
           "default_report_root", "diff", "diff_html", "find_project", "fmt_change", "fmt_number", "input_problems",
           "integrity_problems", "list_versions", "print_diff", "print_list", "print_verify", "resolve", "row_label",
           "verify", "write_diff_html"]

"""The version store: everything that turns one render into an immutable, verifiable version folder.

One package, outside `report/` (which only builds documents), used by `pipeline` (writing) and `versions`
(reading: list, verify, diff):

* `hashing`  — the inputs of a render and their SHA-256 (data, plan, templates, engine, packages, renderer,
  formats, report date, figure style): the version id derives from them alone, before any work;
* `style`    — what can still change the figures' bytes besides the code: the font files matplotlib resolves;
* `folders`  — where versions live, whether a path is free, occupied, a version or inside one;
* `staging`  — building a version in a hidden staging folder and publishing it with one atomic rename;
* `manifest` — `manifest.json`: the hashed content, the provenance, reading with every field checked;
* `abstract` — the abstract's plain sentences, taken once from the rendered document and recorded in the
  manifest (what `diff` compares);
* `cache`    — reusable work (ARD, gate verdict, figures) keyed by the hashes of what it depends on,
  outside the version folders.
"""

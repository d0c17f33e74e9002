"""The text encoding of data files that do not record one (SAS XPT, CSV).

`auto` reads UTF-8, and a file whose text is not valid UTF-8 as Windows-1252: SAS's wlatin1, the session
encoding of SAS on Windows in western locales, which writes most non-UTF-8 ADaM files ('µmol/L', '°C',
accented names); bytes Windows-1252 leaves undefined fall to ISO 8859-1 (latin1), which decodes any byte. The
report's methods name every file read so; a plan's `data.encoding` names the codec when it is another
(latin2, shift_jis …). SAS datasets (sas7bdat) and Parquet record their encoding and are read by it.
"""

from __future__ import annotations

AUTO = "auto"
NOT_UTF8 = ("cp1252", "iso8859-1")   # tried in order when `auto` text is not UTF-8 (Python's codec names)

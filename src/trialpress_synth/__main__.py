"""``python -m trialpress_synth <study> [--out FOLDER] [--seed N]``: write a bundled study's synthetic data
(the same as ``trialpress synth``, without the engine's command line)."""

from __future__ import annotations

import argparse
from pathlib import Path

from trialpress_synth import GENERATORS, write_study


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trialpress_synth", description=__doc__)
    parser.add_argument("study", choices=sorted(GENERATORS))
    parser.add_argument("--out", type=Path, default=None, help="folder (default: data/<study>)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the study's own)")
    args = parser.parse_args(argv)
    for path in write_study(args.study, args.out or Path("data") / args.study, args.seed):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

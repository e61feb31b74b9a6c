"""Print the top functions by own CPU time of cProfile dumps written by ``--profile``.

python -m benchmarks.profile_table profiles/hubspot-10000-0-full.prof [--top 10]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.common import profile_table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dumps", type=Path, nargs="+")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args(argv)
    for dump in args.dumps:
        print(f"### {dump.name}\n\n{profile_table(dump, args.top)}\n")


if __name__ == "__main__":
    main()

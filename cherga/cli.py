"""The ``cherga`` command. Each part registers its own subcommands, so this file only assembles them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cherga.errors import ChergaError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cherga", description="cherga (черга): the electronic queue of a centre of administrative services"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from cherga import engine_cli

    engine_cli.register(sub)
    try:
        from cherga.sim import cli as sim_cli
    except ImportError:  # the planner's extras are not installed
        pass
    else:
        sim_cli.register(sub)
    try:
        from cherga.displays import cli as displays_cli
    except ImportError:  # the service's extras are not installed
        pass
    else:
        displays_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.run(args)
    except ChergaError as exc:
        print(f"cherga: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(code or 0)


if __name__ == "__main__":
    raise SystemExit(main())

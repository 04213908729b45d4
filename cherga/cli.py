"""The ``cherga`` command. Each part registers its own subcommands, so this file only assembles them."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from redis.exceptions import RedisError

from cherga.errors import ChergaError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cherga", description="cherga (черга): the electronic queue of a centre of administrative services"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parts = ("cherga.engine_cli", "cherga.displays.cli", "cherga.sim.cli", "cherga.reports.cli", "cherga.journal.cli")
    for name in parts:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and exc.name.startswith("cherga"):
                continue  # that part is not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.run(args)
    except ChergaError as exc:
        print(f"cherga: {exc.message}", file=sys.stderr)
        return 2
    except RedisError as exc:  # Redis unreachable at start (a --redis command): say so, no traceback
        from cherga.redis_url import explain

        print(f"cherga: cannot use Redis: {explain(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(code or 0)


if __name__ == "__main__":
    raise SystemExit(main())

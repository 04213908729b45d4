"""``cherga serve``, ``cherga token issue`` and ``cherga demo``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cherga.engine.loader import load_network


class _Defaults(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` shows every option's default: argparse's own, or the words the option's help already has for it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        return text if "(default" in text else super()._get_help_string(action)


SERVE_EPILOG = ("On the office network (kiosks, boards and desks on other machines): cherga serve --host 0.0.0.0 "
                "--data /var/lib/cherga; the pages are then at http://THIS-MACHINE:8080/... (systemd unit, container "
                "and backups: docs/deploy.md)")


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the service: API, boards and pages", formatter_class=_Defaults,
                       epilog=SERVE_EPILOG)
    _serve_args(p)
    p.set_defaults(run=_serve)

    p = sub.add_parser("token", help="device tokens")
    tsub = p.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    t = tsub.add_parser("issue", help="mint a device token and print it, alone, on standard output")
    t.add_argument("--data", type=Path, default=None, help="the service's data directory")
    t.add_argument("--redis", default=None, metavar="URL", help="the Redis of a --redis region")
    t.add_argument("--config", type=Path, default=None)
    t.add_argument("--role", required=True, choices=["kiosk", "desk", "head", "planner", "alerts", "network",
                                                       "board", "rating"])
    t.add_argument("--office", default=None)
    t.add_argument("--desk", default=None)
    t.set_defaults(run=_token_issue)

    p = sub.add_parser("staff", help="staff accounts (the first head, and more)")
    ssub = p.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    t = ssub.add_parser("add", help="add an account; its password is read as one line on standard input")
    t.add_argument("--data", type=Path, default=None, help="the service's data directory")
    t.add_argument("--redis", default=None, metavar="URL", help="the Redis of a --redis region")
    t.add_argument("--config", type=Path, default=None)
    t.add_argument("--login", required=True)
    t.add_argument("--role", required=True, choices=["administrator", "head", "planner", "network"])
    t.add_argument("--office", default=None, help="the office (administrator and head; a planner's managing one)")
    t.set_defaults(run=_staff_add)

    p = sub.add_parser("alert", help="an air-raid alert (on) or the all-clear (off) at an office or a region's offices")
    p.add_argument("state", choices=["on", "off"])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--office", default=None)
    where.add_argument("--region", default=None)
    p.add_argument("--resume-after-min", type=float, default=None,
                   help="with off: minutes before service resumes (default: the office's configured delay)")
    p.add_argument("--data", type=Path, default=None, help="the running service's data directory")
    p.add_argument("--redis", default=None, metavar="URL", help="the Redis of a --redis region")
    p.add_argument("--url", default="http://127.0.0.1:8080", help="the running service (any process of a region)")
    p.add_argument("--config", type=Path, default=None)
    p.set_defaults(run=_alert)

    p = sub.add_parser("demo", help="serve, with simulated visitors and desks driving it so the boards move",
                       formatter_class=_Defaults)
    _serve_args(p)
    p.add_argument("--speed", type=float, default=10.0, help="how many times faster than life the visitors come")
    p.set_defaults(run=_demo)


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=None,
                   help="directory with services.toml and network.toml (default: the bundled demo network)")
    p.add_argument("--data", type=Path, default=Path("cherga-data"),
                   help="where the journal, tokens and accounts live (back it up with cherga backup)")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on: 0.0.0.0 serves the office network (every interface)")
    p.add_argument("--port", type=int, default=8080, help="the TCP port")
    p.add_argument("--always-open", action="store_true", help="ignore the offices' opening hours")
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="another origin whose pages may open the websockets (repeatable) (default: none but this "
                        "machine's own addresses; with --host 0.0.0.0 all of them)")
    p.add_argument("--kiosk-per-minute", type=float, default=30.0, help="tickets a kiosk may issue per minute")
    p.add_argument("--kiosk-burst", type=int, default=10, help="tickets a kiosk may issue at once")
    p.add_argument("--redis", default=None, metavar="URL",
                   help="run as one of many processes over this Redis (journal, leases, fan-out; see docs/redis.md) "
                        "(default: none, the SQLite journal in --data)")
    p.add_argument("--advertise", default=None, metavar="URL",
                   help="with --redis: the address other processes use to reach this one (default: http://HOST:PORT)")
    p.add_argument("--lease-ms", type=int, default=3000,
                   help="with --redis: how long an office's owner may be silent before another process takes over")
    p.add_argument("--time-offset", type=float, default=0.0, metavar="SECONDS",
                   help="run the service's clock shifted by this many seconds (training, demos, tests); "
                        "the journal never goes back in time, so only ever increase it for the same data")
    p.add_argument("--plan", action="append", default=[], type=Path, metavar="PLAN",
                   help="a staffing plan from 'cherga sim staff' (repeatable, one per office): the head's "
                        "dashboard compares the desks open with the desks planned for the hour (default: none)")


def _config(args: argparse.Namespace) -> Any:
    from cherga.displays import lan
    from cherga.displays.app import ServiceConfig

    host = args.host
    origins = lan.origins(host, args.port, args.allow_origin)  # with 0.0.0.0: every address of this machine
    from cherga.displays.schedule import load_plans

    network = load_network(args.config)
    return ServiceConfig(
        network=network, data_dir=args.data, enforce_hours=not args.always_open,
        allowed_origins=origins, kiosk_per_minute=args.kiosk_per_minute, kiosk_burst=args.kiosk_burst,
        plans=load_plans(network, args.plan), redis_url=args.redis,
        advertise=args.advertise or f"http://{host}:{args.port}", lease_ms=args.lease_ms,
        time_offset_s=args.time_offset,
    )


def _announce(cfg: Any, host: str, port: int) -> None:
    from cherga.displays.auth import RedisTokenStore, Role, TokenStore
    from cherga.displays.lan import shown_host
    from cherga.engine import COMPILED
    from cherga.journal.redis import redacted

    base = f"http://{shown_host(host)}:{port}"  # 0.0.0.0 is no address a screen can open; the LAN one is
    net = cfg.network
    shown = f" (one of the processes on {redacted(cfg.redis_url)})" if cfg.redis_url else ""  # never the password
    print(f"cherga: {net.name_uk} — {base}" + shown, flush=True)
    store = RedisTokenStore(cfg.redis_url) if cfg.redis_url else TokenStore(cfg.data_dir)
    try:
        for office in net.offices.values():
            print(f"  {office.name_uk} ({office.id})")
            for page in ("board", "kiosk", "head", "ratings", "book"):
                print(f"    {page:<8} {base}/{page}/{office.id}")
            for desk in office.desks:
                print(f"    desk {desk.number:<3} {base}/desk/{desk.id}   display {base}/display/{desk.id}")
        print(f"  network ratings {base}/ratings/network   API {base}/docs   {base}/openapi.json")
        _first_head(cfg, base, [o for o in net.offices if not store.has_role(Role.HEAD, o)])
        print("  engine: " + ("compiled (mypyc)" if COMPILED else
                              "plain Python (not compiled: see README, 'Two commands')"), flush=True)
    finally:
        store.close()


def _first_head(cfg: Any, base: str, no_head_token: list[str]) -> None:
    """On a first start (an office with no head account and no head token), how to make the first head and pair the
    screens: no tokens to copy (issue 14.2); ``cherga token issue`` still mints one for a script."""
    from cherga.displays.accounts import RedisStaffStore, StaffRole, StaffStore

    staff = RedisStaffStore(cfg.redis_url) if cfg.redis_url else StaffStore(cfg.data_dir)
    try:
        heads = {a.office for a in staff.all() if a.role is StaffRole.HEAD and a.active}
    finally:
        staff.close()
    missing = [o for o in no_head_token if o not in heads]
    if not missing:
        return
    from cherga.journal.redis import redacted

    where = f"--redis {redacted(cfg.redis_url)}" if cfg.redis_url else f"--data {cfg.data_dir}"  # the password: ***
    print(f"  first start: {', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no head yet. Make one "
          "(the password is read from standard input):", flush=True)
    print(f"    cherga staff add {where} --login LOGIN --role head --office {missing[0]}")
    print(f"  then sign in at {base}/signin, open {base}/head/{missing[0]} and, under 'Пристрої / Devices', approve "
          "the 6-character code each kiosk, board, desk console or tablet shows when its page is first opened.",
          flush=True)


def _run(cfg: Any, host: str, port: int, extra: Any = None) -> int:
    import uvicorn

    from cherga.displays.app import create_app

    app = create_app(cfg)
    if extra is not None:
        extra(app)
    _announce(cfg, host, port)
    uvicorn.run(
        # websockets-sansio: uvicorn's legacy "websockets" protocol is deprecated, and its keepalive ping waits behind
        # a send blocked by a board that stopped reading, so such a board is never let go; sans-I/O pings on time.
        # No permessage-deflate: board messages are 50-400 bytes; zlib per board costs more CPU than it saves.
        app, host=host, port=port, ws="websockets-sansio", ws_per_message_deflate=False, ws_max_size=65536,
        log_level="warning", lifespan="on", timeout_graceful_shutdown=5,
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    return _run(_config(args), args.host, args.port)


def _demo(args: argparse.Namespace) -> int:
    from cherga.displays.demo import attach_demo

    cfg = _config(args)
    cfg.enforce_hours = False
    base = f"http://{args.host}:{args.port}"
    return _run(cfg, args.host, args.port, extra=lambda app: attach_demo(app, speed=args.speed, base_url=base))


def _alert(args: argparse.Namespace) -> int:
    """Through the running service's HTTP API, not the journal: the service is the office's only writer (a second
    writer would fork its seq), its boards hear the alert at once, and with --redis any process relays the call to the
    office's owner. The command line acts with a network token minted in the service's token store (--data or
    --redis, as ``cherga token issue``) and says it is the command line (the source recorded is ``cli``)."""
    import httpx

    from cherga.displays.auth import RedisTokenStore, TokenStore

    if args.redis is not None and args.data is not None:
        print("cherga: give --data or --redis, not both", file=sys.stderr)
        return 2
    net = load_network(args.config)
    store = RedisTokenStore(args.redis) if args.redis else TokenStore(args.data or Path("cherga-data"))
    try:
        token = store.issue(net, "network")
    finally:
        store.close()
    path = f"/api/v1/offices/{args.office}/alert" if args.office else f"/api/v1/regions/{args.region}/alert"
    body: dict[str, Any] = {"active": args.state == "on"}
    if args.resume_after_min is not None:
        body["resume_after_min"] = args.resume_after_min
    try:
        r = httpx.post(args.url.rstrip("/") + path, json=body, timeout=30,
                       headers={"Authorization": f"Bearer {token}", "X-Cherga-Source": "cli"})
    except httpx.TransportError as exc:
        print(f"cherga: the service at {args.url} does not answer ({exc}); is 'cherga serve' running?",
              file=sys.stderr)
        return 1
    if r.status_code != 200:
        print(f"cherga: {r.json().get('error', {}).get('message', r.text)}", file=sys.stderr)
        return 1
    answers = r.json() if isinstance(r.json(), list) else [r.json()]
    for a in answers:
        state = "alert on" if a["active"] else f"all-clear, service resumes at {a['resumes_at']}"
        print(f"{a['office']}: {state}")
    return 0


def _token_issue(args: argparse.Namespace) -> int:
    from cherga.displays.auth import RedisTokenStore, TokenStore

    if args.redis is not None and args.data is not None:
        print("cherga: give --data or --redis, not both", file=sys.stderr)
        return 2
    net = load_network(args.config)
    store = RedisTokenStore(args.redis) if args.redis else TokenStore(args.data or Path("cherga-data"))
    try:
        print(store.issue(net, args.role, office=args.office, desk=args.desk))
    finally:
        store.close()
    return 0


def _staff_add(args: argparse.Namespace) -> int:
    """The password is one line of standard input (never an argument: those show in ``ps`` and shell history)."""
    from cherga.displays.accounts import RedisStaffStore, StaffStore
    from cherga.displays.audit import AuditStore, RedisAuditStore
    from cherga.errors import ChergaError

    if args.redis is not None and args.data is not None:
        print("cherga: give --data or --redis, not both", file=sys.stderr)
        return 2
    if sys.stdin.isatty():  # typed by hand: not echoed (the prompt goes to the terminal, not standard output)
        import getpass

        password = getpass.getpass("password for the new account: ")
    else:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
    net = load_network(args.config)
    data = args.data or Path("cherga-data")
    store = RedisStaffStore(args.redis) if args.redis else StaffStore(data)
    try:
        a = store.add(net, args.login, args.role, password, office=args.office)
    except ChergaError as exc:
        print(f"cherga: {exc.message}", file=sys.stderr)
        return 1
    finally:
        store.close()
    trail = RedisAuditStore(args.redis) if args.redis else AuditStore(data)
    try:
        trail.record(a.office, "cli", "operator", None, "staff.add", f"{a.login} ({a.role})")
    finally:
        trail.close()
    return 0

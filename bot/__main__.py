"""`python -m bot …`: run the bot, manage the database, load demo data, grant roles."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.config import ConfigError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="apply migrations and run the bot (web chat page, Telegram)")
    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?", help="target revision (default: head / base)")
    demo = sub.add_parser(
        "demo-data",
        help="load a living demo district: requests, volunteers, shifts, projects, records "
        "(safe to run twice)",
    )
    demo.add_argument(
        "--places-only",
        action="store_true",
        help="only the places, organisations and people, without any activity",
    )
    sub.add_parser("i18n-compile", help="compile the translation catalogs")
    qr = sub.add_parser("wechat-qr", help="a WeChat parameter QR code for a deep-link payload")
    qr.add_argument("payload", help="the /start payload, e.g. a check-in or invitation code")
    qr.add_argument("--permanent", action="store_true", help="QR_LIMIT_STR_SCENE (no expiry)")
    admin = sub.add_parser("admin", help="roles and people, from the command line")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    grant = admin_sub.add_parser("grant", help="grant a role (the first admin comes in this way)")
    who = grant.add_mutually_exclusive_group(required=True)
    who.add_argument("--person", type=int, help="the person's number (see `admin people`)")
    who.add_argument("--telegram-id", type=int, help="a Telegram user id (created if new)")
    who.add_argument(
        "--code", help="a code the person got in chat with /link (on the web page or Telegram)"
    )
    grant.add_argument("--role", required=True, help="e.g. district_admin, community_worker")
    scope = grant.add_mutually_exclusive_group(required=True)
    scope.add_argument("--district", type=int)
    scope.add_argument("--street", type=int)
    scope.add_argument("--community", type=int)
    grant.add_argument("--organisation", type=int, help="for org_member / org_admin")
    grant.add_argument("--certified", action="store_true", help="social worker holds 社工证")
    deadlines = admin_sub.add_parser(
        "set-deadlines", help="hours a community has to answer a need, per urgency"
    )
    deadlines.add_argument("--community", type=int, required=True)
    deadlines.add_argument("--urgent", type=int, help="default 24")
    deadlines.add_argument("--normal", type=int, help="default 72")
    deadlines.add_argument("--can-wait", type=int, help="default 168")
    duty = admin_sub.add_parser(
        "set-duty-phone",
        help="the community's duty phone (值班电话), shown with 120/119/110 in an emergency",
    )
    duty.add_argument("--community", type=int, required=True)
    duty_value = duty.add_mutually_exclusive_group(required=True)
    duty_value.add_argument("--phone", help="e.g. 023-68123456 or 13800000000")
    duty_value.add_argument("--clear", action="store_true", help="remove the duty phone")
    revoke = admin_sub.add_parser("revoke", help="revoke a role grant by its number")
    revoke.add_argument("grant_id", type=int)
    admin_sub.add_parser("people", help="list people with their numbers and roles")
    admin_sub.add_parser("places", help="list districts, streets and communities with numbers")
    places = admin_sub.add_parser(
        "import-places", help="create or update districts, streets and communities from a CSV file"
    )
    places.add_argument("file", help="CSV with a header row; see docs/places-example.csv")
    site = admin_sub.add_parser(
        "mark-site", help="name a community a Five-Society Linkage demonstration site (示范点)"
    )
    site.add_argument("--community", type=int, required=True)
    site.add_argument("--year", type=int, help="the year it was named (omit to unmark)")
    sw_place = admin_sub.add_parser(
        "sw-place",
        help="open a social-work place: the district's centre, a street's station (社工站) or a "
        "community's room (社工室)",
    )
    sw_place.add_argument("--level", choices=["centre", "station", "room"], required=True)
    sw_place.add_argument(
        "--unit", type=int, required=True, help="the district, street or community number"
    )
    sw_place.add_argument("--name", required=True)
    sw_place.add_argument("--address", default="")
    sw_place.add_argument("--hours", default="", help="opening hours, e.g. 周一至周五 9:00-17:00")
    sw_staff = admin_sub.add_parser("sw-staff", help="add a person to a social-work place's staff")
    sw_staff.add_argument("--place", type=int, required=True)
    sw_staff.add_argument("--person", type=int, required=True, help="see `admin people`")
    station = admin_sub.add_parser(
        "mark-station", help="mark a venue resource as its community's volunteer service station"
    )
    station.add_argument("--resource", type=int, required=True)
    station.add_argument("--off", action="store_true", help="unmark it")
    reencrypt = admin_sub.add_parser(
        "reencrypt",
        help="re-encrypt stored ID numbers with ID_CIPHER and the newest ID_KEYS key",
    )
    reencrypt.add_argument("--batch", type=int, default=200, help="rows per transaction")
    wecom = sub.add_parser("wecom", help="WeCom group robots (企业微信群机器人) for alerts")
    wecom_sub = wecom.add_subparsers(dest="wecom_command", required=True)
    place_help = (
        "community:<number>, street:<number> (see `admin places`), or a name path "
        "'<street>' / '<street>/<community>'"
    )
    set_robot = wecom_sub.add_parser("set-robot", help="set the robot of a community or street")
    set_robot.add_argument("place", help=place_help)
    set_robot.add_argument("url", help="the robot's webhook URL (…/cgi-bin/webhook/send?key=…)")
    clear_robot = wecom_sub.add_parser("clear-robot", help="remove a place's robot")
    clear_robot.add_argument("place", help=place_help)
    wecom_sub.add_parser("list", help="list the robots (the key's last 4 characters only)")
    api = sub.add_parser("api", help="apps of the HTTP API (docs/api.md)")
    api_sub = api.add_subparsers(dest="api_command", required=True)
    register = api_sub.add_parser(
        "register-app", help="register a city app: prints its client id and secret once"
    )
    register.add_argument("--name", required=True, help="e.g. 渝快社区")
    register.add_argument(
        "--scopes", required=True, help="comma-separated: needs:write,needs:read,webhooks"
    )
    area = register.add_mutually_exclusive_group(required=True)
    area.add_argument("--district", type=int, help="the app's area (see `admin places`)")
    area.add_argument("--street", type=int)
    area.add_argument("--community", type=int)
    api_sub.add_parser("list-apps", help="list the registered apps")
    revoke_app = api_sub.add_parser("revoke-app", help="revoke an app: its tokens stop working")
    revoke_app.add_argument("client_id")
    deliveries = api_sub.add_parser(
        "deliveries", help="an app's newest webhook deliveries: state, attempts, status, next try"
    )
    deliveries.add_argument("client_id")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Alembic and aiogram's per-update lines drown the bot's own at INFO.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # An outage must not flood the log: the same error is written once a minute with a count.
    from bot import logs
    from storage.db import is_outage

    logs.install(is_outage=is_outage)
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    from bot import cli

    try:
        return asyncio.run(cli.dispatch(args, settings))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The commands behind `python -m bot` (kept apart so that --help answers fast)."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from bot.config import Settings
from bot.domain.enums import Channel, CommunityKind, Role, ScopeLevel
from bot.domain.errors import DomainError
from bot.domain.principal import Principal
from bot.domain.social_work import ServiceLevel
from bot.services import (
    alerts,
    api_clients,
    demo,
    demo_activity,
    people,
    places,
    privacy,
    resources,
    roles,
    social_work,
    webhooks,
)
from bot.services.crypto import PersonalDataCipher
from storage import changes, migrate
from storage.db import make_engine, make_session_factory
from storage.uow import UnitOfWork


async def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        from bot.app import run

        await run(settings)
        return 0
    if args.command == "db":
        return await _db(args, settings)
    if args.command == "i18n-compile":
        from bot.i18n import compile_catalogs

        for path in compile_catalogs():
            print(f"compiled {path}")
        return 0
    if args.command == "wechat-qr":
        return await _wechat_qr(args, settings)
    await migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        # A grant (or any change of someone) is announced to the running bot processes.
        async with changes.announced(settings.redis_url, database_url=settings.database_url):
            uow = UnitOfWork(make_session_factory(engine))
            if args.command == "demo-data":
                return await _demo(uow, settings, places_only=args.places_only)
            if args.command == "wecom":
                return await _wecom(args, uow, settings)
            if args.command == "api":
                return await _api(args, uow)
            return await _admin(args, uow, settings)
    except DomainError as error:
        print(f"Refused: {error}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()


async def _db(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "upgrade":
        await migrate.upgrade(settings.database_url, args.revision or "head")
        print("Database is up to date.")
    elif args.action == "downgrade":
        await migrate.downgrade(settings.database_url, args.revision or "base")
        print(f"Database downgraded to {args.revision or 'base'}.")
    else:
        print(await migrate.current(settings.database_url) or "(empty database)")
    return 0


async def _demo(uow: UnitOfWork, settings: Settings, *, places_only: bool = False) -> int:
    summary = await demo.load_demo(uow)
    if not summary.created:
        print("The demo district is already there.")
    else:
        print(
            f"Loaded {summary.districts} district, {summary.streets} streets, "
            f"{summary.communities} communities, {summary.organisations} organisations, "
            f"{summary.people} people."
        )
    if places_only:
        return 0
    from bot.app import secret_key

    communities, person_ids = await demo.demo_names(uow)
    activity = await demo_activity.load_activity(
        uow,
        PersonalDataCipher(secret_key(settings)),
        communities=communities,
        person_ids=person_ids,
        tz=settings.tz,
        points_per_hour=settings.points_per_hour,
    )
    if not activity.created:
        print("Its activity is already there; nothing changed.")
    else:
        print(
            f"Added {activity.volunteers} verified volunteers, {activity.needs} requests, "
            f"{activity.shifts} shifts next week and {activity.records} confirmed service records."
        )
    return 0


async def _social_work_place(args: argparse.Namespace, uow: UnitOfWork, settings: Settings) -> int:
    operator = Principal(0, "en", is_superadmin=True)
    if args.admin_command == "sw-place":
        view = await social_work.open_place(
            uow,
            operator,
            level=ServiceLevel(args.level),
            unit_id=args.unit,
            name=args.name,
            address=args.address,
            opening_hours=args.hours,
            tz=settings.tz,
        )
    else:
        view = await social_work.add_staff(
            uow, operator, place_id=args.place, person_id=args.person, tz=settings.tz
        )
    print(
        f"place {view.id} {view.name} ({view.level.value}), staff: {', '.join(view.staff) or '-'}"
    )
    return 0


async def _admin(args: argparse.Namespace, uow: UnitOfWork, settings: Settings) -> int:
    if args.admin_command == "people":
        for p in await people.directory(uow):
            print(
                f"{p.person_id:>6}  {p.display_name:<16} community={p.community_id} "
                f"roles={','.join(p.roles) or '-'} channels={','.join(p.channels) or '-'}"
            )
        return 0
    if args.admin_command == "places":
        for c in await places.all_communities(uow):
            print(
                f"district {c.district.id} {c.district.name} / street {c.street.id} "
                f"{c.street.name} / community {c.id} {c.name} ({c.kind.value}, {c.code})"
                + (f" duty phone {c.duty_phone}" if c.duty_phone else "")
            )
        return 0
    if args.admin_command == "mark-site":
        site = await places.mark_demonstration_site(
            uow, community_id=args.community, year=args.year
        )
        print(
            f"{site.name}: demonstration site of {args.year}."
            if args.year
            else f"{site.name}: not a demonstration site."
        )
        return 0
    if args.admin_command in ("sw-place", "sw-staff"):
        return await _social_work_place(args, uow, settings)
    if args.admin_command == "mark-station":
        title = await resources.mark_station(uow, resource_id=args.resource, station=not args.off)
        print(f"{title}: {'not ' if args.off else ''}the volunteer service station.")
        return 0
    if args.admin_command == "set-duty-phone":
        community = await places.set_duty_phone(
            uow, community_id=args.community, phone=None if args.clear else args.phone
        )
        print(
            f"Duty phone of {community.name}: {community.duty_phone}."
            if community.duty_phone
            else f"{community.name} has no duty phone now."
        )
        return 0
    if args.admin_command == "set-deadlines":
        community = await places.set_due_hours(
            uow,
            community_id=args.community,
            urgent=args.urgent,
            normal=args.normal,
            can_wait=args.can_wait,
        )
        print(
            f"Deadlines of {community.name} set (hours): urgent={args.urgent or 'default'}, "
            f"normal={args.normal or 'default'}, can wait={args.can_wait or 'default'}."
        )
        return 0
    if args.admin_command == "reencrypt":
        return await _reencrypt(uow, settings, batch=args.batch)
    if args.admin_command == "import-places":
        return await _import_places(uow, Path(args.file))
    if args.admin_command == "revoke":
        view = await roles.revoke_role(uow, roles.SYSTEM, grant_id=args.grant_id)
        print(f"Revoked grant {view.id}: {view.role.value} of {view.scope.name}.")
        return 0
    try:
        role = Role(args.role)
    except ValueError:
        print(f"Unknown role {args.role!r}; one of: {', '.join(r.value for r in Role)}")
        return 2
    level, scope_id = _scope(args)
    person_id = args.person
    if args.telegram_id is not None:
        person_id = await people.person_for_account(
            uow, channel=Channel.TELEGRAM, external_id=str(args.telegram_id)
        )
    elif getattr(args, "code", None):
        person_id = await people.person_for_link_code(uow, code=args.code)
    view = await roles.grant_role(
        uow,
        roles.SYSTEM,
        person_id=person_id,
        role=role,
        level=level,
        scope_id=scope_id,
        organisation_id=args.organisation,
        certified=args.certified,
    )
    print(
        f"Granted {view.role.value} of {view.scope.name} to person {person_id} (grant {view.id})."
    )
    return 0


async def _api(args: argparse.Namespace, uow: UnitOfWork) -> int:
    if args.api_command == "register-app":
        level, scope_id = _scope(args)
        scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
        registered = await api_clients.register(
            uow, name=args.name, scopes=scopes, area_level=level, area_id=scope_id
        )
        print(f"Registered {registered.client.name} ({level.value} {scope_id}).")
        print(f"client_id:     {registered.client.client_id}")
        print(f"client_secret: {registered.secret}")
        print("The secret is shown only now; it is stored hashed.")
        return 0
    if args.api_command == "list-apps":
        for c in await api_clients.all_clients(uow):
            state = f"revoked {c.revoked_at:%Y-%m-%d}" if c.revoked_at else "active"
            print(
                f"{c.client_id}  {c.name:<20} {c.area_level.value} {c.area_id} "
                f"scopes={','.join(sorted(c.scopes))} {state}"
            )
        return 0
    if args.api_command == "deliveries":
        return await _deliveries(args.client_id, uow)
    view = await api_clients.revoke(uow, client_id=args.client_id)
    print(f"Revoked {view.client_id} ({view.name}): its tokens stop working now.")
    return 0


async def _deliveries(client_id: str, uow: UnitOfWork) -> int:
    """The newest webhook deliveries of an app: no URL, secret or body (personal data)."""
    rows = await webhooks.deliveries_of_app(uow, client_id=client_id)
    if not rows:
        print("No webhook deliveries yet.")
    for d in rows:
        status = d.last_status if d.last_status is not None else "-"
        next_try = f" next {d.next_at:%Y-%m-%d %H:%M:%S}Z" if d.next_at else ""
        print(
            f"#{d.id} webhook {d.subscription_id} {d.message_id} {d.event_type} {d.state} "
            f"attempts={d.attempts} status={status}{next_try} {d.last_error}".rstrip()
        )
    return 0


def _scope(args: argparse.Namespace) -> tuple[ScopeLevel, int]:
    if args.district is not None:
        return ScopeLevel.DISTRICT, args.district
    if args.street is not None:
        return ScopeLevel.STREET, args.street
    return ScopeLevel.COMMUNITY, args.community


REQUIRED_COLUMNS = ("district", "street", "community", "code", "kind", "population")


def read_places(path: Path) -> list[places.PlaceRow]:
    """Parse a places CSV; raises ValueError naming the line and the column at fault."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"missing columns: {', '.join(missing)}")
        return [_place_row(line, row) for line, row in enumerate(reader, start=2)]


def _place_row(line: int, row: dict[str, str]) -> places.PlaceRow:
    values = {k: (v or "").strip() for k, v in row.items() if k}
    for column in REQUIRED_COLUMNS:
        if not values.get(column):
            raise ValueError(f"line {line}: {column} is empty")
    if values["kind"] not in {k.value for k in CommunityKind}:
        raise ValueError(f"line {line}: kind must be urban or rural")
    if not values["population"].isdigit():
        raise ValueError(f"line {line}: population must be a whole number")
    return places.PlaceRow(
        district=values["district"],
        street=values["street"],
        community=values["community"],
        code=values["code"].upper(),
        kind=CommunityKind(values["kind"]),
        population=int(values["population"]),
        district_en=values.get("district_en") or None,
        street_en=values.get("street_en") or None,
        community_en=values.get("community_en") or None,
        township=values.get("township", "").lower() in {"1", "yes", "true", "是"},
    )


async def _import_places(uow: UnitOfWork, path: Path) -> int:
    try:
        rows = read_places(path)
    except (OSError, ValueError) as error:
        print(f"{path}: {error}", file=sys.stderr)
        return 2
    result = await places.import_places(uow, rows=rows)
    print(f"{result.created} communities created, {result.updated} updated.")
    return 0


async def _reencrypt(uow: UnitOfWork, settings: Settings, *, batch: int) -> int:
    """Seal every stored ID number with ID_CIPHER and the newest key of ID_KEYS."""
    from bot.app import make_cipher, secret_key

    cipher = make_cipher(settings, secret_key(settings))
    print(f"Re-encrypting ID numbers with {cipher.current} …", flush=True)

    def progress(done: int, total: int) -> None:
        print(f"  {done}/{total} read", flush=True)

    result = await privacy.reencrypt_ids(uow, cipher, batch=batch, progress=progress)
    print(f"Done: {result.reencrypted} of {result.total} re-encrypted, all now {cipher.current}.")
    return 0


LEVEL_NAMES = {ScopeLevel.COMMUNITY: "community", ScopeLevel.STREET: "street"}


async def _wecom(args: argparse.Namespace, uow: UnitOfWork, settings: Settings) -> int:
    if args.wecom_command == "list":
        robots = await alerts.list_robots(uow)
        for robot in robots:
            print(
                f"{LEVEL_NAMES.get(robot.level, robot.level.value)} {robot.place_id} "
                f"{robot.place}: robot key {alerts.mask(robot.key_tail)}"
            )
        if not robots:
            print("No WeCom robots are set.")
        return 0
    try:
        level, place_id = await alerts.find_place(uow, args.place)
    except DomainError:
        print(
            f"Refused: no single street or community named {args.place!r}; use "
            "community:<number> or street:<number> (see `admin places`)",
            file=sys.stderr,
        )
        return 2
    if args.wecom_command == "clear-robot":
        view = await alerts.clear_robot(uow, roles.SYSTEM, level=level, place_id=place_id)
        print(
            f"Removed the robot of {view.place} (key {alerts.mask(view.key_tail)})."
            if view
            else "That place has no robot."
        )
        return 0
    from bot.app import make_cipher, secret_key

    try:
        alerts.robot_key(args.url, settings.wecom_api_url)
    except DomainError as error:
        # Said without the URL: it holds the robot's secret key.
        print(
            f"Refused: not a WeCom group robot webhook URL ({error}). It looks like "
            f"{settings.wecom_api_url}{alerts.WEBHOOK_PATH}?key=…",
            file=sys.stderr,
        )
        return 1
    view = await alerts.set_robot(
        uow,
        roles.SYSTEM,
        make_cipher(settings, secret_key(settings)),
        level=level,
        place_id=place_id,
        url=args.url,
        base=settings.wecom_api_url,
    )
    print(
        f"The robot of {LEVEL_NAMES[view.level]} {view.place_id} {view.place} is set "
        f"(key {alerts.mask(view.key_tail)})."
    )
    return 0


async def _wechat_qr(args: argparse.Namespace, settings: Settings) -> int:
    """Prints the URL a QR code is drawn from: scanning it follows the account (or, already
    following, sends SCAN) with the payload, the same deep link as Telegram's /start."""
    if not (settings.wechat_app_id and settings.wechat_app_secret):
        print("WECHAT_APP_ID and WECHAT_APP_SECRET are not set", file=sys.stderr)
        return 2
    from bot.channels.wechat_api import WeChatApi, WeChatApiError

    api = WeChatApi(settings.wechat_api_url, settings.wechat_app_id, settings.wechat_app_secret)
    try:
        print(await api.scene_qrcode(args.payload, permanent=args.permanent))
    except WeChatApiError as error:
        print(f"WeChat refused: {error}", file=sys.stderr)
        return 1
    finally:
        await api.close()
    return 0

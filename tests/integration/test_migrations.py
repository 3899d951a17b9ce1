"""The schema comes from the migrations, up and down, and matches the models."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from storage import migrate
from storage.db import make_engine
from storage.models import Base
from tests.support.databases import PostgresDatabases

EXPECTED_TABLES = {
    "privacy_consents",
    "access_log",
    "processed_updates",
    "api_clients",
    "api_idempotency",
    "dashboard_links",
    "consultations",
    "consultation_communities",
    "consultation_options",
    "consultation_seats",
    "consultation_opinions",
    "opinion_supports",
    "consultation_votes",
    "consultation_participants",
    "broadcasts",
    "outbox",
    "broadcast_opt_outs",
    "emergencies",
    "emergency_shifts",
    "roll_calls",
    "match_profiles",
    "need_offers",
    "organisation_communities",
    "organisation_invites",
    "projects",
    "project_communities",
    "project_needs",
    "party_decisions",
    "project_evaluations",
    "resources",
    "resource_reservations",
    "funds",
    "fund_donations",
    "fund_allocations",
    "fund_expenditures",
    "time_transfers",
    "service_records",
    "record_corrections",
    "ledger_transactions",
    "ledger_entries",
    "points_entries",
    "rewards",
    "redemptions",
    "certificates",
    "spot_checks",
    "spot_check_items",
    "shifts",
    "shift_signups",
    "volunteers",
    "webchat_chats",
    "webchat_events",
    "webchat_files",
    "webchat_messages",
    "webhook_deliveries",
    "webhook_events",
    "webhook_subscriptions",
    "wecom_alerts",
    "competitions",
    "competition_proposals",
    "competition_reviewers",
    "competition_scores",
    "competition_awards",
    "service_purchases",
    "purchase_milestones",
    "purchase_payments",
    "purchase_evaluations",
    "wecom_robots",
    "social_work_certificates",
    "district_baselines",
    "training_attendance",
    "social_work_services",
    "social_work_staff",
    "social_work_places",
    "volunteer_communities",
    "volunteer_counters",
    "surveys",
    "survey_communities",
    "survey_questions",
    "survey_options",
    "survey_responses",
    "survey_answers",
    "needs",
    "need_supporters",
    "need_events",
    "need_feedback",
    "need_counters",
    "districts",
    "streets",
    "communities",
    "community_groups",
    "grids",
    "people",
    "channel_accounts",
    "organisations",
    "role_grants",
    "audit_log",
    "link_codes",
}


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    yield databases.empty()


async def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    return set(names) - {"alembic_version"}


async def schema_diff(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await engine.dispose()


async def test_migrations_go_up_and_down_on_an_empty_database(empty_database: str) -> None:
    await migrate.upgrade(empty_database)
    assert await tables(empty_database) == EXPECTED_TABLES
    assert await migrate.current(empty_database) is not None
    await migrate.downgrade(empty_database)
    assert await tables(empty_database) == set()
    await migrate.upgrade(empty_database)
    assert await tables(empty_database) == EXPECTED_TABLES


async def test_the_models_and_the_migrations_agree(empty_database: str) -> None:
    await migrate.upgrade(empty_database)
    assert await schema_diff(empty_database) == []


async def test_display_names_made_of_chat_ids_are_cleared_by_0013(empty_database: str) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import text

    await migrate.upgrade(empty_database, "0012")
    engine = make_engine(empty_database)
    try:
        async with engine.begin() as connection:
            for name in ("web-85245", "telegram:123456", "王阿姨", "webster"):
                await connection.execute(
                    text(
                        "INSERT INTO people (display_name, created_at) VALUES (:name, :at)"
                    ).bindparams(name=name, at=datetime(2026, 1, 1, tzinfo=UTC))
                )
        await migrate.upgrade(empty_database, "0013_contacts")
        async with engine.connect() as connection:
            rows = (
                await connection.execute(text("SELECT display_name FROM people ORDER BY id"))
            ).all()
    finally:
        await engine.dispose()
    assert [row[0] for row in rows] == ["", "", "王阿姨", "webster"]

"""Handover's migrations on a real SQLite file: a handover opened by the skeleton (revision 0001) gets its
notice back from its pack, so that it can still be read, amended and assessed after the upgrade."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from contracts.release_notice import ReleaseNoticeV1
from services.common.migrations import _config, upgrade
from services.handover.domain.pack import build_pack
from services.handover.domain.referral_routing import route
from services.handover.wiring import MIGRATIONS
from ttg.synthetic import release_notice


def test_skeleton_handovers_get_their_notice_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'handover.db'}"
    command.upgrade(_config(url, MIGRATIONS), "0001")
    notice = ReleaseNoticeV1.model_validate(release_notice(random.Random(3)))
    pack = json.loads(build_pack(notice, route(notice, [])).model_dump_json())
    del (
        pack["mental_health"]["referral"],
        pack["mental_health"]["withheld_reason"],
    )  # the skeleton had neither
    now = datetime.now(UTC).replace(tzinfo=None)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO handover VALUES ('h1', 'n1', :pn, 'DMI', :day, 1, :now, :now)"),
            {"pn": notice.prison_number, "day": notice.release.date, "now": now},
        )
        connection.execute(
            sa.text("INSERT INTO handover_version VALUES ('h1', 1, :pack, 'e1', :now)"),
            {"pack": json.dumps(pack), "now": now},
        )
    upgrade(url, MIGRATIONS)
    with engine.connect() as connection:
        state, stored = connection.execute(sa.text("SELECT state, notice FROM handover WHERE id = 'h1'")).one()
    engine.dispose()
    rebuilt = ReleaseNoticeV1.model_validate_json(stored)
    assert state == "open"
    assert rebuilt.prison_number == notice.prison_number and rebuilt.release == notice.release
    assert rebuilt.medications == notice.medications and rebuilt.mental_health == notice.mental_health

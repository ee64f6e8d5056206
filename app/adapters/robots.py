"""Robots in PostgreSQL, each write recorded in robot_changes."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from psycopg import errors as pg_errors
from psycopg_pool import AsyncConnectionPool

from app.domain.robots import DEFAULT_ROBOT_ID, ClientTool, ModelOptions, Robot

_COLUMNS = ("id, name, description, playbook, model, tools, meta, author_id,"
            " created_at, updated_at, deleted_at, max_steps, client_tools,"
            " tools_requiring_approval, model_options")


class RobotNameTaken(Exception):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"a robot named {name!r} already exists")


class RobotStore:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def create(self, fields: dict[str, Any], author_id: uuid.UUID) -> Robot:
        robot_id = uuid.uuid4()
        columns = ["id", "author_id", *fields]
        values = [robot_id, author_id, *(_db_value(k, v) for k, v in fields.items())]
        sql = (f"INSERT INTO robots ({', '.join(columns)}) VALUES"
               f" ({', '.join(['%s'] * len(values))}) RETURNING {_COLUMNS}")
        row = await self._write(sql, values, fields.get("name"), robot_id, author_id,
                                "created", fields)
        return _robot(row)

    async def update(self, robot_id: uuid.UUID, fields: dict[str, Any],
                     changed_by: uuid.UUID) -> Robot | None:
        if not fields:
            return await self.get(robot_id)
        sets = ", ".join(f"{k} = %s" for k in fields)
        sql = (f"UPDATE robots SET {sets}, updated_at = now()"
               f" WHERE id = %s AND deleted_at IS NULL RETURNING {_COLUMNS}")
        values = [*(_db_value(k, v) for k, v in fields.items()), robot_id]
        row = await self._write(sql, values, fields.get("name"), robot_id, changed_by,
                                "updated", fields)
        return _robot(row) if row else None

    async def delete(self, robot_id: uuid.UUID, changed_by: uuid.UUID) -> bool:
        sql = (f"UPDATE robots SET deleted_at = now(), updated_at = now()"
               f" WHERE id = %s AND deleted_at IS NULL RETURNING {_COLUMNS}")
        return await self._write(sql, [robot_id], None, robot_id, changed_by, "deleted",
                                 {}) is not None

    async def _write(self, sql: str, values: list[Any], name: str | None,
                     robot_id: uuid.UUID, actor: uuid.UUID, kind: str,
                     changes: dict[str, Any]) -> Any:
        """Run one write and record it in robot_changes, in one transaction."""
        try:
            async with self.pool.connection() as conn, conn.transaction():
                row = await (await conn.execute(sql, values)).fetchone()
                if row is not None:
                    await conn.execute(
                        "INSERT INTO robot_changes (robot_id, changed_by, kind, changes)"
                        " VALUES (%s, %s, %s, %s::jsonb)",
                        [robot_id, actor, kind, msgspec.json.encode(changes).decode()],
                    )
                return row
        except pg_errors.UniqueViolation:
            raise RobotNameTaken(name or "") from None

    async def get(self, robot_id: uuid.UUID, *, include_deleted: bool = False) -> Robot | None:
        live = "" if include_deleted else " AND deleted_at IS NULL"
        async with self.pool.connection() as conn:
            cur = await conn.execute(f"SELECT {_COLUMNS} FROM robots WHERE id = %s{live}",
                                     [robot_id])
            row = await cur.fetchone()
        return _robot(row) if row else None

    async def answering(self, robot_id: str | None) -> Robot:
        """The robot a turn or summary runs with: this one even if deleted since (work it
        was given goes on with it), else the built-in one (no id, or not a robot's)."""
        robot = None
        if robot_id is not None:
            try:
                robot = await self.get(uuid.UUID(robot_id), include_deleted=True)
            except ValueError:
                robot = None
        if robot is None:
            robot = await self.get(DEFAULT_ROBOT_ID)
        assert robot is not None  # migrations create the built-in robot
        return robot

    async def page(self, *, limit: int, offset: int) -> tuple[list[Robot], int]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS}, count(*) OVER () FROM robots WHERE deleted_at IS NULL"
                " ORDER BY created_at, id LIMIT %s OFFSET %s", [limit, offset])
            rows = await cur.fetchall()
            if rows:
                return [_robot(r) for r in rows], int(rows[0][-1])
            total = await (await conn.execute(
                "SELECT count(*) FROM robots WHERE deleted_at IS NULL")).fetchone()
        return [], int(total[0]) if total else 0

    async def changes(self, robot_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT kind, changes FROM robot_changes WHERE robot_id = %s ORDER BY id",
                [robot_id])
            return [(r[0], r[1]) for r in await cur.fetchall()]


def _db_value(column: str, value: Any) -> Any:
    jsonb = column in ("meta", "client_tools", "model_options")
    return msgspec.json.encode(value).decode() if jsonb else value


def _robot(row: Any) -> Robot:
    return Robot(id=row[0], name=row[1], description=row[2], playbook=row[3], model=row[4],
                 tools=list(row[5]), meta=row[6], author_id=row[7], created_at=row[8],
                 updated_at=row[9], deleted_at=row[10], max_steps=row[11],
                 client_tools=msgspec.convert(row[12], list[ClientTool]),
                 tools_requiring_approval=list(row[13]),
                 model_options=msgspec.convert(row[14], ModelOptions))

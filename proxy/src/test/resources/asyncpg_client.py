"""An asyncio client through the proxy (asyncpg: its own protocol code, binary formats, named prepared
statements that it describes with Flush rather than Sync): prints one JSON object of what it saw.

usage: asyncpg_client.py HOST PORT USER PASSWORD DBNAME
"""
import asyncio
import decimal
import json
import sys

import asyncpg

host, port, user, password, dbname = sys.argv[1:6]


async def main():
    seen = {}
    dsn = dict(host=host, port=int(port), user=user, password=password, database=dbname)
    conn = await asyncpg.connect(**dsn, server_settings={"application_name": "asyncpg-test"})
    await conn.execute("DROP TABLE IF EXISTS apg_items")
    await conn.execute("CREATE TABLE apg_items (id int PRIMARY KEY, name text, price numeric, tags text[])")
    await conn.executemany("INSERT INTO apg_items (id, name, price, tags) VALUES ($1, $2, $3, $4)",
                           [(i, "item %d" % i, decimal.Decimal("%d.25" % i), ["t%d" % i]) for i in range(1, 101)])
    statement = await conn.prepare("SELECT pg_is_in_recovery(), count(*) FROM apg_items WHERE id <= $1")
    on_replica, counted = await statement.fetchrow(100)
    seen["prepared_read_on_replica"] = on_replica

    async with conn.transaction():
        await conn.execute("UPDATE apg_items SET name = $1 WHERE id = $2", "updated", 1)
        row = await conn.fetchrow("SELECT name, price, tags, pg_is_in_recovery() AS r FROM apg_items WHERE id = $1", 1)
        seen["transaction_read"] = [row["name"], str(row["price"]), row["tags"], row["r"]]
        seen["cursor_rows"] = len([r async for r in conn.cursor("SELECT id FROM apg_items", prefetch=30)])
    try:
        await conn.execute("INSERT INTO apg_items (id) VALUES (1)")
    except asyncpg.UniqueViolationError as e:
        seen["error_sqlstate"] = e.sqlstate

    # asyncpg describes the table with Parse/Describe/Flush, then sends the COPY as a simple query
    await asyncio.wait_for(conn.copy_records_to_table(
        "apg_items", records=[(i, "copied %d" % i) for i in range(1000, 21000)], columns=["id", "name"]), 30)
    # on the primary: with consistency eventual a replica may not have replayed the COPY yet
    seen["copied_in"] = await conn.fetchval("/* replicant:route=primary */ SELECT count(*) FROM apg_items "
                                            "WHERE id >= 1000")
    chunks = []

    async def collect(data):
        chunks.append(data)
    await asyncio.wait_for(conn.copy_from_query("SELECT n FROM generate_series(1, 20000) n", output=collect), 30)
    seen["copied_out_lines"] = b"".join(chunks).count(b"\n")

    notified = asyncio.Event()
    await conn.add_listener("apg_channel", lambda *args: notified.set())
    other = await asyncpg.connect(**dsn)
    await other.execute("NOTIFY apg_channel")
    await asyncio.wait_for(notified.wait(), 10)
    seen["notified"] = True
    await other.close()

    pool = await asyncpg.create_pool(**dsn, min_size=2, max_size=4)
    doubled = await asyncio.gather(*[pool.fetchval("SELECT $1::int * 2", i) for i in range(200)])
    seen["pool_sum"] = sum(doubled)
    await pool.close()

    # startup settings of its own, changed by each user and put back by the pool's reset (RESET ALL) at release
    pool = await asyncpg.create_pool(**dsn, min_size=1, max_size=2, server_settings={
        "application_name": "asyncpg-pool", "TimeZone": "Pacific/Auckland"})
    settings = set()
    for _ in range(10):
        async with pool.acquire() as c:
            settings.add(await c.fetchval("SELECT current_setting('TimeZone') || ' ' || "
                                          "current_setting('application_name')"))
            settings.add(c.get_settings().TimeZone + " " + c.get_settings().application_name)
            await c.execute("SET TimeZone = 'UTC'; SET application_name = 'changed'")
    await pool.close()
    seen["pool_settings"] = sorted(settings)
    seen["application_name"] = await conn.fetchval("SHOW application_name")
    await conn.close()
    print(json.dumps(seen))


asyncio.run(main())

"""psycopg 3 through the proxy (pipeline mode, which sends statement after statement without waiting for
answers, binary results, statements it prepares itself, a server-side cursor, COPY): prints one JSON object.

usage: psycopg3_client.py HOST PORT USER PASSWORD DBNAME
"""
import json
import sys

import psycopg

host, port, user, password, dbname = sys.argv[1:6]
seen = {}
with psycopg.connect(host=host, port=int(port), user=user, password=password, dbname=dbname, autocommit=True,
                     application_name="psycopg3-test") as conn:
    conn.execute("DROP TABLE IF EXISTS pg3_items")
    conn.execute("CREATE TABLE pg3_items (id int PRIMARY KEY, name text)")
    with conn.pipeline():
        for i in range(200):
            conn.execute("INSERT INTO pg3_items VALUES (%s, %s)", (i, "item %d" % i))
        last = conn.execute("/* replicant:route=primary */ SELECT count(*) FROM pg3_items")
    seen["pipelined_inserts"] = last.fetchone()[0]
    for i in range(8):  # psycopg prepares a statement on the server from its sixth execution
        row = conn.execute("SELECT name FROM pg3_items WHERE id = %s", (i,)).fetchone()
    seen["prepared_read"] = row[0]
    values = conn.execute("SELECT %s::int[], %b::bytea", ([1, 2, 3], b"\x00\xff"), binary=True).fetchone()
    seen["binary"] = [values[0], bytes(values[1]).hex()]
    with conn.transaction():
        conn.execute("UPDATE pg3_items SET name = 'updated' WHERE id = 1")
        seen["transaction_read"] = conn.execute("SELECT name, pg_is_in_recovery() FROM pg3_items WHERE id = 1") \
            .fetchone()
        with conn.cursor(name="pg3_cursor") as cursor:
            cursor.execute("SELECT id FROM pg3_items ORDER BY id")
            seen["server_cursor_rows"] = len(cursor.fetchmany(50))
    try:
        conn.execute("INSERT INTO pg3_items VALUES (1, 'again')")
    except psycopg.errors.UniqueViolation as e:
        seen["error_sqlstate"] = e.sqlstate
    with conn.cursor() as cursor:
        with cursor.copy("COPY pg3_items (id, name) FROM STDIN") as copy:
            for i in range(1000, 6000):
                copy.write_row((i, "copied %d" % i))
    seen["copied_in"] = conn.execute("/* replicant:route=primary */ SELECT count(*) FROM pg3_items WHERE id >= 1000") \
        .fetchone()[0]
    with conn.pipeline():
        first = conn.execute("SELECT 1")
        second = conn.execute("SELECT 2")
    seen["pipelined_reads"] = [first.fetchone()[0], second.fetchone()[0]]
    seen["application_name"] = conn.execute("SHOW application_name").fetchone()[0]
print(json.dumps(seen))

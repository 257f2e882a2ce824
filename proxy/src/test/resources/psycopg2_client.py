"""A Python client through the proxy (psycopg2 over libpq): prints one JSON object of what it saw.

usage: psycopg2_client.py HOST PORT USER PASSWORD DBNAME
"""
import json
import sys

import psycopg2

host, port, user, password, dbname = sys.argv[1:6]
seen = {}
conn = psycopg2.connect(host=host, port=int(port), user=user, password=password, dbname=dbname,
                        application_name="psycopg2-test")
conn.autocommit = True
cur = conn.cursor()
cur.execute("CREATE TABLE IF NOT EXISTS py_items (id int PRIMARY KEY, name text)")
cur.execute("INSERT INTO py_items VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
            (1, "it's from python"))
cur.execute("SELECT pg_is_in_recovery()")
seen["autocommit_read_on_replica"] = cur.fetchone()[0]
try:
    cur.execute("SELECT * FROM py_no_such_table")
except psycopg2.Error as e:
    seen["error_sqlstate"] = e.pgcode

conn.autocommit = False  # psycopg2 sends BEGIN before the first statement
cur.execute("UPDATE py_items SET name = %s WHERE id = %s", ("updated", 1))
cur.execute("SELECT name, pg_is_in_recovery() FROM py_items WHERE id = %s", (1,))
name, in_recovery = cur.fetchone()
seen["transaction_read"] = name
seen["transaction_read_on_replica"] = in_recovery
conn.commit()
conn.autocommit = True

cur.execute("SHOW application_name")
seen["application_name"] = cur.fetchone()[0]
cur.execute("SELECT count(*) FROM generate_series(1, %s)", (50000,))
seen["rows_counted"] = cur.fetchone()[0]
conn.close()
print(json.dumps(seen))

"""Persona's Flight SQL server seen by a client nobody here wrote: the Python ADBC driver.

Run by tests/flight.rs (`adbc_python_client`) against a server it started; the environment
names the server, the users' password and a static token. Exits non-zero on the first
failed check.
"""

import os
import sys

import adbc_driver_flightsql.dbapi as flight_sql
from adbc_driver_flightsql import DatabaseOptions

URI = os.environ["PERSONA_URI"]
PASSWORD = os.environ["PERSONA_PASSWORD"]
TOKEN = os.environ["PERSONA_TOKEN"]
CUSTOMERS = int(os.environ["PERSONA_CUSTOMERS"])


def login(user):
    return flight_sql.connect(URI, db_kwargs={"username": user, "password": PASSWORD})


def scalar(conn, sql, parameters=None):
    with conn.cursor() as cur:
        cur.execute(sql, parameters=parameters)
        return cur.fetchone()[0]


def refused(conn, sql, needle):
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            cur.fetch_arrow_table()
    except Exception as error:  # the driver raises dbapi errors carrying the server message
        assert needle in str(error), f"{sql}: {error}"
        return
    raise AssertionError(f"{sql} was not refused")


with login("ana") as ana:
    # browse: catalogs, schemas, tables with their columns
    objects = ana.adbc_get_objects(depth="all").read_all().to_pylist()
    tables = {
        table["table_name"]: [c["column_name"] for c in table["table_columns"]]
        for catalog in objects
        for schema in catalog["catalog_db_schemas"]
        if schema["db_schema_name"] == "public"
        for table in schema["db_schema_tables"]
    }
    assert {"customers", "transactions", "credit_scores"} <= tables.keys(), tables.keys()
    assert "phone" in tables["customers"], tables["customers"]
    table_types = ana.adbc_get_table_types()
    assert "TABLE" in table_types, table_types

    # a segmentation query with Persona's functions
    with ana.cursor() as cur:
        cur.execute(
            """
            WITH v AS (SELECT customer_id, rfm(txn_ts, amount, DATE '2026-01-01') AS v
                       FROM transactions GROUP BY customer_id),
                 s AS (SELECT 6 - quantile_score(5) OVER (ORDER BY v['recency_days'], customer_id) AS r,
                              quantile_score(5) OVER (ORDER BY v['frequency'], customer_id) AS f FROM v)
            SELECT rfm_segment(r, f) AS segment, count(*) AS customers FROM s GROUP BY 1 ORDER BY 1
            """
        )
        segments = cur.fetch_arrow_table().to_pydict()
    assert "Champions" in segments["segment"], segments
    buyers = scalar(ana, "SELECT count(DISTINCT customer_id) FROM transactions")
    assert sum(segments["customers"]) == buyers, (segments, buyers)

    # bound parameters (the driver prepares the statement and binds a row)
    bound = scalar(ana, "SELECT count(*) FROM transactions WHERE amount > ? AND channel = ?", (100.0, "app"))
    literal = scalar(ana, "SELECT count(*) FROM transactions WHERE amount > 100.0 AND channel = 'app'")
    assert bound == literal and bound > 0, (bound, literal)

    # a large result, streamed in many batches
    with ana.cursor() as cur:
        cur.execute("SELECT * FROM transactions")
        reader = cur.fetch_record_batch()
        rows = sum(batch.num_rows for batch in reader)
    assert rows == scalar(ana, "SELECT count(*) FROM transactions"), rows
    clear_phone = scalar(ana, "SELECT phone FROM customers ORDER BY customer_id LIMIT 1")
    assert "*" not in clear_phone

with login("mia") as mia:
    masked_phone = scalar(mia, "SELECT phone FROM customers ORDER BY customer_id LIMIT 1")
    assert masked_phone == clear_phone[:3] + "*" * (len(clear_phone) - 7) + clear_phone[-4:], (masked_phone, clear_phone)
    refused(mia, "SELECT * FROM credit_scores", "may not read table 'credit_scores'")
    objects = mia.adbc_get_objects(depth="tables").read_all().to_pylist()
    names = {t["table_name"] for c in objects for s in c["catalog_db_schemas"] for t in s["db_schema_tables"] or []}
    assert "customers" in names and "credit_scores" not in names, names

header = DatabaseOptions.AUTHORIZATION_HEADER.value
with flight_sql.connect(URI, db_kwargs={header: f"Bearer {TOKEN}"}) as report:
    assert scalar(report, "SELECT count(*) FROM customers") == CUSTOMERS

with flight_sql.connect(URI, db_kwargs={header: "Bearer not-a-token"}) as intruder:
    refused(intruder, "SELECT 1", "invalid token")

try:
    login_failed = login("ana-typo")
    scalar(login_failed, "SELECT 1")
    raise AssertionError("an unknown user logged in")
except AssertionError:
    raise
except Exception as error:
    assert "invalid user name or password" in str(error) or "Unauthenticated" in str(error), error

print("adbc client: all checks passed", file=sys.stderr)

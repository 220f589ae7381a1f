"""Persona's PostgreSQL endpoint seen by Python's clients: psycopg 3, SQLAlchemy and pandas.

Run by tests/pg.rs (`psycopg_sqlalchemy_and_pandas`) against a server it started; the
environment names the port, the users' password and the test lake's customer count. Exits
non-zero on the first failed check.
"""

import os

import pandas as pd
import psycopg
import sqlalchemy as sa

PORT = int(os.environ["PERSONA_PG_PORT"])
PASSWORD = os.environ["PERSONA_PASSWORD"]
CUSTOMERS = int(os.environ["PERSONA_CUSTOMERS"])


def dsn(user):
    return f"host=127.0.0.1 port={PORT} dbname=persona user={user} password={PASSWORD}"


def engine(user):
    return sa.create_engine(f"postgresql+psycopg://{user}:{PASSWORD}@127.0.0.1:{PORT}/persona")


def check(condition, message):
    if not condition:
        raise SystemExit(f"check failed: {message}")


# psycopg: parameters (sent typed, in binary), a Persona function, a server-side cursor
with psycopg.connect(dsn("ana")) as conn:
    with_params = conn.execute(
        "SELECT count(*) FROM transactions WHERE amount > %s AND customer_id <= %s", (100.0, 500)
    ).fetchone()[0]
    literal = conn.execute(
        "SELECT count(*) FROM transactions WHERE amount > 100.0 AND customer_id <= 500"
    ).fetchone()[0]
    check(with_params == literal and with_params > 0, f"parameters: {with_params} vs {literal}")
    masked = conn.execute("SELECT mask_phone(%s)", ("13812345678",)).fetchone()[0]
    check(masked == "138****5678", f"mask_phone: {masked}")
    segments = conn.execute(
        "WITH inputs AS (SELECT customer_id, rfm(txn_ts, amount, DATE '2026-01-01') AS v"
        "  FROM transactions WHERE amount > 0 GROUP BY customer_id),"
        " scored AS (SELECT 6 - quantile_score(5) OVER (ORDER BY v['recency_days'], customer_id) AS r,"
        "  quantile_score(5) OVER (ORDER BY v['frequency'], customer_id) AS f FROM inputs)"
        " SELECT rfm_segment(r, f) AS segment, count(*) AS n FROM scored GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    check(len(segments) > 3 and 0 < sum(n for _, n in segments) <= CUSTOMERS, f"segments: {segments}")
    with conn.transaction():
        with conn.cursor(name="all_customers") as cursor:
            cursor.itersize = 256
            cursor.execute("SELECT customer_id, city FROM customers ORDER BY customer_id")
            first = cursor.fetchmany(10)
            check([row[0] for row in first] == list(range(1, 11)), f"fetchmany: {first}")
            rest = sum(1 for _ in cursor)
    check(10 + rest == CUSTOMERS, f"server-side cursor read {10 + rest} rows")

# the restricted role: masked values, a forbidden table refused
with psycopg.connect(dsn("mia")) as conn:
    phone = conn.execute("SELECT phone FROM customers ORDER BY customer_id LIMIT 1").fetchone()[0]
    check("***" in phone, f"phone masked: {phone}")
    try:
        conn.execute("SELECT * FROM credit_scores")
        raise SystemExit("check failed: credit_scores was served to the marketing role")
    except psycopg.errors.InsufficientPrivilege as e:
        check("may not read" in str(e), str(e))

# SQLAlchemy: the inspector's table list (each role its own), pandas read_sql with parameters
restricted = engine("mia")
inspector = sa.inspect(restricted)
tables = sorted(inspector.get_table_names())
check(tables == ["campaign_contacts", "campaigns", "customers", "transactions"], f"tables: {tables}")
check(inspector.has_table("customers") and not inspector.has_table("credit_scores"), "has_table")
check("credit_scores" in sa.inspect(engine("ana")).get_table_names(), "the analyst sees credit_scores")
frame = pd.read_sql("SELECT customer_id, phone, email FROM customers ORDER BY customer_id LIMIT 5", restricted)
check(len(frame) == 5 and frame["phone"].str.contains(r"\*\*\*\*").all(), f"masked frame:\n{frame}")
tier = pd.read_sql(
    sa.text("SELECT count(*) AS n FROM customers WHERE city_tier = :tier"), restricted, params={"tier": 1}
)
check(0 < int(tier["n"][0]) < CUSTOMERS, f"read_sql with parameters: {tier}")
print("ok")

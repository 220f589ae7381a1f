"""Load on Persona's Flight SQL server from many ADBC clients at once.

Each client is a thread with its own ADBC connection (the Python Flight SQL driver; the GIL is
released while the driver waits on the network). For DURATION seconds every client runs, at
random: short queries, long aggregations, failing queries, cancelled queries, prepared
statements with parameters, and results abandoned mid-stream (the connection closed after one
batch). Expected failures (an unknown table, a forbidden table, a cancelled query) are counted
apart; anything else that fails is an unexpected error. Prints one JSON object: operations,
throughput, latency percentiles per kind, and the unexpected errors.

Environment: PERSONA_URI, PERSONA_PASSWORD, PERSONA_CLIENTS, PERSONA_SECONDS, PERSONA_SEED.
Used by tests/flight_attacks.rs (a bounded run in CI) and by hand for the long run recorded
in RELIABILITY.md.
"""

import json
import os
import random
import threading
import time

import adbc_driver_flightsql.dbapi as flight_sql

URI = os.environ["PERSONA_URI"]
PASSWORD = os.environ["PERSONA_PASSWORD"]
CLIENTS = int(os.environ.get("PERSONA_CLIENTS", "64"))
SECONDS = float(os.environ.get("PERSONA_SECONDS", "60"))
SEED = int(os.environ.get("PERSONA_SEED", "1"))

SHORT = [
    "SELECT count(*) FROM customers WHERE city_tier = {k}",
    "SELECT city, count(*) AS n FROM customers WHERE city_tier = {k} GROUP BY city ORDER BY n DESC LIMIT 5",
    "SELECT mask_phone(phone) AS p FROM customers WHERE customer_id % 97 = {k} LIMIT 20",
    "SELECT rfm_segment({r}, {f}) AS segment",
]
LONG = [
    "SELECT customer_id, rfm(txn_ts, amount, DATE '2026-01-01') AS v FROM transactions "
    "WHERE amount > 0 GROUP BY customer_id ORDER BY customer_id LIMIT 10",
    "SELECT merchant_category, channel, count(*) AS n, sum(amount) AS s, approx_distinct(customer_id) AS c "
    "FROM transactions GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT c.city_tier, psi(t.amount, t.channel = 'app') AS drift FROM transactions t "
    "JOIN customers c USING (customer_id) GROUP BY c.city_tier ORDER BY 1",
]
FAILING = [
    ("SELECT * FROM no_such_table", "no_such_table"),
    ("SELECT * FROM credit_scores", "may not read"),
    ("SELECT CAST(name AS BIGINT) FROM customers", "cast"),
]
PREPARED = "SELECT count(*) AS n FROM customers WHERE city_tier = ? AND customer_id > ?"
ABANDONED = "SELECT t.*, c.city FROM transactions t JOIN customers c USING (customer_id)"
CANCELLED = "SELECT t.customer_id, count(*) AS n FROM transactions t CROSS JOIN (SELECT 1 FROM customers LIMIT 200) x GROUP BY 1"

KINDS = [("short", 50), ("long", 10), ("failing", 10), ("prepared", 15), ("cancelled", 5), ("abandoned", 10)]


def connect(user):
    return flight_sql.connect(URI, db_kwargs={"username": user, "password": PASSWORD})


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p / 100 * len(values)))] * 1000, 1)


class Client(threading.Thread):
    def __init__(self, index, deadline, results):
        super().__init__(daemon=True)
        self.rng = random.Random(SEED * 1000 + index)
        self.user = "mia" if index % 2 else "ana"
        self.deadline = deadline
        self.results = results

    def record(self, kind, seconds, outcome, detail=None):
        with self.results["lock"]:
            self.results["ops"].append((kind, seconds, outcome))
            if outcome == "unexpected":
                self.results["unexpected"].append(f"{kind}: {detail}"[:500])

    def run(self):
        try:
            conn = connect(self.user)
        except Exception as error:  # a login that fails is unexpected
            self.record("login", 0.0, "unexpected", error)
            return
        while time.monotonic() < self.deadline:
            kind = self.rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]
            started = time.monotonic()
            try:
                conn = getattr(self, kind)(conn)
                self.record(kind, time.monotonic() - started, "ok")
            except ExpectedFailure:
                self.record(kind, time.monotonic() - started, "expected")
            except Exception as error:
                self.record(kind, time.monotonic() - started, "unexpected", error)
                try:
                    conn.close()
                except Exception:
                    pass
                conn = connect(self.user)
        conn.close()

    def short(self, conn):
        sql = self.rng.choice(SHORT).format(k=self.rng.randint(1, 5), r=self.rng.randint(1, 5), f=self.rng.randint(1, 5))
        with conn.cursor() as cur:
            cur.execute(sql)
            cur.fetch_arrow_table()
        return conn

    def long(self, conn):
        with conn.cursor() as cur:
            cur.execute(self.rng.choice(LONG))
            cur.fetch_arrow_table()
        return conn

    def failing(self, conn):
        sql, needle = self.rng.choice(FAILING)
        if needle == "may not read" and self.user == "ana":
            sql, needle = FAILING[0]
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                cur.fetch_arrow_table()
        except Exception as error:
            if needle.lower() in str(error).lower():
                raise ExpectedFailure() from error
            raise
        raise RuntimeError(f"{sql} did not fail")

    def prepared(self, conn):
        with conn.cursor() as cur:
            cur.adbc_prepare(PREPARED)
            for _ in range(3):
                cur.execute(PREPARED, parameters=(self.rng.randint(1, 5), self.rng.randint(0, 1000)))
                cur.fetchone()
        return conn

    def cancelled(self, conn):
        cur = conn.cursor()
        timer = threading.Timer(0.05, cur.adbc_cancel)
        timer.start()
        try:
            cur.execute(CANCELLED)
            cur.fetch_arrow_table()
        except Exception as error:
            if "cancel" in str(error).lower():
                raise ExpectedFailure() from error
            raise
        finally:
            timer.cancel()
            try:
                cur.close()
            except Exception:
                pass
        return conn  # finished before the cancel arrived

    def abandoned(self, conn):
        cur = conn.cursor()
        cur.execute(ABANDONED)
        reader = cur.fetch_record_batch()
        reader.read_next_batch()
        conn.close()  # hang up mid-stream
        return connect(self.user)


class ExpectedFailure(Exception):
    pass


def main():
    results = {"lock": threading.Lock(), "ops": [], "unexpected": []}
    started = time.monotonic()
    deadline = started + SECONDS
    clients = [Client(i, deadline, results) for i in range(CLIENTS)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=SECONDS + 300)
    hung = sum(client.is_alive() for client in clients)
    elapsed = time.monotonic() - started
    ops = results["ops"]
    summary = {
        "clients": CLIENTS,
        "seconds": round(elapsed, 1),
        "operations": len(ops),
        "per_second": round(len(ops) / elapsed, 1),
        "p50_ms": percentile([s for _, s, o in ops if o != "unexpected"], 50),
        "p99_ms": percentile([s for _, s, o in ops if o != "unexpected"], 99),
        "kinds": {},
        "expected_errors": sum(o == "expected" for _, _, o in ops),
        "unexpected_errors": len(results["unexpected"]),
        "unexpected": results["unexpected"][:20],
        "clients_still_running": hung,
    }
    for kind, _ in KINDS:
        times = [s for k, s, o in ops if k == kind and o != "unexpected"]
        summary["kinds"][kind] = {
            "n": sum(k == kind for k, _, _ in ops),
            "p50_ms": percentile(times, 50),
            "p99_ms": percentile(times, 99),
        }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

"""Query a `persona serve` endpoint from Python with ADBC (pip install adbc-driver-flightsql pyarrow).

    PERSONA_PSEUDONYM_KEY=some-long-secret-key persona serve --config examples/server.toml
    python examples/flight_client.py
"""

import adbc_driver_flightsql.dbapi as flight_sql

with flight_sql.connect(
    "grpc://127.0.0.1:50051",
    db_kwargs={"username": "bob", "password": "marketing-demo-password"},
) as conn, conn.cursor() as cur:
    # Persona's functions, over Flight SQL; bound parameters use ?
    cur.execute(
        """
        SELECT campaign_id, response_lift(arm = 'treatment', converted) AS lift
        FROM campaign_contacts WHERE campaign_id >= ? GROUP BY campaign_id ORDER BY campaign_id
        """,
        parameters=(1,),
    )
    print(cur.fetch_arrow_table().to_pandas())

    # bob's role has no pii permission: phone and name arrive masked, email as a pseudonym
    cur.execute("SELECT customer_id, name, phone, email FROM customers LIMIT 5")
    print(cur.fetch_arrow_table().to_pandas())

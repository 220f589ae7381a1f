#!/usr/bin/env python3
"""Persona vs plain DataFusion SQL vs DuckDB on the same demo lakes (issue 8).

Not a test. Needs a release build (`cargo build --release`) and GNU time (/usr/bin/time). When
the running Python has no `duckdb`, the script creates a venv in target/bench-venv, installs
duckdb and matplotlib (pinned, from PyPI) into it and runs itself again there.

    python benches/duckdb_compare.py [--scales online_retail,100000,1000000] [--runs 3] [--lakes DIR] [--chart FILE]
                                     [--workloads a,b] [--pool 256M] [--no-scan] [--merge A.json,B.json]

For every scale the script generates a demo lake (the scale `online_retail` is the Online Retail data
of ../shared/data as a `baskets` table, for the item_similarity workload) (`persona generate --seed 42`, cached in
--lakes), then runs every workload on (a) Persona with its functions, (b) Persona with plain SQL
(no Persona functions), (c) DuckDB with equivalent SQL, each in a fresh process on the same
Parquet files: one warm-up run, then --runs timed runs; it reports the median wall time and the
peak RSS (GNU time) and checks that the three answers agree (rounded) before reporting.
DuckDB runs with threads = the machine's cores, like DataFusion's default target partitions.
Also timed: the bare-scan lower bound (DataFusion summing the columns a workload reads), and with
--pool, Persona under a small memory limit (its answers must match too).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, 'target', 'bench-venv')
PINNED = ['duckdb==2.0.1', 'matplotlib==3.11.2', 'pyarrow==26.0.1']
PERSONA = os.path.join(ROOT, 'target', 'release', 'persona')

SEGMENT_CASE = """CASE r * 10 + f
    WHEN 11 THEN 'Hibernating' WHEN 12 THEN 'Hibernating' WHEN 21 THEN 'Hibernating' WHEN 22 THEN 'Hibernating'
    WHEN 13 THEN 'At Risk' WHEN 14 THEN 'At Risk' WHEN 23 THEN 'At Risk' WHEN 24 THEN 'At Risk'
    WHEN 15 THEN 'Cannot Lose Them' WHEN 25 THEN 'Cannot Lose Them'
    WHEN 31 THEN 'About To Sleep' WHEN 32 THEN 'About To Sleep' WHEN 33 THEN 'Need Attention'
    WHEN 34 THEN 'Loyal Customers' WHEN 35 THEN 'Loyal Customers' WHEN 44 THEN 'Loyal Customers' WHEN 45 THEN 'Loyal Customers'
    WHEN 41 THEN 'Promising' WHEN 51 THEN 'New Customers'
    WHEN 42 THEN 'Potential Loyalists' WHEN 43 THEN 'Potential Loyalists' WHEN 52 THEN 'Potential Loyalists'
    WHEN 53 THEN 'Potential Loyalists'
    ELSE 'Champions' END"""

# pandas qcut of ranks 1..N into 5 bins: score = max(1, ceil(5 (rank - 1) / (N - 1)))
PLAIN_RFM = f"""
WITH inputs AS (
    SELECT customer_id, max(CAST(txn_ts AS DATE)) AS last_day, count(DISTINCT CAST(txn_ts AS DATE)) AS frequency,
           sum(amount) AS monetary
    FROM transactions WHERE amount > 0 GROUP BY customer_id
), ranked AS (
    SELECT *, count(*) OVER () AS n,
           row_number() OVER (ORDER BY last_day DESC, customer_id) AS r_rank,
           row_number() OVER (ORDER BY frequency, customer_id) AS f_rank
    FROM inputs
), scored AS (
    SELECT monetary,
           6 - greatest(1, CAST(ceil(5.0 * (r_rank - 1) / (n - 1)) AS INT)) AS r,
           greatest(1, CAST(ceil(5.0 * (f_rank - 1) / (n - 1)) AS INT)) AS f
    FROM ranked
)
SELECT {SEGMENT_CASE} AS segment, count(*) AS customers, round(sum(monetary), 0) AS spend
FROM scored GROUP BY 1 ORDER BY 1
"""

PERSONA_RFM = """
WITH inputs AS (
    SELECT customer_id, rfm(txn_ts, amount, DATE '2026-01-01') AS v FROM transactions WHERE amount > 0 GROUP BY customer_id
), scored AS (
    SELECT v['monetary'] AS monetary,
           6 - quantile_score(5) OVER (ORDER BY v['recency_days'], customer_id) AS r,
           quantile_score(5) OVER (ORDER BY v['frequency'], customer_id) AS f
    FROM inputs
)
SELECT rfm_segment(r, f) AS segment, count(*) AS customers, round(sum(monetary), 0) AS spend
FROM scored GROUP BY 1 ORDER BY 1
"""

PERSONA_AUC = """
SELECT snapshot_month AS month, count(*) AS n, round(auc(-score, default_12m), 9) AS auc,
       round(ks_statistic(-score, default_12m), 9) AS ks
FROM credit_scores GROUP BY snapshot_month ORDER BY month
"""

# AUC by midranks (ties count 1/2); KS as max |F_pos - F_neg| with tie groups whole (RANGE frames)
PLAIN_AUC = """
WITH ranked AS (
    SELECT snapshot_month, default_12m AS y,
           rank() OVER (PARTITION BY snapshot_month ORDER BY score DESC)
             + (count(*) OVER (PARTITION BY snapshot_month, score) - 1) / 2.0 AS midrank,
           sum(CASE WHEN default_12m THEN 1 ELSE 0 END) OVER (PARTITION BY snapshot_month ORDER BY score DESC
               RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum_pos,
           sum(CASE WHEN default_12m THEN 0 ELSE 1 END) OVER (PARTITION BY snapshot_month ORDER BY score DESC
               RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum_neg
    FROM credit_scores
), totals AS (
    SELECT snapshot_month, count(*) AS n, sum(CASE WHEN y THEN 1 ELSE 0 END) AS pos,
           sum(CASE WHEN y THEN 0 ELSE 1 END) AS neg,
           sum(CASE WHEN y THEN midrank ELSE 0 END) AS rank_sum
    FROM ranked GROUP BY snapshot_month
), ks AS (
    SELECT r.snapshot_month, max(abs(CAST(r.cum_pos AS DOUBLE) / t.pos - CAST(r.cum_neg AS DOUBLE) / t.neg)) AS ks
    FROM ranked r JOIN totals t ON r.snapshot_month = t.snapshot_month GROUP BY r.snapshot_month
)
SELECT t.snapshot_month AS month, t.n,
       round((CAST(t.rank_sum AS DOUBLE) - t.pos * (t.pos + 1) / 2.0) / (CAST(t.pos AS DOUBLE) * t.neg), 9) AS auc,
       round(k.ks, 9) AS ks
FROM totals t JOIN ks k ON k.snapshot_month = t.snapshot_month ORDER BY month
"""

AGE_BAND = "CASE WHEN 2025 - cu.birth_year < 30 THEN '<30' WHEN 2025 - cu.birth_year < 45 THEN '30-44' ELSE '45+' END"

PERSONA_LIFT = f"""
WITH lifts AS (
    SELECT k.campaign_id, {AGE_BAND} AS age_band, response_lift(k.arm = 'treatment', k.converted) AS l
    FROM campaign_contacts k JOIN customers cu ON cu.customer_id = k.customer_id
    GROUP BY 1, 2
)
SELECT campaign_id, age_band, l['n_t'] AS n_t, l['n_c'] AS n_c, round(l['rate_t'], 9) AS rate_t,
       round(l['rate_c'], 9) AS rate_c, round(l['z'], 6) AS z
FROM lifts ORDER BY 1, 2
"""

# the p-value needs the normal CDF, which neither plain DataFusion SQL nor DuckDB has: z only
PLAIN_LIFT = f"""
WITH counts AS (
    SELECT k.campaign_id, {AGE_BAND} AS age_band,
           count(*) FILTER (WHERE k.arm = 'treatment') AS n_t,
           count(*) FILTER (WHERE k.arm = 'control') AS n_c,
           count(*) FILTER (WHERE k.arm = 'treatment' AND k.converted) AS x_t,
           count(*) FILTER (WHERE k.arm = 'control' AND k.converted) AS x_c
    FROM campaign_contacts k JOIN customers cu ON cu.customer_id = k.customer_id
    GROUP BY 1, 2
), rates AS (
    SELECT *, CAST(x_t AS DOUBLE) / n_t AS rate_t, CAST(x_c AS DOUBLE) / n_c AS rate_c,
           CAST(x_t + x_c AS DOUBLE) / (n_t + n_c) AS pooled
    FROM counts
)
SELECT campaign_id, age_band, n_t, n_c, round(rate_t, 9) AS rate_t, round(rate_c, 9) AS rate_c,
       round(CASE WHEN pooled > 0 AND pooled < 1
                  THEN (rate_t - rate_c) / sqrt(pooled * (1 - pooled) * (1.0 / n_t + 1.0 / n_c)) END, 6) AS z
FROM rates ORDER BY 1, 2
"""

FEATURES = ['age', 'monthly_income', 'debt_to_income', 'credit_utilization', 'num_open_loans', 'overdue_count_12m',
            'app_logins_30d', 'pd_12m', 'score']
UNPIVOT = '\n    UNION ALL '.join(
    f"SELECT snapshot_month, '{f}' AS feature, CAST({f} AS DOUBLE) AS value FROM credit_scores" for f in FEATURES)

PERSONA_PSI = f"""
WITH features AS ({UNPIVOT}),
baseline AS (SELECT min(snapshot_month) AS month FROM credit_scores),
edges AS (SELECT feature, shared_edges(psi_edges(value, 10)) AS cuts FROM features JOIN baseline ON snapshot_month = baseline.month GROUP BY feature),
hist AS (SELECT f.feature, f.snapshot_month, psi_histogram(f.value, e.cuts) AS counts FROM features f JOIN edges e ON f.feature = e.feature GROUP BY 1, 2),
psi AS (SELECT feature, snapshot_month,
               psi_from_counts(first_value(counts) OVER (PARTITION BY feature ORDER BY snapshot_month), counts) AS psi
        FROM hist)
SELECT feature, snapshot_month AS month, round(psi, 9) AS psi
FROM psi WHERE snapshot_month > (SELECT month FROM baseline)
ORDER BY 1, 2
"""


# Plain PSI from a `binned` CTE of (feature, snapshot_month, bin) rows: shares, the
# baseline-by-month grid with ε = 1e-4 for empty bins, the sum — shared by the long and wide forms.
PSI_FROM_BINNED = """\
counts AS (SELECT feature, snapshot_month, bin, count(*) AS n FROM binned GROUP BY 1, 2, 3),
shares AS (SELECT feature, snapshot_month, bin, CAST(n AS DOUBLE) / sum(n) OVER (PARTITION BY feature, snapshot_month) AS share FROM counts),
months AS (SELECT DISTINCT feature, snapshot_month FROM shares),
bins AS (SELECT DISTINCT feature, bin FROM shares),
grid AS (SELECT m.feature, m.snapshot_month, b.bin FROM months m JOIN bins b ON m.feature = b.feature
         JOIN baseline ON m.snapshot_month > baseline.month),
pairs AS (
    SELECT g.feature, g.snapshot_month,
           coalesce(nullif(coalesce(a.share, 0), 0), 1e-4) AS a, coalesce(nullif(coalesce(e.share, 0), 0), 1e-4) AS e
    FROM grid g
    JOIN baseline ON true
    LEFT JOIN shares a ON a.feature = g.feature AND a.snapshot_month = g.snapshot_month AND a.bin = g.bin
    LEFT JOIN shares e ON e.feature = g.feature AND e.snapshot_month = baseline.month AND e.bin = g.bin
)
SELECT feature, snapshot_month AS month, round(sum((a - e) * ln(a / e)), 9) AS psi FROM pairs GROUP BY 1, 2 ORDER BY 1, 2
"""


def plain_psi(quantile):
    """PSI with ε = 1e-4 in plain SQL; `quantile(p)` is the engine's exact linear quantile."""
    cuts = ', '.join(f'{quantile(k / 10)} AS c{k}' for k in range(1, 10))
    bin_of = ' + '.join(f'CASE WHEN f.value > e.c{k} THEN 1 ELSE 0 END' for k in range(1, 10))
    return f"""
WITH features AS ({UNPIVOT}),
baseline AS (SELECT min(snapshot_month) AS month FROM credit_scores),
edges AS (SELECT feature, {cuts} FROM features JOIN baseline ON snapshot_month = baseline.month GROUP BY feature),
binned AS (SELECT f.feature, f.snapshot_month, {bin_of} AS bin FROM features f JOIN edges e ON f.feature = e.feature),
{PSI_FROM_BINNED}"""


# The same PSI on the wide table as it is stored: one scan, every feature binned in the same pass
# against its baseline cut points (one row cross-joined, its lists as shared_edges so the join
# repeats a dictionary key rather than a list per row), the nine results unnested — the form of
# sql/drift_monitor.sql.
def _wide_names():
    return ', '.join(f"'{f}'" for f in FEATURES)


PERSONA_PSI_WIDE = f"""
WITH baseline AS (SELECT min(snapshot_month) AS month FROM credit_scores),
edges AS (SELECT {', '.join(f'shared_edges(psi_edges(CAST({f} AS DOUBLE), 10)) AS {f}' for f in FEATURES)}
          FROM credit_scores WHERE snapshot_month = (SELECT month FROM baseline)),
hist AS (SELECT c.snapshot_month, {', '.join(f'psi_histogram(CAST(c.{f} AS DOUBLE), e.{f}) AS {f}' for f in FEATURES)}
         FROM credit_scores c CROSS JOIN edges e GROUP BY c.snapshot_month),
psi AS (SELECT snapshot_month, unnest([{_wide_names()}]) AS feature,
               unnest([{', '.join(f'psi_from_counts(first_value({f}) OVER (ORDER BY snapshot_month), {f})' for f in FEATURES)}]) AS psi
        FROM hist)
SELECT feature, snapshot_month AS month, round(psi, 9) AS psi
FROM psi WHERE snapshot_month > (SELECT month FROM baseline)
ORDER BY 1, 2
"""


def plain_psi_wide(quantile):
    """The wide form in plain SQL: one scan, each feature's bin computed against its nine cut points
    (one cross-joined row), the (feature, bin) pairs unnested and counted; then as `plain_psi`."""
    cuts = ', '.join(f'{quantile(f"CAST({f} AS DOUBLE)", k / 10)} AS {f}_c{k}' for f in FEATURES for k in range(1, 10))
    bins = ', '.join('(' + ' + '.join(f'CASE WHEN CAST(c.{f} AS DOUBLE) > e.{f}_c{k} THEN 1 ELSE 0 END' for k in range(1, 10)) + ')'
                     for f in FEATURES)
    return f"""
WITH baseline AS (SELECT min(snapshot_month) AS month FROM credit_scores),
edges AS (SELECT {cuts} FROM credit_scores WHERE snapshot_month = (SELECT month FROM baseline)),
binned AS (SELECT c.snapshot_month, unnest([{_wide_names()}]) AS feature, unnest([{bins}]) AS bin
           FROM credit_scores c CROSS JOIN edges e),
{PSI_FROM_BINNED}"""


PERSONA_PAIRS = """
WITH rules AS (SELECT unnest(association_rules(frequent_itemsets(order_id, item, 0.001, 2), 0.0)) AS r FROM baskets)
SELECT count(*) AS rules, round(sum(r['support']), 9) AS support, round(sum(r['confidence']), 9) AS confidence,
       round(sum(r['lift']), 6) AS lift
FROM rules
"""

PLAIN_PAIRS = """
WITH items AS (SELECT DISTINCT order_id, item FROM baskets),
n AS (SELECT count(DISTINCT order_id) AS orders FROM items),
single AS (SELECT item, count(*) AS c FROM items GROUP BY item),
pairs AS (SELECT a.item AS x, b.item AS y, count(*) AS c FROM items a JOIN items b ON a.order_id = b.order_id AND a.item < b.item GROUP BY 1, 2),
frequent AS (SELECT p.* FROM pairs p, n WHERE CAST(p.c AS DOUBLE) / n.orders >= 0.001),
directed AS (SELECT x AS a, y AS c, c AS both FROM frequent UNION ALL SELECT y, x, c FROM frequent),
rules AS (
    SELECT CAST(d.both AS DOUBLE) / n.orders AS support, CAST(d.both AS DOUBLE) / sa.c AS confidence,
           (CAST(d.both AS DOUBLE) / sa.c) / (CAST(sc.c AS DOUBLE) / n.orders) AS lift
    FROM directed d, n, single sa, single sc
    WHERE sa.item = d.a AND sc.item = d.c AND CAST(sa.c AS DOUBLE) / n.orders >= 0.001 AND CAST(sc.c AS DOUBLE) / n.orders >= 0.001
)
SELECT count(*) AS rules, round(sum(support), 9) AS support, round(sum(confidence), 9) AS confidence, round(sum(lift), 6) AS lift
FROM rules
"""

PERSONA_SIMILARITY = """
WITH p AS (SELECT unnest(item_similarity(customer_id, item, 'cosine', 5)) AS s FROM baskets)
SELECT count(*) AS pairs, sum(s['co_users']) AS co_users, round(sum(s['score']), 6) AS score FROM p
"""

# the textbook self-join: distinct (customer, item) cells, pairs of a customer's items, counts
PLAIN_SIMILARITY = """
WITH cells AS (SELECT DISTINCT customer_id, item FROM baskets),
users AS (SELECT item, count(*) AS n FROM cells GROUP BY item),
co AS (SELECT a.item AS x, b.item AS y, count(*) AS c FROM cells a JOIN cells b ON a.customer_id = b.customer_id AND a.item <> b.item
       GROUP BY 1, 2)
SELECT count(*) AS pairs, sum(c) AS co_users, round(sum(c / sqrt(CAST(ua.n AS DOUBLE) * ub.n)), 6) AS score
FROM co JOIN users ua ON ua.item = co.x JOIN users ub ON ub.item = co.y
WHERE c >= 5
"""

# Behavioural fraud features per transaction against the customer's history (sql/fraud_monitor.sql):
# robust z-score against the previous 20 amounts, category novelty, hour-of-day rarity (width 0 so plain
# SQL can say it with one window) and one-hour velocity (count and amount of the transactions in
# [ts - 1 hour, ts] up to this one). DuckDB says it with median/mad over ROWS frames, counts over
# (customer, category) and (customer, hour) partitions, and one-hour RANGE frames less the later rows
# at the same instant (a RANGE frame counts them, the streaming velocity has not seen them yet: 195
# such ties at 1M customers). DataFusion has no MAD window, so there is no plain-SQL run.
PERSONA_BEHAVIOUR = """
WITH f AS (
    SELECT robust_zscore(amount, 20) OVER w AS z,
           category_novelty(merchant_category) OVER w AS novelty,
           hour_rarity(txn_ts, 0) OVER w AS rarity,
           velocity_count(txn_ts, INTERVAL '1' HOUR) OVER w AS n_1h,
           velocity_sum(amount, txn_ts, INTERVAL '1' HOUR) OVER w AS amount_1h
    FROM transactions
    WINDOW w AS (PARTITION BY customer_id ORDER BY txn_ts, txn_id)
)
SELECT count(*) AS n, count(z) AS scored, count(*) FILTER (WHERE z > 3.5) AS outliers, avg(novelty) AS novelty,
       avg(rarity) AS rarity, sum(n_1h) AS n_1h, avg(amount_1h) AS amount_1h
FROM f
"""

DUCK_BEHAVIOUR = """
WITH t AS (SELECT *, hour(txn_ts) AS hr FROM transactions),
f AS (
    SELECT (amount - median(amount) OVER w20) / NULLIF(1.4826 * mad(amount) OVER w20, 0) AS z,
           1 - CAST(count(*) OVER wc AS DOUBLE) / NULLIF(count(*) OVER wp, 0) AS novelty,
           1 - CAST(count(*) OVER wh AS DOUBLE) / NULLIF(count(*) OVER wp, 0) AS rarity,
           count(*) OVER h - count(*) OVER later AS n_1h,
           sum(amount) OVER h - coalesce(sum(amount) OVER later, 0) AS amount_1h
    FROM t
    WINDOW w20 AS (PARTITION BY customer_id ORDER BY txn_ts, txn_id ROWS BETWEEN 20 PRECEDING AND 1 PRECEDING),
           wp AS (PARTITION BY customer_id ORDER BY txn_ts, txn_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
           wc AS (PARTITION BY customer_id, merchant_category ORDER BY txn_ts, txn_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
           wh AS (PARTITION BY customer_id, hr ORDER BY txn_ts, txn_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
           h AS (PARTITION BY customer_id ORDER BY txn_ts RANGE BETWEEN INTERVAL 1 HOUR PRECEDING AND CURRENT ROW),
           later AS (PARTITION BY customer_id, txn_ts ORDER BY txn_id ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
)
SELECT count(*) AS n, count(z) AS scored, count(*) FILTER (WHERE z > 3.5) AS outliers, avg(novelty) AS novelty,
       avg(rarity) AS rarity, sum(n_1h) AS n_1h, avg(amount_1h) AS amount_1h
FROM f
"""

# Data-quality profile of the transactions table (persona profile's query): Persona's column_profile computes
# every field of the profile (HyperLogLog distinct counts, t-digest quantiles, top values, domain checks) for
# six columns in one pass; the answer compared is the part plain SQL and DuckDB can state exactly — rows,
# NULLs, min, max, mean, standard deviation and negatives of amount, the time range and future rows, the
# category range — which is all they compute.
PERSONA_PROFILE = """
WITH p AS (
    SELECT column_profile(txn_id) AS id, column_profile(customer_id) AS customer,
           column_profile(txn_ts, NULL, TIMESTAMP '2026-01-01 00:00:00') AS ts, column_profile(amount) AS amount,
           column_profile(merchant_category) AS category, column_profile(channel) AS channel
    FROM transactions
)
SELECT amount['rows'] AS n, amount['nulls'] AS nulls, CAST(amount['min'] AS DOUBLE) AS min_amount,
       CAST(amount['max'] AS DOUBLE) AS max_amount, amount['mean'] AS mean_amount, amount['std_dev'] AS sd_amount,
       amount['negative'] AS negatives, ts['min'] AS first_ts, ts['max'] AS last_ts, ts['future'] AS future,
       category['min'] AS first_category, category['max'] AS last_category, channel['nulls'] AS channel_nulls,
       CAST(id['max'] AS BIGINT) AS max_id, CAST(customer['min'] AS BIGINT) AS min_customer
FROM p
"""

PLAIN_PROFILE = """
SELECT count(*) AS n, count(*) - count(amount) AS nulls, min(amount) AS min_amount, max(amount) AS max_amount,
       avg(amount) AS mean_amount, stddev_samp(amount) AS sd_amount, count(*) FILTER (WHERE amount < 0) AS negatives,
       strftime(min(txn_ts), '%Y-%m-%d %H:%M:%S') AS first_ts, strftime(max(txn_ts), '%Y-%m-%d %H:%M:%S') AS last_ts,
       count(*) FILTER (WHERE txn_ts > TIMESTAMP '2026-01-01 00:00:00') AS future,
       min(merchant_category) AS first_category, max(merchant_category) AS last_category,
       count(*) - count(channel) AS channel_nulls, max(txn_id) AS max_id, min(customer_id) AS min_customer
FROM transactions
"""
PLAIN_PROFILE_DF = PLAIN_PROFILE.replace("strftime(min(txn_ts), '%Y-%m-%d %H:%M:%S')", "to_char(min(txn_ts), '%Y-%m-%d %H:%M:%S')").replace(
    "strftime(max(txn_ts), '%Y-%m-%d %H:%M:%S')", "to_char(max(txn_ts), '%Y-%m-%d %H:%M:%S')")

WORKLOADS = [
    ('rfm_segments', PERSONA_RFM, PLAIN_RFM, PLAIN_RFM),
    ('psi_9_features_x_12_months', PERSONA_PSI, plain_psi(lambda p: f'percentile_cont({p}) WITHIN GROUP (ORDER BY value)'),
     plain_psi(lambda p: f'quantile_cont(value, {p})')),
    ('psi_wide_9_features_x_12_months', PERSONA_PSI_WIDE,
     plain_psi_wide(lambda x, p: f'percentile_cont({p}) WITHIN GROUP (ORDER BY {x})'),
     plain_psi_wide(lambda x, p: f'quantile_cont({x}, {p})')),
    ('campaign_lift_by_age_band', PERSONA_LIFT, PLAIN_LIFT, PLAIN_LIFT),
    ('pair_rules', PERSONA_PAIRS, PLAIN_PAIRS, PLAIN_PAIRS),
    ('auc_ks_per_month', PERSONA_AUC, PLAIN_AUC, PLAIN_AUC),
    ('item_similarity', PERSONA_SIMILARITY, PLAIN_SIMILARITY, PLAIN_SIMILARITY),
    ('behavioural_features', PERSONA_BEHAVIOUR, None, DUCK_BEHAVIOUR),
    ('profile_transactions', PERSONA_PROFILE, PLAIN_PROFILE_DF, PLAIN_PROFILE),
]

# The workloads that also run on the Online Retail lake (`--scales online_retail`): its customers and
# stock codes as `baskets(customer_id, item)`.
ONLINE_RETAIL_WORKLOADS = {'item_similarity'}

# The lower bound: DataFusion scanning the columns each workload reads, from the same files, and
# summing them (one aggregate per column, no grouping, no sorting).
SCAN_BOUNDS = {
    'rfm_segments': "SELECT count(*), sum(customer_id), sum(amount), max(txn_ts) FROM transactions WHERE amount > 0",
    'psi_9_features_x_12_months': "SELECT count(snapshot_month), " + ', '.join(f'sum({f})' for f in FEATURES) +
                                  " FROM credit_scores",
    'psi_wide_9_features_x_12_months': "SELECT count(snapshot_month), " + ', '.join(f'sum({f})' for f in FEATURES) +
                                       " FROM credit_scores",
    'campaign_lift_by_age_band': "SELECT sum(k.campaign_id + k.customer_id), count(*) FILTER (WHERE k.arm = 'treatment'), "
                                 "count(*) FILTER (WHERE k.converted), (SELECT sum(customer_id + birth_year) FROM customers) "
                                 "FROM campaign_contacts k",
    'pair_rules': "SELECT sum(order_id), sum(length(item)) FROM baskets",
    'profile_transactions': "SELECT sum(txn_id), sum(customer_id), max(txn_ts), sum(amount), sum(length(merchant_category)), "
                            "sum(length(channel)) FROM transactions",
    'auc_ks_per_month': "SELECT count(snapshot_month), sum(score), count(*) FILTER (WHERE default_12m) FROM credit_scores",
    'item_similarity': "SELECT sum(customer_id), sum(length(item)) FROM baskets",
    'behavioural_features': "SELECT count(*), sum(customer_id), sum(amount), max(txn_ts), max(txn_id), "
                            "max(merchant_category) FROM transactions",
}


def online_retail_lake(lakes):
    """Online Retail (../shared/data) as a one-table lake: baskets(customer_id, item) for the rows
    with a CustomerID, invoices not starting with C, Quantity > 0; item = StockCode stripped."""
    lake = os.path.join(lakes, 'online-retail')
    part = os.path.join(lake, 'baskets', 'part-0.parquet')
    if not os.path.isfile(part):
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
        source = os.path.join(ROOT, '..', 'shared', 'data', 'online_retail', 'online_retail.csv.gz')
        table = pacsv.read_csv(source, convert_options=pacsv.ConvertOptions(
            column_types={'InvoiceNo': pa.string(), 'StockCode': pa.string()}))
        keep = pc.and_(pc.and_(pc.is_valid(table['CustomerID']), pc.invert(pc.starts_with(table['InvoiceNo'], 'C'))),
                       pc.greater(table['Quantity'], 0))
        table = table.filter(keep)
        out = pa.table({'customer_id': pc.cast(table['CustomerID'], pa.int64()),
                        'item': pc.utf8_trim_whitespace(table['StockCode'])})
        os.makedirs(os.path.dirname(part), exist_ok=True)
        pq.write_table(out, part)
    return lake

DUCKDB_RUNNER = r'''
import sys, duckdb, os
lake, sql = sys.argv[1], sys.stdin.read()
con = duckdb.connect()
con.execute(f"SET threads = {os.cpu_count()}")
con.execute("SET enable_progress_bar = false")
if os.environ.get('DUCKDB_TEMP_DIRECTORY'):  # where it spills (default: .tmp in the working directory)
    con.execute(f"SET temp_directory = '{os.environ['DUCKDB_TEMP_DIRECTORY']}'")
if os.environ.get('DUCKDB_MAX_TEMP'):  # how much it may spill (default: 90% of the free disk)
    con.execute(f"SET max_temp_directory_size = '{os.environ['DUCKDB_MAX_TEMP']}'")
for table in sorted(os.listdir(lake)):
    path = os.path.join(lake, table)
    if os.path.isdir(path) and not table.startswith(('.', '_')):
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{path}/**/*.parquet', hive_partitioning = true)")
# how much DuckDB spills: the largest size of its temporary files, polled from a second cursor
import threading
spilled, done = [0], threading.Event()
def watch(cursor):
    while not done.wait(0.25):
        size = cursor.execute("SELECT coalesce(sum(size), 0) FROM duckdb_temporary_files()").fetchone()[0]
        spilled[0] = max(spilled[0], int(size))
watcher = threading.Thread(target=watch, args=(con.cursor(),), daemon=True)
watcher.start()
rows = con.execute(sql).fetchall()
done.set()
watcher.join()
for row in rows:
    print(','.join('' if v is None else str(v) for v in row))
print(f'spilled_bytes={spilled[0]}', file=sys.stderr)
'''


def timed(cmd, stdin=None):
    """Runs cmd under GNU time; returns (seconds, peak RSS MiB, stdout, stderr)."""
    with tempfile.NamedTemporaryFile('r', suffix='.time') as report:
        proc = subprocess.run(['/usr/bin/time', '-o', report.name, '-f', '%e %M'] + cmd, input=stdin,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f'{cmd[0]} failed: {proc.stderr[-2000:]}')
        seconds, kib = report.read().split()[-2:]
    return float(seconds), int(kib) / 1024, proc.stdout, proc.stderr


def cell(result, key, spec):
    """A number for the table, or why the run failed."""
    if result[key] is not None:
        return format(result[key], spec)
    return '—' if result['error'] == 'no plain-SQL form' else f"fails ({result['error'][:100]})"


def normalise(output):
    """Rows of the CSV output, numbers rounded to 6 significant digits, dates as YYYY-MM-DD."""
    rows = []
    for line in output.strip().splitlines():
        cells = []
        for cell in line.split(','):
            cell = cell.strip()
            try:
                cells.append(f'{float(cell):.6g}')
            except ValueError:
                cells.append(cell[:10] if cell[:4].isdigit() and cell[4:5] == '-' else cell)
        rows.append(tuple(cells))
    return rows


def run_engine(engine, lake, sql, pool=None):
    """(seconds, peak RSS MiB, answer rows as CSV, bytes DuckDB spilled or None)."""
    if engine == 'duckdb':
        with tempfile.TemporaryDirectory(prefix='duckdb-spill-', dir=os.path.dirname(lake)) as spill:
            os.environ['DUCKDB_TEMP_DIRECTORY'] = spill  # next to the lake, removed after the run
            seconds, rss, out, err = timed([sys.executable, '-c', DUCKDB_RUNNER, lake], stdin=sql)
        spilled = [int(line.split('=')[1]) for line in err.splitlines() if line.startswith('spilled_bytes=')]
        return seconds, rss, out, spilled[-1] if spilled else None
    memory = ['--memory-limit', pool] if engine == 'persona_pool' else []
    seconds, rss, out, _ = timed([PERSONA, '-q', '--format', 'csv', '--lake', lake] + memory + ['-c', sql])
    return seconds, rss, '\n'.join(out.strip().splitlines()[1:]), None  # drop the CSV header


def save(path, results):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(results, f, indent=1)


def ensure_duckdb():
    """Re-runs the script in a venv with the pinned packages unless duckdb is importable."""
    try:
        import duckdb  # noqa: F401
        return
    except ImportError:
        pass
    python = os.path.join(VENV, 'bin', 'python')
    if os.environ.get('PERSONA_BENCH_VENV'):
        sys.exit(f'duckdb is not importable in {sys.executable}')
    if not os.path.exists(python):
        subprocess.run([sys.executable, '-m', 'venv', VENV], check=True)
    subprocess.run([python, '-m', 'pip', 'install', '--quiet', *PINNED], check=True)
    os.environ['PERSONA_BENCH_VENV'] = '1'
    os.execv(python, [python, *sys.argv])


def main():
    ensure_duckdb()
    ap = argparse.ArgumentParser()
    ap.add_argument('--scales', default='100000,1000000')
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--workloads', default='', help='comma-separated names; default all')
    ap.add_argument('--lakes', default=os.path.join(ROOT, 'target', 'bench-lakes'))
    ap.add_argument('--chart', default=os.path.join(ROOT, 'benches', 'duckdb_scaling.svg'))
    ap.add_argument('--json', default=os.path.join(ROOT, 'target', 'bench-lakes', 'duckdb_compare.json'))
    ap.add_argument('--pool', default='', help='also run Persona with this memory limit (e.g. 256M)')
    ap.add_argument('--no-scan', action='store_true', help='skip the bare-scan lower bound')
    ap.add_argument('--skip', default='', help='comma-separated engines not to run (plain_sql, duckdb, persona_pool, scan)')
    ap.add_argument('--duckdb-max-temp', default='', help="cap DuckDB's spill files (e.g. 8GB), so a spill "
                    'that would fill the disk fails alone')
    ap.add_argument('--no-warmup', action='store_true', help='time the first run (for lakes larger than the page cache)')
    ap.add_argument('--merge', default='', help="previous runs' --json files (comma-separated) to include in the "
                    "table and chart; with --scales '' only the table and chart are made")
    args = ap.parse_args()
    if args.duckdb_max_temp:
        os.environ['DUCKDB_MAX_TEMP'] = args.duckdb_max_temp
    results = []
    for path in filter(None, args.merge.split(',')):
        with open(path) as f:
            results += json.load(f)
    for scale in [s if s == 'online_retail' else int(s) for s in args.scales.split(',') if s]:
        if scale == 'online_retail':
            lake = online_retail_lake(args.lakes)
        else:
            lake = os.path.join(args.lakes, f'lake-{scale}-seed42')
        if scale != 'online_retail' and not os.path.isfile(os.path.join(lake, '_truth.json')):
            subprocess.run([PERSONA, 'generate', '--out', lake, '--customers', str(scale), '--seed', '42', '--force'],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name, persona_sql, plain_sql, duck_sql in WORKLOADS:
            if args.workloads and name not in args.workloads.split(','):
                continue
            if scale == 'online_retail' and name not in ONLINE_RETAIL_WORKLOADS:
                continue
            answers = {}
            engines = [('persona', persona_sql), ('plain_sql', plain_sql), ('duckdb', duck_sql)]
            if args.pool:
                engines.append(('persona_pool', persona_sql))
            if not args.no_scan:
                engines.append(('scan', SCAN_BOUNDS[name]))
            skipped = set(filter(None, args.skip.split(',')))
            if 'persona' in skipped:
                raise SystemExit('--skip: Persona is the engine every other answer is compared with')
            for engine, sql in engines:
                if sql is None or engine in skipped:  # no plain-SQL form on this engine, or not asked for
                    continue
                try:
                    first = run_engine(engine, lake, sql, args.pool)  # warm-up, or the first timed run
                except RuntimeError as error:
                    if engine == 'persona':
                        raise
                    # a small pool may be too small, a plain-SQL plan may run out of memory at a large
                    # scale: record how it fails, do not stop
                    text = str(error)
                    if 'Resources exhausted: ' in text:
                        reason = text.split('Resources exhausted: ')[-1].split(' - ')[0][-160:]
                    else:  # the last line naming an error, e.g. DuckDB's "IO Error: … No space left on device"
                        lines = [line for line in text.splitlines() if line.strip()]
                        named = [m.group(0) for m in map(re.compile(r'([A-Z][\w ]*)?Error: .*').search, lines) if m]
                        reason = (named or lines)[-1][:200]
                    results.append(dict(scale=scale, workload=name, engine=engine, seconds=None, rss_mib=None,
                                        error=reason, pool=args.pool if engine == 'persona_pool' else None,
                                        cold=args.no_warmup))
                    print(f'{scale:>9} {name:28} {engine:10} failed: {reason}', flush=True)
                    continue
                runs = [first] if args.no_warmup else []
                runs += [run_engine(engine, lake, sql, args.pool) for _ in range(args.runs - len(runs))]
                if engine != 'scan':
                    answers[engine] = normalise(runs[0][2])
                median = statistics.median(r[0] for r in runs)
                rss = max(r[1] for r in runs)
                spills = [r[3] for r in runs if r[3] is not None]
                spilled = max(spills) if spills else None
                results.append(dict(scale=scale, workload=name, engine=engine, seconds=median, rss_mib=rss,
                                    pool=args.pool if engine == 'persona_pool' else None, spilled_bytes=spilled,
                                    cold=args.no_warmup))
                spill_note = f' spilled {spilled / 2**20:.0f} MiB' if spilled else ''
                print(f'{scale:>9} {name:28} {engine:10} {median:8.2f} s {rss:8.0f} MiB{spill_note}', flush=True)
            if any(rows != answers['persona'] for rows in answers.values()):
                for engine, rows in answers.items():
                    print(f'  {engine}: {rows[:5]}', file=sys.stderr)
                sys.exit(f'answers differ for {name} at {scale}')
            save(args.json, results)  # after every workload: a long run that stops keeps what it measured
    save(args.json, results)
    print('\n| scale | workload | Persona s | plain SQL s | DuckDB s | Persona / DuckDB | peak RSS MiB (P / SQL / Duck) '
          '| bare scan s | Persona / scan |')
    print('|---|---|---|---|---|---|---|---|---|')
    for scale in sorted({r['scale'] for r in results}, key=lambda s: (isinstance(s, str), str(s).zfill(12))):
        for name, *_ in WORKLOADS:
            get = {r['engine']: r for r in results if r['scale'] == scale and r['workload'] == name}
            if {'persona', 'duckdb'} <= get.keys():
                p, d = get['persona'], get['duckdb']
                s = get.get('plain_sql', dict(seconds=None, rss_mib=None, error='no plain-SQL form'))
                scan = get.get('scan')
                bound = f"{scan['seconds']:.2f} | {p['seconds'] / scan['seconds']:.2f}" if scan and scan['seconds'] else '— | —'
                ratio = f"{p['seconds'] / d['seconds']:.2f}" if d['seconds'] else '—'
                label = 'Online Retail' if scale == 'online_retail' else f'{scale:,}'
                label += ' *' if any(r.get('cold') for r in get.values()) else ''  # first runs, lake read from disk
                print(f"| {label} | {name} | {p['seconds']:.2f} | {cell(s, 'seconds', '.2f')} | "
                      f"{cell(d, 'seconds', '.2f')} | {ratio} | {p['rss_mib']:.0f} / {cell(s, 'rss_mib', '.0f')} / "
                      f"{cell(d, 'rss_mib', '.0f')} | {bound} |")
    if any(r.get('cold') for r in results):
        print('\n\\* first (cold) runs, timed without a warm-up (`--no-warmup`)')
    pooled = [r for r in results if r['engine'] == 'persona_pool']
    if pooled:
        print('\nPersona with a memory limit (same answers):\n')
        print('| scale | workload | limit | seconds | peak RSS MiB | unlimited seconds | unlimited RSS MiB |')
        print('|---|---|---|---|---|---|---|')
        for r in pooled:
            free = next(x for x in results if x['engine'] == 'persona' and x['scale'] == r['scale']
                        and x['workload'] == r['workload'])
            print(f"| {r['scale']:,} | {r['workload']} | {r.get('pool', '')} | {cell(r, 'seconds', '.2f')} | "
                  f"{cell(r, 'rss_mib', '.0f')} | {free['seconds']:.2f} | {free['rss_mib']:.0f} |")
    spilled = [r for r in results if r.get('spilled_bytes')]
    if spilled:
        print('\nDuckDB spilled to disk (largest size of its temporary files, polled every 0.25 s):\n')
        for r in spilled:
            print(f"- {r['scale']:,} {r['workload']}: {r['spilled_bytes'] / 2**20:,.0f} MiB")
    results = [r for r in results if r['scale'] != 'online_retail']  # the chart is over demo-lake scales
    scales = {r['scale'] for r in results if r['seconds'] is not None}
    if len(scales) < 2:
        print('one scale only: no chart')
        return
    try:
        import matplotlib
    except ImportError:
        print('matplotlib not installed: no chart')
        return
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = [name for name, *_ in WORKLOADS if any(r['workload'] == name for r in results)]
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.5), sharey=False, squeeze=False)
    for ax, name in zip(axes[0], names):
        for engine in ['persona', 'plain_sql', 'duckdb']:
            points = sorted((r['scale'], r['seconds']) for r in results
                            if r['workload'] == name and r['engine'] == engine and r['seconds'] is not None)
            ax.plot([p[0] for p in points], [p[1] for p in points], marker='o', label=engine)
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_title(name, fontsize=9)
        ax.set_xlabel('customers')
    axes[0][0].set_ylabel('median seconds')
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.chart)
    print(f'chart: {args.chart}')


if __name__ == '__main__':
    main()

-- Fraud monitoring (异常交易监控) on card transactions: behavioural features of each transaction against
-- the customer's own history (robust_zscore, category_novelty, hour_rarity, velocity_count and
-- velocity_sum, all streaming over transactions sorted by customer and time), scored three ways — expert rules, an isolation forest (isolation_forest_fit,
-- isolation_forest_score) and a decision tree (decision_tree_fit, decision_tree_predict) — and judged
-- against the generator's planted fraud (fraud_labels, see _truth.json). The models learn from the
-- earlier months. The last four months are the test: each method raises its top 0.5% of test
-- transactions as alerts (the team's review budget) and is reported with precision, recall and AUC.

-- The planted fraud: transactions and customers per pattern
SELECT pattern, count(*) AS transactions, count(DISTINCT customer_id) AS customers,
       min(date_trunc('month', txn_ts)) AS first_month, max(date_trunc('month', txn_ts)) AS last_month
FROM fraud_labels
GROUP BY pattern
ORDER BY pattern;

-- Behavioural features of fraudulent and ordinary transactions: amount z-score against the customer's
-- previous 20 transactions, category novelty, hour-of-day rarity, transactions and amount in the last hour
WITH features AS (
    SELECT coalesce(l.pattern, 'ordinary') AS kind,
           robust_zscore(t.amount, 20) OVER w AS amount_z,
           category_novelty(t.merchant_category) OVER w AS category_novelty,
           hour_rarity(t.txn_ts) OVER w AS hour_rarity,
           velocity_count(t.txn_ts, INTERVAL '1' HOUR) OVER w AS txns_1h,
           velocity_sum(t.amount, t.txn_ts, INTERVAL '1' HOUR) OVER w AS amount_1h
    FROM transactions t LEFT JOIN (SELECT txn_id, pattern FROM fraud_labels) l ON l.txn_id = t.txn_id
    WINDOW w AS (PARTITION BY t.customer_id ORDER BY t.txn_ts, t.txn_id)
)
SELECT kind, count(*) AS transactions,
       round(median(amount_z), 2) AS median_amount_z, round(avg(category_novelty), 3) AS avg_category_novelty,
       round(avg(hour_rarity), 3) AS avg_hour_rarity, round(avg(txns_1h), 2) AS avg_txns_1h,
       round(median(amount_1h), 2) AS median_amount_1h
FROM features
GROUP BY kind
ORDER BY kind = 'ordinary', kind;

-- Rules, isolation forest and decision tree on the test months (top 0.5% of transactions alerted):
-- rules count the red flags (amount z > 6, a never-used category, a rare hour, 3+ purchases in an
-- hour), the forest (200 trees of 256) is fitted on the earlier months without labels, the tree
-- (depth 4, 20 per leaf) on the earlier months' labels. The models enter as scalar subqueries, read
-- once (a CROSS JOIN would copy the forest into every row), and every test transaction is scored by
-- all three in one pass
WITH features AS (
    SELECT t.txn_id, l.pattern IS NOT NULL AS fraud,
           t.txn_ts >= (SELECT max(date_trunc('month', txn_ts)) FROM transactions) - INTERVAL '3' MONTH AS test,
           [coalesce(robust_zscore(t.amount, 20) OVER w, 0),
            coalesce(category_novelty(t.merchant_category) OVER w, 0),
            coalesce(hour_rarity(t.txn_ts) OVER w, 0),
            velocity_count(t.txn_ts, INTERVAL '1' HOUR) OVER w,
            ln(velocity_sum(abs(t.amount), t.txn_ts, INTERVAL '1' HOUR) OVER w + 1)] AS x
    FROM transactions t LEFT JOIN (SELECT txn_id, pattern FROM fraud_labels) l ON l.txn_id = t.txn_id
    WINDOW w AS (PARTITION BY t.customer_id ORDER BY t.txn_ts, t.txn_id)
), forest AS (
    SELECT isolation_forest_fit(x, 200, 256, 42) AS model FROM features WHERE NOT test
), tree AS (
    SELECT decision_tree_fit(fraud, x, 4, 20) AS model FROM features WHERE NOT test
), scored AS (
    SELECT txn_id, fraud,
           CAST(x[1] > 6 AS INT) + CAST(x[2] = 1 AS INT) + CAST(x[3] > 0.95 AS INT) + CAST(x[4] >= 3 AS INT) + x[1] / 1000.0 AS rules,
           isolation_forest_score((SELECT model FROM forest), x) AS isolation_forest,
           decision_tree_predict((SELECT model FROM tree), x) AS decision_tree
    FROM features WHERE test
), ranked AS (
    SELECT *, count(*) OVER () AS n,
           row_number() OVER (ORDER BY rules DESC, txn_id) AS rules_rank,
           row_number() OVER (ORDER BY isolation_forest DESC, txn_id) AS forest_rank,
           row_number() OVER (ORDER BY decision_tree DESC, txn_id) AS tree_rank
    FROM scored
), summary AS (
    SELECT max(n) AS n, ceil(max(n) * 0.005) AS alerts, count(*) FILTER (WHERE fraud) AS fraudulent,
           count(*) FILTER (WHERE fraud AND rules_rank <= ceil(n * 0.005)) AS rules_hits,
           count(*) FILTER (WHERE fraud AND forest_rank <= ceil(n * 0.005)) AS forest_hits,
           count(*) FILTER (WHERE fraud AND tree_rank <= ceil(n * 0.005)) AS tree_hits,
           auc(rules, fraud) AS rules_auc, auc(isolation_forest, fraud) AS forest_auc, auc(decision_tree, fraud) AS tree_auc
    FROM ranked
), methods AS (
    SELECT m.method, s.n, s.alerts, s.fraudulent,
           CASE m.method WHEN 'rules' THEN s.rules_hits WHEN 'isolation_forest' THEN s.forest_hits ELSE s.tree_hits END AS hits,
           CASE m.method WHEN 'rules' THEN s.rules_auc WHEN 'isolation_forest' THEN s.forest_auc ELSE s.tree_auc END AS auc
    FROM summary s CROSS JOIN (VALUES ('rules'), ('isolation_forest'), ('decision_tree')) m(method)
)
SELECT method, n AS test_transactions, CAST(alerts AS BIGINT) AS alerts, fraudulent,
       round(CAST(hits AS DOUBLE) / alerts, 3) AS precision,
       round(CAST(hits AS DOUBLE) / fraudulent, 3) AS recall,
       round(auc, 4) AS auc
FROM methods
ORDER BY auc DESC;

-- The decision tree as rules a risk committee can sign off (trained on the earlier months)
WITH features AS (
    SELECT l.pattern IS NOT NULL AS fraud,
           t.txn_ts >= (SELECT max(date_trunc('month', txn_ts)) FROM transactions) - INTERVAL '3' MONTH AS test,
           [coalesce(robust_zscore(t.amount, 20) OVER w, 0),
            coalesce(category_novelty(t.merchant_category) OVER w, 0),
            coalesce(hour_rarity(t.txn_ts) OVER w, 0),
            velocity_count(t.txn_ts, INTERVAL '1' HOUR) OVER w,
            ln(velocity_sum(abs(t.amount), t.txn_ts, INTERVAL '1' HOUR) OVER w + 1)] AS x
    FROM transactions t LEFT JOIN (SELECT txn_id, pattern FROM fraud_labels) l ON l.txn_id = t.txn_id
    WINDOW w AS (PARTITION BY t.customer_id ORDER BY t.txn_ts, t.txn_id)
)
SELECT unnest(decision_tree_rules(decision_tree_fit(fraud, x, 4, 20),
                                  ['amount_z', 'category_novelty', 'hour_rarity', 'txns_1h', 'log_amount_1h'])) AS rule
FROM features
WHERE NOT test;

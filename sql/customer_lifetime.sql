-- Customer lifetime value and lifecycle (客户生命周期管理): the BG/NBD and Gamma-Gamma models of
-- lifetimes in SQL. Calibration period to 2025-09-30, holdout 2025-10-01 .. 2025-12-31, time in days,
-- purchases only (refunds have negative amounts). clv_summary gives lifetimes' frequency / recency
-- / T / monetary_value per customer; the fits are aggregates, so GROUP BY fits one model per segment.

-- BG/NBD and Gamma-Gamma fitted per acquisition channel on the calibration period
WITH calibration AS (
    SELECT customer_id, clv_summary(txn_ts, amount, DATE '2025-09-30') AS s
    FROM transactions
    WHERE amount > 0
    GROUP BY customer_id
), fits AS (
    SELECT c.acquisition_channel AS channel,
           bgnbd_fit(s['frequency'], s['recency'], s['T']) AS bg,
           gamma_gamma_fit(s['frequency'], s['monetary_value']) AS gg
    FROM calibration JOIN customers c USING (customer_id)
    GROUP BY c.acquisition_channel
)
SELECT channel, bg['n'] AS customers,
       round(bg['r'], 3) AS r, round(bg['alpha'], 2) AS alpha, round(bg['a'], 3) AS a, round(bg['b'], 3) AS b,
       bg['converged'] AS bgnbd_converged,
       gg['n'] AS repeat_customers, round(gg['p'], 3) AS p, round(gg['q'], 3) AS q, round(gg['v'], 2) AS v,
       gg['converged'] AS gamma_gamma_converged
FROM fits
ORDER BY channel;

-- Predicted vs actual purchases in the holdout by calibration repeat purchases (Fader, Hardie & Lee 2005, fig. 2);
-- BG/NBD knows no seasons, so it under-predicts a holdout that holds the November peak
WITH per_customer AS (
    SELECT customer_id,
           clv_summary(txn_ts, amount, DATE '2025-09-30') AS s,
           clv_holdout(txn_ts, DATE '2025-09-30', DATE '2025-12-31') AS h
    FROM transactions
    WHERE amount > 0
    GROUP BY customer_id
), model AS (
    SELECT bgnbd_fit(s['frequency'], s['recency'], s['T']) AS bg FROM per_customer
)
SELECT least(s['frequency'], 12) AS calibration_repeats, count(*) AS customers,
       round(avg(h['frequency_holdout']), 3) AS actual_holdout_purchases,
       round(avg(bgnbd_expected_purchases(bg, h['duration_holdout'], s['frequency'], s['recency'], s['T'])), 3)
           AS predicted_holdout_purchases
FROM per_customer, model
WHERE s IS NOT NULL
GROUP BY 1
ORDER BY 1;

-- P(alive) at the end of calibration by decile, against buying again in the holdout (P(alive) is 1 for a
-- customer without repeat purchases, lifetimes' convention: the first decile holds them)
WITH per_customer AS (
    SELECT customer_id,
           clv_summary(txn_ts, amount, DATE '2025-09-30') AS s,
           clv_holdout(txn_ts, DATE '2025-09-30', DATE '2025-12-31') AS h
    FROM transactions
    WHERE amount > 0
    GROUP BY customer_id
), model AS (
    SELECT bgnbd_fit(s['frequency'], s['recency'], s['T']) AS bg FROM per_customer
), scored AS (
    SELECT customer_id, bgnbd_p_alive(bg, s['frequency'], s['recency'], s['T']) AS p_alive,
           h['frequency_holdout'] > 0 AS bought_again
    FROM per_customer, model
    WHERE s IS NOT NULL
), deciles AS (
    SELECT *, ntile(10) OVER (ORDER BY p_alive DESC, customer_id) AS decile FROM scored
)
SELECT decile, count(*) AS customers, round(min(p_alive), 3) AS min_p_alive, round(avg(p_alive), 3) AS mean_p_alive,
       round(avg(CASE WHEN bought_again THEN 1.0 ELSE 0.0 END), 3) AS bought_again_share
FROM deciles
GROUP BY decile
ORDER BY decile;

-- How well P(alive) ranks who buys again: AUC and KS over all customers
WITH per_customer AS (
    SELECT customer_id,
           clv_summary(txn_ts, amount, DATE '2025-09-30') AS s,
           clv_holdout(txn_ts, DATE '2025-09-30', DATE '2025-12-31') AS h
    FROM transactions
    WHERE amount > 0
    GROUP BY customer_id
), model AS (
    SELECT bgnbd_fit(s['frequency'], s['recency'], s['T']) AS bg FROM per_customer
), scored AS (
    SELECT bgnbd_p_alive(bg, s['frequency'], s['recency'], s['T']) AS p_alive,
           h['frequency_holdout'] > 0 AS bought_again
    FROM per_customer, model
    WHERE s IS NOT NULL
)
SELECT count(*) AS customers, round(avg(CASE WHEN bought_again THEN 1.0 ELSE 0.0 END), 3) AS bought_again_share,
       round(auc(p_alive, bought_again), 4) AS auc, round(ks_statistic(p_alive, bought_again), 4) AS ks
FROM scored;

-- P(alive) at the end of calibration against the generator's planted churners (planted_churn, see _truth.json):
-- a customer whose churn month is October 2025 or earlier makes no purchase in the holdout
WITH per_customer AS (
    SELECT customer_id, clv_summary(txn_ts, amount, DATE '2025-09-30') AS s
    FROM transactions
    WHERE amount > 0
    GROUP BY customer_id
), model AS (
    SELECT bgnbd_fit(s['frequency'], s['recency'], s['T']) AS bg FROM per_customer
), scored AS (
    SELECT bgnbd_p_alive(bg, s['frequency'], s['recency'], s['T']) AS p_alive,
           coalesce(p.churn_month > DATE '2025-10-01', true) AS alive
    FROM per_customer LEFT JOIN planted_churn p USING (customer_id), model
    WHERE s IS NOT NULL
)
SELECT count(*) AS customers, count(*) FILTER (WHERE NOT alive) AS planted_churners,
       round(avg(p_alive) FILTER (WHERE alive), 3) AS mean_p_alive_alive,
       round(avg(p_alive) FILTER (WHERE NOT alive), 3) AS mean_p_alive_churned,
       round(auc(p_alive, alive), 4) AS auc
FROM scored;

-- Top customers by 12-month CLV (1% monthly discount), models fitted on the whole year
WITH per_customer AS (
    SELECT customer_id, clv_summary(txn_ts, amount, DATE '2025-12-31') AS s
    FROM transactions
    WHERE amount > 0
    GROUP BY customer_id
), models AS (
    SELECT bgnbd_fit(s['frequency'], s['recency'], s['T']) AS bg,
           gamma_gamma_fit(s['frequency'], s['monetary_value']) AS gg
    FROM per_customer
)
SELECT customer_id, s['frequency'] AS repeat_purchases, round(s['monetary_value'], 2) AS mean_spend,
       round(bgnbd_p_alive(bg, s['frequency'], s['recency'], s['T']), 3) AS p_alive,
       round(bgnbd_expected_purchases(bg, 365, s['frequency'], s['recency'], s['T']), 1) AS purchases_next_year,
       round(gamma_gamma_expected_spend(gg, s['frequency'], s['monetary_value']), 2) AS expected_spend,
       round(clv(bg, gg, s['frequency'], s['recency'], s['T'], s['monetary_value'], 12, 0.01), 0) AS clv_12m
FROM per_customer, models
ORDER BY clv_12m DESC, customer_id
LIMIT 10;

-- Cohort retention: customers buying n months after their first-purchase month, as a share of the cohort
WITH firsts AS (
    SELECT customer_id, date_trunc('month', min(txn_ts)) AS cohort
    FROM transactions
    WHERE amount > 0
    GROUP BY customer_id
), active AS (
    SELECT DISTINCT f.cohort, t.customer_id,
           (date_part('year', t.txn_ts) - date_part('year', f.cohort)) * 12
               + date_part('month', t.txn_ts) - date_part('month', f.cohort) AS months_since
    FROM transactions t JOIN firsts f USING (customer_id)
    WHERE t.amount > 0
), counts AS (
    SELECT cohort, months_since, count(*) AS customers FROM active GROUP BY cohort, months_since
)
SELECT to_char(cohort, '%Y-%m') AS cohort,
       max(customers) FILTER (WHERE months_since = 0) AS cohort_size,
       round(1.0 * max(customers) FILTER (WHERE months_since = 1) / max(customers) FILTER (WHERE months_since = 0), 3) AS m1,
       round(1.0 * max(customers) FILTER (WHERE months_since = 2) / max(customers) FILTER (WHERE months_since = 0), 3) AS m2,
       round(1.0 * max(customers) FILTER (WHERE months_since = 3) / max(customers) FILTER (WHERE months_since = 0), 3) AS m3,
       round(1.0 * max(customers) FILTER (WHERE months_since = 6) / max(customers) FILTER (WHERE months_since = 0), 3) AS m6,
       round(1.0 * max(customers) FILTER (WHERE months_since = 9) / max(customers) FILTER (WHERE months_since = 0), 3) AS m9
FROM counts
GROUP BY cohort
ORDER BY cohort;

-- Lifecycle stages as of 2026-01-01 (recent period: the 90 days before, prior period: the 90 days before that)
WITH per_customer AS (
    SELECT customer_id, min(txn_ts) AS first_purchase, max(txn_ts) AS last_purchase,
           count(*) FILTER (WHERE txn_ts >= TIMESTAMP '2025-10-03 00:00:00') AS recent_purchases,
           count(*) FILTER (WHERE txn_ts >= TIMESTAMP '2025-07-05 00:00:00' AND txn_ts < TIMESTAMP '2025-10-03 00:00:00')
               AS prior_purchases,
           sum(amount) AS spend
    FROM transactions
    WHERE amount > 0
    GROUP BY customer_id
)
SELECT lifecycle_stage(first_purchase, last_purchase, recent_purchases, prior_purchases, DATE '2026-01-01') AS stage,
       count(*) AS customers, round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct,
       round(avg(spend), 0) AS mean_spend_in_year
FROM per_customer
GROUP BY 1
ORDER BY customers DESC;

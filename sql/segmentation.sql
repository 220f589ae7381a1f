-- Customer segmentation (客户分群): RFM inputs with rfm(), quintile scores with quantile_score()
-- (the pandas qcut-of-ranks recipe, ties broken by customer_id), the standard R-F segment map,
-- and rule-based segments with segment_by(). As of the day after the lake ends (2026-01-01);
-- purchases only (refunds have negative amounts).

-- RFM summary: customers per segment with their median recency, frequency and spend
WITH inputs AS (
    SELECT customer_id, rfm(txn_ts, amount, DATE '2026-01-01') AS v
    FROM transactions
    WHERE amount > 0
    GROUP BY customer_id
), scored AS (
    SELECT customer_id,
           -- spend in cents: a float sum's last bits depend on the order rows are read in
           v['recency_days'] AS recency_days, v['frequency'] AS frequency, round(v['monetary'], 2) AS monetary,
           6 - quantile_score(5) OVER (ORDER BY v['recency_days'], customer_id) AS r,
           quantile_score(5) OVER (ORDER BY v['frequency'], customer_id) AS f,
           quantile_score(5) OVER (ORDER BY round(v['monetary'], 2), customer_id) AS m
    FROM inputs
)
SELECT rfm_segment(r, f) AS segment,
       count(*) AS customers,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct,
       median(recency_days) AS median_recency_days,
       median(frequency) AS median_purchase_days,
       round(median(monetary), 0) AS median_spend,
       round(sum(monetary) / sum(sum(monetary)) OVER (), 3) AS share_of_spend
FROM scored
GROUP BY 1
ORDER BY customers DESC;

-- The most valuable RFM cells (R, F and M digits): customers and spend
WITH inputs AS (
    SELECT customer_id, rfm(txn_ts, amount, DATE '2026-01-01') AS v
    FROM transactions
    WHERE amount > 0
    GROUP BY customer_id
), scored AS (
    SELECT customer_id, round(v['monetary'], 2) AS monetary,
           rfm_cell(6 - quantile_score(5) OVER (ORDER BY v['recency_days'], customer_id),
                    quantile_score(5) OVER (ORDER BY v['frequency'], customer_id),
                    quantile_score(5) OVER (ORDER BY round(v['monetary'], 2), customer_id)) AS cell
    FROM inputs
)
SELECT cell, count(*) AS customers, round(sum(CAST(monetary AS DECIMAL(18, 2))), 0) AS spend
FROM scored
GROUP BY cell
ORDER BY spend DESC
LIMIT 8;

-- Rule-based segments: age groups by break points (left-closed), with their income and city-tier mix
SELECT segment_by(2025 - birth_year, [25, 35, 45, 55], ['18-24', '25-34', '35-44', '45-54', '55+']) AS age_group,
       count(*) AS customers,
       round(avg(CASE WHEN income_band IN ('10k-20k', '20k-50k', '50k+') THEN 1.0 ELSE 0.0 END), 3) AS share_10k_plus,
       round(avg(CASE WHEN city_tier <= 2 THEN 1.0 ELSE 0.0 END), 3) AS share_top_tier_cities
FROM customers
GROUP BY 1
ORDER BY 1;

-- Behavioural clusters: k-means (k = 4) on standardised log recency, frequency and spend
-- (z-scores with the population standard deviation, as scikit-learn's StandardScaler)
WITH inputs AS (
    SELECT customer_id, rfm(txn_ts, amount, DATE '2026-01-01') AS v
    FROM transactions
    WHERE amount > 0
    GROUP BY customer_id
), logs AS (
    SELECT customer_id, v['recency_days'] AS recency_days, v['frequency'] AS frequency, round(v['monetary'], 2) AS monetary,
           ln(1 + v['recency_days']) AS lr, ln(1 + v['frequency']) AS lf, ln(1 + round(v['monetary'], 2)) AS lm
    FROM inputs
), z AS (
    SELECT *, [(lr - avg(lr) OVER ()) / stddev_pop(lr) OVER (),
               (lf - avg(lf) OVER ()) / stddev_pop(lf) OVER (),
               (lm - avg(lm) OVER ()) / stddev_pop(lm) OVER ()] AS features
    FROM logs
), model AS (
    SELECT kmeans(features, 4, 7) AS m FROM z
)
SELECT kmeans_assign(features, m['centroids']) AS cluster,
       count(*) AS customers,
       median(recency_days) AS median_recency_days,
       median(frequency) AS median_purchase_days,
       round(median(monetary), 0) AS median_spend,
       round(max(m['inertia']), 1) AS model_inertia
FROM z CROSS JOIN model
GROUP BY 1
ORDER BY 1;

-- Model and population drift monitor (模型监控): every feature of the credit model and its
-- outputs, month by month, against the lake's first month as the fixed baseline. The
-- production pattern: cut points from the baseline once (psi_edges), a histogram per month
-- on those cut points (psi_histogram, O(bins) memory), PSI of each month's histogram
-- against the baseline's (psi_from_counts). Bands: < 0.10 stable, 0.10-0.25 watch, > 0.25 drift.

-- PSI of every feature per month against the baseline month (10 baseline-decile bins, ε = 1e-4):
-- the largest and the latest PSI, the months in drift (PSI > 0.25) and since when
WITH baseline AS (
    SELECT min(snapshot_month) AS month FROM credit_scores
), edges AS (
    -- the baseline month's cut points, one list per feature (shared_edges: the one row is
    -- repeated to every row of the table below as a dictionary key, not a copied list)
    SELECT shared_edges(psi_edges(CAST(age AS DOUBLE), 10)) AS age,
           shared_edges(psi_edges(monthly_income, 10)) AS monthly_income,
           shared_edges(psi_edges(debt_to_income, 10)) AS debt_to_income,
           shared_edges(psi_edges(credit_utilization, 10)) AS credit_utilization,
           shared_edges(psi_edges(CAST(num_open_loans AS DOUBLE), 10)) AS num_open_loans,
           shared_edges(psi_edges(CAST(overdue_count_12m AS DOUBLE), 10)) AS overdue_count_12m,
           shared_edges(psi_edges(CAST(app_logins_30d AS DOUBLE), 10)) AS app_logins_30d,
           shared_edges(psi_edges(pd_12m, 10)) AS pd_12m,
           shared_edges(psi_edges(CAST(score AS DOUBLE), 10)) AS score
    FROM credit_scores WHERE snapshot_month = (SELECT month FROM baseline)
), histograms AS (
    -- one pass over the table as it is stored (a column per feature): every feature binned on
    -- its baseline cut points
    SELECT c.snapshot_month,
           psi_histogram(CAST(c.age AS DOUBLE), e.age) AS age,
           psi_histogram(c.monthly_income, e.monthly_income) AS monthly_income,
           psi_histogram(c.debt_to_income, e.debt_to_income) AS debt_to_income,
           psi_histogram(c.credit_utilization, e.credit_utilization) AS credit_utilization,
           psi_histogram(CAST(c.num_open_loans AS DOUBLE), e.num_open_loans) AS num_open_loans,
           psi_histogram(CAST(c.overdue_count_12m AS DOUBLE), e.overdue_count_12m) AS overdue_count_12m,
           psi_histogram(CAST(c.app_logins_30d AS DOUBLE), e.app_logins_30d) AS app_logins_30d,
           psi_histogram(c.pd_12m, e.pd_12m) AS pd_12m,
           psi_histogram(CAST(c.score AS DOUBLE), e.score) AS score
    FROM credit_scores c CROSS JOIN edges e
    GROUP BY c.snapshot_month
), psi_by_month AS (
    -- each month's histograms against the first (baseline) month's, a row per feature
    SELECT snapshot_month,
           unnest(['age', 'monthly_income', 'debt_to_income', 'credit_utilization', 'num_open_loans', 'overdue_count_12m', 'app_logins_30d', 'pd_12m', 'score']) AS feature,
           unnest([psi_from_counts(first_value(age) OVER w, age),
                   psi_from_counts(first_value(monthly_income) OVER w, monthly_income),
                   psi_from_counts(first_value(debt_to_income) OVER w, debt_to_income),
                   psi_from_counts(first_value(credit_utilization) OVER w, credit_utilization),
                   psi_from_counts(first_value(num_open_loans) OVER w, num_open_loans),
                   psi_from_counts(first_value(overdue_count_12m) OVER w, overdue_count_12m),
                   psi_from_counts(first_value(app_logins_30d) OVER w, app_logins_30d),
                   psi_from_counts(first_value(pd_12m) OVER w, pd_12m),
                   psi_from_counts(first_value(score) OVER w, score)]) AS psi,
           snapshot_month = max(snapshot_month) OVER () AS latest
    FROM histograms
    WINDOW w AS (ORDER BY snapshot_month)
)
SELECT feature,
       round(max(psi), 4) AS max_psi,
       round(max(psi) FILTER (WHERE latest), 4) AS latest_psi,
       count(*) FILTER (WHERE psi > 0.25) AS drift_months,
       to_char(min(snapshot_month) FILTER (WHERE psi > 0.25), '%Y-%m') AS drifting_since,
       CASE WHEN max(psi) > 0.25 THEN 'DRIFT' WHEN max(psi) > 0.10 THEN 'watch' ELSE 'stable' END AS status
FROM psi_by_month
WHERE snapshot_month > (SELECT month FROM baseline)
GROUP BY feature
ORDER BY max(psi) DESC, feature;

-- Which bins moved: the PSI drill-down of credit utilization, last month against the baseline
WITH months AS (
    SELECT min(snapshot_month) AS baseline, max(snapshot_month) AS latest FROM credit_scores
), bins AS (
    SELECT unnest(psi_bins(credit_utilization, snapshot_month = months.latest)) AS b
    FROM credit_scores JOIN months ON snapshot_month IN (months.baseline, months.latest)
)
SELECT b['bin'] AS bin, b['expected_count'] AS baseline_rows, b['actual_count'] AS latest_rows,
       round(b['expected_share'], 4) AS baseline_share, round(b['actual_share'], 4) AS latest_share,
       round(b['psi'], 4) AS psi_contribution
FROM bins;

-- The score month by month: PSI, Jensen-Shannon divergence and the two-sample KS test
-- against the baseline (each month's rows paired with the baseline's in one group)
WITH baseline AS (
    SELECT min(snapshot_month) AS month FROM credit_scores
), months AS (
    SELECT DISTINCT snapshot_month AS month FROM credit_scores, baseline WHERE snapshot_month > baseline.month
), paired AS (
    SELECT m.month, c.score, c.snapshot_month = m.month AS is_actual
    FROM months m
    JOIN credit_scores c ON c.snapshot_month = m.month
      OR c.snapshot_month = (SELECT month FROM baseline)
), tests AS (
    SELECT month, psi(score, is_actual) AS psi, js_divergence(score, is_actual) AS js,
           ks_2samp(score, is_actual) AS ks
    FROM paired
    GROUP BY month
)
SELECT to_char(month, '%Y-%m') AS month, round(psi, 4) AS psi, round(js, 5) AS js_divergence,
       round(ks['statistic'], 4) AS ks_statistic, ks['pvalue'] AS ks_pvalue, ks['method'] AS ks_method
FROM tests
ORDER BY month;

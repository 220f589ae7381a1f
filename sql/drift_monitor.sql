-- Model and population drift monitor (模型监控): every feature of the credit model and its
-- outputs, month by month, against the lake's first month as the fixed baseline. The
-- production pattern: cut points from the baseline once (psi_edges), a histogram per month
-- on those cut points (psi_histogram, O(bins) memory), PSI of each month's histogram
-- against the baseline's (psi_from_counts). Bands: < 0.10 stable, 0.10-0.25 watch, > 0.25 drift.

-- PSI of every feature per month against the baseline month (10 baseline-decile bins, ε = 1e-4):
-- the largest and the latest PSI, the months in drift (PSI > 0.25) and since when
WITH features AS (
    SELECT snapshot_month, 'age' AS feature, CAST(age AS DOUBLE) AS value FROM credit_scores
    UNION ALL SELECT snapshot_month, 'monthly_income', monthly_income FROM credit_scores
    UNION ALL SELECT snapshot_month, 'debt_to_income', debt_to_income FROM credit_scores
    UNION ALL SELECT snapshot_month, 'credit_utilization', credit_utilization FROM credit_scores
    UNION ALL SELECT snapshot_month, 'num_open_loans', CAST(num_open_loans AS DOUBLE) FROM credit_scores
    UNION ALL SELECT snapshot_month, 'overdue_count_12m', CAST(overdue_count_12m AS DOUBLE) FROM credit_scores
    UNION ALL SELECT snapshot_month, 'app_logins_30d', CAST(app_logins_30d AS DOUBLE) FROM credit_scores
    UNION ALL SELECT snapshot_month, 'pd_12m', pd_12m FROM credit_scores
    UNION ALL SELECT snapshot_month, 'score', CAST(score AS DOUBLE) FROM credit_scores
), baseline AS (
    SELECT min(snapshot_month) AS month FROM credit_scores
), edges AS (
    SELECT feature, psi_edges(value, 10) AS cuts
    FROM features JOIN baseline ON features.snapshot_month = baseline.month
    GROUP BY feature
), histograms AS (
    SELECT f.feature, f.snapshot_month, psi_histogram(f.value, e.cuts) AS counts
    FROM features f JOIN edges e ON f.feature = e.feature
    GROUP BY f.feature, f.snapshot_month
), psi_by_month AS (
    -- each month's histogram against the first (baseline) month's, without a self-join that
    -- would compute the histograms twice
    SELECT feature, snapshot_month,
           psi_from_counts(first_value(counts) OVER (PARTITION BY feature ORDER BY snapshot_month), counts) AS psi,
           snapshot_month = max(snapshot_month) OVER () AS latest
    FROM histograms
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

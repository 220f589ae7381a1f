-- Credit model report (评分卡模型报告) on the baseline month of credit_scores: discrimination of
-- the score (AUC, Gini, KS), a gains table, and weight of evidence / information value of every
-- model feature. The score is 300-900 with higher = safer, so it is ranked as -score against the
-- default flag: the functions never flip a direction on their own.

-- Discrimination per snapshot month: AUC, Gini and KS of the score and of the model's pd_12m
SELECT to_char(snapshot_month, '%Y-%m') AS month,
       count(*) AS customers,
       round(avg(CASE WHEN default_12m THEN 1.0 ELSE 0.0 END), 4) AS default_rate,
       round(auc(-score, default_12m), 4) AS auc,
       round(gini(-score, default_12m), 4) AS gini,
       round(ks_statistic(-score, default_12m), 4) AS ks,
       round(auc(pd_12m, default_12m), 4) AS auc_pd
FROM credit_scores
GROUP BY snapshot_month
ORDER BY snapshot_month;

-- Gains table of the baseline month: deciles of risk (decile 1 = lowest scores = riskiest)
WITH baseline AS (
    SELECT * FROM credit_scores WHERE snapshot_month = (SELECT min(snapshot_month) FROM credit_scores)
), gains AS (
    SELECT unnest(gains_table(-score, default_12m, 10)) AS g FROM baseline
)
SELECT g['group'] AS decile, g['n'] AS customers, g['responders'] AS defaults,
       round(g['response_rate'], 4) AS default_rate, round(g['lift'], 2) AS lift,
       round(g['cum_capture'], 3) AS cum_defaults_captured, round(g['cum_lift'], 2) AS cum_lift,
       -g['max_score'] AS score_from, -g['min_score'] AS score_to
FROM gains;

-- Information value of every feature in the baseline month (quintile bins, left-closed)
WITH baseline AS (
    SELECT * FROM credit_scores WHERE snapshot_month = (SELECT min(snapshot_month) FROM credit_scores)
), features AS (
    SELECT 'age' AS feature, CAST(age AS DOUBLE) AS value, default_12m FROM baseline
    UNION ALL SELECT 'monthly_income', monthly_income, default_12m FROM baseline
    UNION ALL SELECT 'debt_to_income', debt_to_income, default_12m FROM baseline
    UNION ALL SELECT 'credit_utilization', credit_utilization, default_12m FROM baseline
    UNION ALL SELECT 'num_open_loans', CAST(num_open_loans AS DOUBLE), default_12m FROM baseline
    UNION ALL SELECT 'overdue_count_12m', CAST(overdue_count_12m AS DOUBLE), default_12m FROM baseline
    UNION ALL SELECT 'app_logins_30d', CAST(app_logins_30d AS DOUBLE), default_12m FROM baseline
), breaks AS (
    SELECT feature, psi_edges(value, 5) AS cuts FROM features GROUP BY feature
), ivs AS (
    SELECT f.feature, information_value(f.value, f.default_12m, b.cuts) AS iv
    FROM features f JOIN breaks b ON b.feature = f.feature
    GROUP BY f.feature
)
SELECT feature, round(iv, 4) AS iv,
       CASE WHEN iv >= 0.3 THEN 'strong' WHEN iv >= 0.1 THEN 'medium' WHEN iv >= 0.02 THEN 'weak'
            ELSE 'not predictive' END AS strength
FROM ivs
ORDER BY iv DESC;

-- Weight of evidence of credit utilization in the baseline month (WoE > 0: riskier than average)
WITH baseline AS (
    SELECT * FROM credit_scores WHERE snapshot_month = (SELECT min(snapshot_month) FROM credit_scores)
), woe AS (
    SELECT unnest(woe_table(credit_utilization, default_12m, [0.2, 0.4, 0.6, 0.8])) AS w FROM baseline
)
SELECT w['bin'] AS bin, w['good'] AS good, w['bad'] AS bad,
       round(CAST(w['bad'] AS DOUBLE) / (w['good'] + w['bad']), 4) AS default_rate,
       round(w['woe'], 4) AS woe, round(w['iv'], 4) AS iv
FROM woe;

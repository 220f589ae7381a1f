-- Campaign evaluation (营销活动评估) against randomised holdouts: per campaign the contacted and
-- holdout arms, open/click/conversion rates, the conversion lift with its two-proportion z-test
-- and confidence interval (response_lift), the revenue difference with Welch's t-test
-- (welch_ttest), incremental conversions and revenue, cost, ROI and cost per incremental
-- acquisition; then the lift by age band and by RFM segment.

-- Per campaign: rates, lift vs holdout with p-value and 95% CI, incremental results and ROI
WITH arms AS (
    SELECT c.campaign_id, c.name, c.channel, c.cost_per_contact,
           response_lift(k.arm = 'treatment', k.converted) AS lift,
           welch_ttest(k.arm = 'treatment', k.revenue) AS spend,
           avg(CASE WHEN k.opened THEN 1.0 ELSE 0.0 END) FILTER (WHERE k.arm = 'treatment') AS open_rate,
           avg(CASE WHEN k.clicked THEN 1.0 ELSE 0.0 END) FILTER (WHERE k.arm = 'treatment') AS click_rate
    FROM campaign_contacts k JOIN campaigns c ON c.campaign_id = k.campaign_id
    GROUP BY c.campaign_id, c.name, c.channel, c.cost_per_contact
), results AS (
    SELECT *, lift['abs_lift'] * lift['n_t'] AS incremental_conversions,
           spend['diff'] * lift['n_t'] AS incremental_revenue,
           cost_per_contact * lift['n_t'] AS cost
    FROM arms
)
SELECT campaign_id, name, channel,
       lift['n_t'] AS contacted, lift['n_c'] AS holdout,
       round(open_rate, 3) AS open_rate, round(click_rate, 3) AS click_rate,
       round(lift['rate_t'], 4) AS conv_treated, round(lift['rate_c'], 4) AS conv_holdout,
       round(lift['abs_lift'], 4) AS uplift, round(lift['ci_low'], 4) AS ci_low, round(lift['ci_high'], 4) AS ci_high,
       round(lift['p_value'], 4) AS p_value,
       round(incremental_conversions, 1) AS incr_conversions,
       round(incremental_revenue, 0) AS incr_revenue, round(spend['p_value'], 4) AS revenue_p_value,
       round(cost, 0) AS cost,
       round((incremental_revenue - cost) / cost, 2) AS roi,
       CASE WHEN incremental_conversions > 0 THEN round(cost / incremental_conversions, 1) END AS cost_per_incr_acquisition
FROM results
ORDER BY campaign_id;

-- Uplift by campaign and age band (the planted segments) with 99% Wald intervals, reported only
-- where the normal approximation holds: at least 5 conversions and 5 non-conversions in each arm
WITH contacts AS (
    SELECT k.campaign_id, k.arm, k.converted,
           CASE WHEN 2025 - cu.birth_year < 30 THEN '<30' WHEN 2025 - cu.birth_year < 45 THEN '30-44' ELSE '45+' END AS age_band
    FROM campaign_contacts k JOIN customers cu ON cu.customer_id = k.customer_id
), lifts AS (
    SELECT campaign_id, age_band, response_lift(arm = 'treatment', converted, 0.99) AS lift
    FROM contacts
    GROUP BY campaign_id, age_band
)
SELECT campaign_id, age_band, lift['n_t'] AS contacted, lift['n_c'] AS holdout,
       round(lift['rate_c'], 4) AS conv_holdout, round(lift['abs_lift'], 4) AS uplift,
       CASE WHEN assessable THEN round(lift['ci_low'], 4) END AS ci99_low,
       CASE WHEN assessable THEN round(lift['ci_high'], 4) END AS ci99_high,
       round(lift['p_value'], 4) AS p_value,
       CASE WHEN assessable THEN 'yes' ELSE 'too few conversions' END AS assessable
FROM (SELECT *, least(lift['x_t'], lift['n_t'] - lift['x_t'], lift['x_c'], lift['n_c'] - lift['x_c']) >= 5 AS assessable
      FROM lifts)
ORDER BY campaign_id, CASE age_band WHEN '<30' THEN 1 WHEN '30-44' THEN 2 ELSE 3 END;

-- Double 11 coupon by RFM segment (scores as in segmentation.sql, over all purchases)
WITH inputs AS (
    SELECT customer_id, rfm(txn_ts, amount, DATE '2026-01-01') AS v
    FROM transactions WHERE amount > 0 GROUP BY customer_id
), segments AS (
    SELECT customer_id,
           rfm_segment(6 - quantile_score(5) OVER (ORDER BY v['recency_days'], customer_id),
                       quantile_score(5) OVER (ORDER BY v['frequency'], customer_id)) AS segment
    FROM inputs
), lifts AS (
    SELECT coalesce(s.segment, 'No purchases') AS segment, response_lift(k.arm = 'treatment', k.converted) AS lift
    FROM campaign_contacts k
    JOIN campaigns c ON c.campaign_id = k.campaign_id AND c.name = 'Double 11 coupon'
    LEFT JOIN segments s ON s.customer_id = k.customer_id
    GROUP BY 1
)
SELECT segment, lift['n_t'] AS contacted, lift['n_c'] AS holdout, round(lift['rate_t'], 4) AS conv_treated,
       round(lift['rate_c'], 4) AS conv_holdout, round(lift['abs_lift'], 4) AS uplift,
       round(lift['ci_low'], 4) AS ci_low, round(lift['ci_high'], 4) AS ci_high
FROM lifts
ORDER BY lift['n_t'] DESC;

-- Propensity to convert when contacted: a logistic model of conversion on the treatment arm,
-- trained on 4 customers in 5 (by customer_id) and judged on the fifth: its coefficients, the
-- holdout AUC, and the holdout's gains by quintile of predicted probability
WITH treated AS (
    SELECT k.customer_id, k.converted, k.customer_id % 5 = 0 AS holdout,
           [CAST(2025 - cu.birth_year AS DOUBLE), CAST(cu.city_tier AS DOUBLE),
            CASE WHEN c.channel = 'sms' THEN 1.0 ELSE 0.0 END, CASE WHEN c.channel = 'push' THEN 1.0 ELSE 0.0 END,
            CASE WHEN c.channel = 'email' THEN 1.0 ELSE 0.0 END] AS x
    FROM campaign_contacts k
    JOIN campaigns c ON c.campaign_id = k.campaign_id
    JOIN customers cu ON cu.customer_id = k.customer_id
    WHERE k.arm = 'treatment'
), model AS (
    SELECT logistic_regression(converted, x) AS m FROM treated WHERE NOT holdout
), scored AS (
    SELECT converted, logistic_predict((SELECT m FROM model), x) AS p FROM treated WHERE holdout
), quality AS (
    SELECT auc(p, converted) AS holdout_auc FROM scored
), gains AS (
    SELECT unnest(gains_table(p, converted, 5)) AS g FROM scored
)
SELECT g['group'] AS quintile, g['n'] AS contacted, g['responders'] AS conversions,
       round(g['response_rate'], 4) AS conversion_rate, round(g['lift'], 2) AS lift,
       round(g['cum_capture'], 3) AS cum_conversions_captured, round(q.holdout_auc, 4) AS holdout_auc,
       round(m['coefficients'][2], 4) AS coef_age, round(m['coefficients'][3], 4) AS coef_city_tier,
       round(m['coefficients'][4], 3) AS coef_sms, round(m['coefficients'][5], 3) AS coef_push,
       round(m['coefficients'][6], 3) AS coef_email
FROM gains, quality q, model
ORDER BY quintile;

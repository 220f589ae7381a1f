//! The report's charts: for each, the SQL that produces its table and how the table's leading
//! columns become the picture. The SQL reads the demo lake's tables (as the recipes of sql/ do);
//! `{as_of}` is the day after the last transaction and `{first_year}` the year of the first.

use super::Section;

/// How a chart reads its table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Column 0 labels, column 1 values.
    Bar { value_label: &'static str },
    /// Column 0 rows, column 1 columns, column 2 values; cells at or above `threshold` marked.
    Heat { threshold: Option<f64> },
    /// Column 0 series, column 1 x, column 2 y; `diagonal` draws the random baseline.
    Lines { x_title: &'static str, y_title: &'static str, diagonal: bool },
    /// Column 0 labels, columns 1–3 estimate, low, high.
    Forest { x_title: &'static str, reference: f64 },
}

/// One chart of the report.
#[derive(Debug, Clone, Copy)]
pub struct ChartSpec {
    pub id: &'static str,
    pub section: Section,
    pub title: &'static str,
    pub kind: Kind,
    pub sql: &'static str,
}

/// The RFM scores of every purchasing customer (as sql/segmentation.sql) followed by `$tail`.
macro_rules! rfm_scored {
    ($tail:literal) => {
        concat!(
            "WITH inputs AS (
    SELECT customer_id, rfm(txn_ts, amount, DATE '{as_of}') AS v
    FROM transactions WHERE amount > 0 GROUP BY customer_id
), scored AS (
    SELECT round(v['monetary'], 2) AS monetary,
           6 - quantile_score(5) OVER (ORDER BY v['recency_days'], customer_id) AS r,
           quantile_score(5) OVER (ORDER BY v['frequency'], customer_id) AS f
    FROM inputs
)",
            $tail
        )
    };
}

/// The credit score of the first month by score value, riskiest (lowest) first, with the cumulative
/// shares of customers (`population`), defaults and non-defaults up to each score; then `$tail`.
macro_rules! score_cumulative {
    ($tail:literal) => {
        concat!(
            "WITH per_score AS (
    SELECT score, count(*) AS n, sum(CASE WHEN default_12m THEN 1 ELSE 0 END) AS bads
    FROM credit_scores WHERE snapshot_month = (SELECT min(snapshot_month) FROM credit_scores)
    GROUP BY score
), cumulative AS (
    SELECT score,
           1.0 * sum(n) OVER (ORDER BY score ROWS UNBOUNDED PRECEDING) / sum(n) OVER () AS population,
           1.0 * sum(bads) OVER (ORDER BY score ROWS UNBOUNDED PRECEDING) / sum(bads) OVER () AS defaults,
           1.0 * sum(n - bads) OVER (ORDER BY score ROWS UNBOUNDED PRECEDING) / sum(n - bads) OVER () AS non_defaults
    FROM per_score
)",
            $tail
        )
    };
}

/// Every chart, in report order.
pub const CHARTS: &[ChartSpec] = &[
    ChartSpec {
        id: "rfm_segments",
        section: Section::Segmentation,
        title: "RFM segments: customers · RFM 客户分群人数",
        kind: Kind::Bar { value_label: "customers 客户数" },
        sql: rfm_scored!("
SELECT rfm_segment(r, f) AS segment, count(*) AS customers,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct_customers,
       round(sum(monetary), 0) AS spend
FROM scored GROUP BY 1 ORDER BY customers DESC, segment"),
    },
    ChartSpec {
        id: "rfm_segment_value",
        section: Section::Segmentation,
        title: "RFM segments: share of spend (%) · 各分群消费占比",
        kind: Kind::Bar { value_label: "% of spend 消费占比" },
        sql: rfm_scored!("
SELECT rfm_segment(r, f) AS segment, round(100.0 * sum(monetary) / sum(sum(monetary)) OVER (), 2) AS pct_spend,
       count(*) AS customers, round(avg(monetary), 0) AS avg_spend
FROM scored GROUP BY 1 ORDER BY pct_spend DESC, segment"),
    },
    ChartSpec {
        id: "rf_heatmap",
        section: Section::Segmentation,
        title: "Recency × frequency scores: customers · R×F 热力图",
        kind: Kind::Heat { threshold: None },
        sql: rfm_scored!("
SELECT 'R' || r AS recency_score, 'F' || f AS frequency_score, count(*) AS customers, round(avg(monetary), 0) AS avg_spend
FROM scored GROUP BY r, f ORDER BY r DESC, f"),
    },
    ChartSpec {
        id: "campaign_lift",
        section: Section::Campaigns,
        title: "Conversion uplift vs holdout with 95% CI · 营销活动转化提升",
        kind: Kind::Forest { x_title: "treated − holdout conversion rate", reference: 0.0 },
        sql: "WITH lifts AS (
    SELECT c.campaign_id, c.name, response_lift(k.arm = 'treatment', k.converted) AS lift
    FROM campaign_contacts k JOIN campaigns c ON c.campaign_id = k.campaign_id
    GROUP BY c.campaign_id, c.name
)
SELECT name AS campaign, round(lift['abs_lift'], 4) AS uplift, round(lift['ci_low'], 4) AS ci_low,
       round(lift['ci_high'], 4) AS ci_high, lift['n_t'] AS contacted, lift['n_c'] AS holdout,
       round(lift['p_value'], 4) AS p_value
FROM lifts ORDER BY campaign_id",
    },
    ChartSpec {
        id: "campaign_lift_age",
        section: Section::Campaigns,
        title: "Uplift by campaign and age band with 95% CI · 分年龄段提升",
        kind: Kind::Forest { x_title: "treated − holdout conversion rate", reference: 0.0 },
        sql: "WITH contacts AS (
    SELECT k.campaign_id, c.name, k.arm, k.converted,
           CASE WHEN {first_year} - cu.birth_year < 30 THEN '<30'
                WHEN {first_year} - cu.birth_year < 45 THEN '30-44' ELSE '45+' END AS age_band
    FROM campaign_contacts k
    JOIN campaigns c ON c.campaign_id = k.campaign_id
    JOIN customers cu ON cu.customer_id = k.customer_id
), lifts AS (
    SELECT campaign_id, name, age_band, response_lift(arm = 'treatment', converted) AS lift
    FROM contacts GROUP BY campaign_id, name, age_band
)
SELECT name || ' · ' || age_band AS campaign_age_band, round(lift['abs_lift'], 4) AS uplift,
       round(lift['ci_low'], 4) AS ci_low, round(lift['ci_high'], 4) AS ci_high,
       lift['n_t'] AS contacted, lift['n_c'] AS holdout
FROM lifts
ORDER BY campaign_id, CASE age_band WHEN '<30' THEN 1 WHEN '30-44' THEN 2 ELSE 3 END",
    },
    ChartSpec {
        id: "qini_curves",
        section: Section::Campaigns,
        title: "Qini curves of a two-model uplift score (test half) · Qini 曲线",
        kind: Kind::Lines { x_title: "contacts targeted, by uplift score", y_title: "Qini (incremental conversions)", diagonal: false },
        sql: "WITH contacts AS (
    SELECT c.campaign_id, c.name AS campaign, k.customer_id % 2 = 0 AS train, k.arm = 'treatment' AS treated,
           k.converted, [CAST({first_year} - cu.birth_year AS DOUBLE), CAST(cu.city_tier AS DOUBLE)] AS x
    FROM campaign_contacts k
    JOIN campaigns c ON c.campaign_id = k.campaign_id
    JOIN customers cu ON cu.customer_id = k.customer_id
), models AS (
    SELECT campaign_id,
           logistic_regression(converted, x) FILTER (WHERE treated) AS treated_model,
           logistic_regression(converted, x) FILTER (WHERE NOT treated) AS holdout_model
    FROM contacts WHERE train GROUP BY campaign_id
), scored AS (
    SELECT t.campaign_id, t.campaign, t.treated, t.converted,
           logistic_predict(m.treated_model, t.x) - logistic_predict(m.holdout_model, t.x) AS uplift_score
    FROM contacts t JOIN models m ON m.campaign_id = t.campaign_id
    WHERE NOT t.train
), curves AS (
    SELECT campaign_id, campaign, unnest(qini_curve(uplift_score, converted, treated)) AS p
    FROM scored GROUP BY campaign_id, campaign
), numbered AS (
    SELECT campaign_id, campaign, p['n'] AS n, p['value'] AS qini,
           row_number() OVER (PARTITION BY campaign_id ORDER BY p['n']) AS i,
           count(*) OVER (PARTITION BY campaign_id) AS points
    FROM curves
)
SELECT campaign, n AS contacts_targeted, round(qini, 2) AS qini
FROM numbered
WHERE i = 1 OR i = points OR i % greatest(points / 40, 1) = 0
ORDER BY campaign_id, contacts_targeted",
    },
    ChartSpec {
        id: "psi_heatmap",
        section: Section::Drift,
        title: "PSI by feature and month against the first month (alert ≥ 0.25) · PSI 热力图",
        kind: Kind::Heat { threshold: Some(0.25) },
        sql: "WITH features AS (
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
    SELECT feature, snapshot_month,
           psi_from_counts(first_value(counts) OVER (PARTITION BY feature ORDER BY snapshot_month), counts) AS psi
    FROM histograms
)
SELECT feature, to_char(snapshot_month, '%Y-%m') AS month, round(psi, 4) AS psi
FROM psi_by_month
WHERE snapshot_month > (SELECT month FROM baseline)
ORDER BY feature, month",
    },
    ChartSpec {
        id: "credit_gains",
        section: Section::Credit,
        title: "Gains chart of the credit score, first month · 累计捕获率",
        kind: Kind::Lines { x_title: "share of customers, riskiest first", y_title: "share of defaults captured", diagonal: true },
        sql: "WITH baseline AS (
    SELECT * FROM credit_scores WHERE snapshot_month = (SELECT min(snapshot_month) FROM credit_scores)
), gains AS (
    SELECT unnest(gains_table(-score, default_12m, 10)) AS g FROM baseline
)
SELECT 'score' AS series, 0.0 AS share_of_customers, 0.0 AS share_of_defaults, NULL AS lift
UNION ALL
SELECT 'score', g['group'] / 10.0, round(g['cum_capture'], 4), round(g['lift'], 2) FROM gains
ORDER BY share_of_customers",
    },
    ChartSpec {
        id: "credit_roc",
        section: Section::Credit,
        title: "ROC curve of the credit score, first month · ROC 曲线",
        kind: Kind::Lines { x_title: "false positive rate (goods flagged)", y_title: "true positive rate (defaults flagged)", diagonal: true },
        sql: score_cumulative!("
SELECT 'score' AS series, 0.0 AS false_positive_rate, 0.0 AS true_positive_rate, NULL AS score_up_to
UNION ALL
SELECT 'score', round(non_defaults, 4), round(defaults, 4), score FROM cumulative
ORDER BY false_positive_rate, true_positive_rate"),
    },
    ChartSpec {
        id: "credit_ks",
        section: Section::Credit,
        title: "KS curve: cumulative defaults and non-defaults by score · KS 曲线",
        kind: Kind::Lines { x_title: "share of customers, riskiest first", y_title: "cumulative share", diagonal: false },
        sql: score_cumulative!("
SELECT curve, share_of_customers, cumulative_share FROM (
    SELECT 'defaults' AS curve, 0.0 AS share_of_customers, 0.0 AS cumulative_share
    UNION ALL SELECT 'non-defaults', 0.0, 0.0
    UNION ALL SELECT 'defaults', round(population, 4), round(defaults, 4) FROM cumulative
    UNION ALL SELECT 'non-defaults', round(population, 4), round(non_defaults, 4) FROM cumulative
) ORDER BY curve, share_of_customers, cumulative_share"),
    },
    ChartSpec {
        id: "basket_rules",
        section: Section::Baskets,
        title: "Cross-sell rules by lift (support ≥ 0.5%, confidence ≥ 0.3) · 关联规则",
        kind: Kind::Bar { value_label: "lift 提升度" },
        sql: "WITH rules AS (
    SELECT unnest(association_rules(frequent_itemsets(order_id, item, 0.005), 0.3, 2.0)) AS r FROM baskets
)
SELECT array_to_string(r['antecedents'], ' + ') || ' → ' || array_to_string(r['consequents'], ' + ') AS rule,
       round(r['lift'], 2) AS lift, round(r['support'], 4) AS support, round(r['confidence'], 3) AS confidence
FROM rules
ORDER BY r['lift'] DESC, rule
LIMIT 15",
    },
    ChartSpec {
        id: "cohort_retention",
        section: Section::Lifetime,
        title: "Cohort retention: share of a cohort buying n months after its first month · 留存三角",
        kind: Kind::Heat { threshold: None },
        sql: "WITH firsts AS (
    SELECT customer_id, date_trunc('month', min(txn_ts)) AS cohort
    FROM transactions WHERE amount > 0 GROUP BY customer_id
), active AS (
    SELECT DISTINCT f.cohort, t.customer_id,
           CAST((date_part('year', t.txn_ts) - date_part('year', f.cohort)) * 12
               + date_part('month', t.txn_ts) - date_part('month', f.cohort) AS BIGINT) AS months_since
    FROM transactions t JOIN firsts f USING (customer_id)
    WHERE t.amount > 0
), counts AS (
    SELECT cohort, months_since, count(*) AS customers FROM active GROUP BY cohort, months_since
)
SELECT to_char(cohort, '%Y-%m') AS cohort, 'M' || lpad(CAST(months_since AS VARCHAR), 2, '0') AS months_since,
       round(1.0 * customers / first_value(customers) OVER (PARTITION BY cohort ORDER BY months_since), 3) AS retention,
       customers
FROM counts
ORDER BY cohort, months_since",
    },
];

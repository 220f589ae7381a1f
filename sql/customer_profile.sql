-- Customer profile (用户画像) of the lake: who the customers are, how they spend,
-- and whether their personal data is well formed. Plain SQL plus Persona's validators.
-- Age is the age reached in the lake's first year (2025).

-- Customers by city tier: count, share, median age, female share, share earning 10k+ a month
SELECT city_tier,
       count(*) AS customers,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct,
       median(2025 - birth_year) AS median_age,
       round(avg(CASE WHEN gender = 'F' THEN 1.0 ELSE 0.0 END), 3) AS female_share,
       round(avg(CASE WHEN income_band IN ('10k-20k', '20k-50k', '50k+') THEN 1.0 ELSE 0.0 END), 3) AS income_10k_plus_share
FROM customers
GROUP BY city_tier
ORDER BY city_tier;

-- Income band by age group (row shares within each age group, percent)
SELECT CASE WHEN 2025 - birth_year < 30 THEN '<30' WHEN 2025 - birth_year < 45 THEN '30-44' ELSE '45+' END AS age_group,
       round(100.0 * avg(CASE WHEN income_band = '<5k' THEN 1 ELSE 0 END), 1) AS "<5k",
       round(100.0 * avg(CASE WHEN income_band = '5k-10k' THEN 1 ELSE 0 END), 1) AS "5k-10k",
       round(100.0 * avg(CASE WHEN income_band = '10k-20k' THEN 1 ELSE 0 END), 1) AS "10k-20k",
       round(100.0 * avg(CASE WHEN income_band = '20k-50k' THEN 1 ELSE 0 END), 1) AS "20k-50k",
       round(100.0 * avg(CASE WHEN income_band = '50k+' THEN 1 ELSE 0 END), 1) AS "50k+",
       count(*) AS customers
FROM customers
GROUP BY 1
ORDER BY 1;

-- Monthly spending: transactions, active customers, purchase amount (refunds excluded) and refunds
SELECT month,
       count(*) AS transactions,
       count(DISTINCT customer_id) AS active_customers,
       round(sum(amount) FILTER (WHERE amount > 0), 0) AS purchase_amount,
       count(*) FILTER (WHERE amount < 0) AS refunds
FROM transactions
GROUP BY month
ORDER BY month;

-- Spending habits by merchant category: share of purchases, median ticket, online share
SELECT merchant_category,
       count(*) AS purchases,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct_of_purchases,
       round(median(amount), 2) AS median_amount,
       round(avg(CASE WHEN channel IN ('app', 'wechat_mini', 'online') THEN 1.0 ELSE 0.0 END), 3) AS online_share
FROM transactions
WHERE amount > 0
GROUP BY merchant_category
ORDER BY purchases DESC;

-- Campaign response by arm: conversion of treated and holdout customers and the absolute lift
SELECT c.campaign_id,
       c.name,
       c.channel,
       count(*) FILTER (WHERE k.arm = 'treatment') AS treated,
       count(*) FILTER (WHERE k.arm = 'control') AS holdout,
       round(avg(CASE WHEN k.converted THEN 1.0 ELSE 0.0 END) FILTER (WHERE k.arm = 'treatment'), 4) AS conv_treatment,
       round(avg(CASE WHEN k.converted THEN 1.0 ELSE 0.0 END) FILTER (WHERE k.arm = 'control'), 4) AS conv_control,
       round(avg(CASE WHEN k.converted THEN 1.0 ELSE 0.0 END) FILTER (WHERE k.arm = 'treatment')
           - avg(CASE WHEN k.converted THEN 1.0 ELSE 0.0 END) FILTER (WHERE k.arm = 'control'), 4) AS abs_lift
FROM campaign_contacts k
JOIN campaigns c USING (campaign_id)
GROUP BY c.campaign_id, c.name, c.channel
ORDER BY c.campaign_id;

-- Data quality of personal data: identity numbers, mobiles and e-mails that fail validation, missing
-- e-mails (`persona profile` checks every column of every table this way in one pass per table)
SELECT count(*) AS customers,
       count(*) FILTER (WHERE NOT is_valid_cn_id(id_number)) AS invalid_id_numbers,
       count(*) FILTER (WHERE NOT is_valid_cn_mobile(phone)) AS invalid_mobiles,
       count(*) FILTER (WHERE email IS NULL) AS missing_emails,
       count(*) FILTER (WHERE (CAST(substr(id_number, 17, 1) AS INT) % 2 = 1) <> (gender = 'M')) AS id_gender_mismatches,
       count(*) FILTER (WHERE NOT is_valid_email(email)) AS invalid_emails
FROM customers;

-- Market-basket analysis (购物篮分析) of the instalment mall: frequent itemsets mined with
-- FP-growth (frequent_itemsets), association rules with support, confidence, lift, leverage,
-- conviction and Zhang's metric (association_rules, mlxtend's definitions), and a
-- hand-written rule checked per customer group (rule_stats).

-- Basket overview: orders, distinct items, items per order, and the most popular items
WITH sizes AS (
    SELECT order_id, count(DISTINCT item) AS items FROM baskets GROUP BY order_id
)
SELECT count(*) AS orders,
       (SELECT count(DISTINCT item) FROM baskets) AS distinct_items,
       round(avg(items), 2) AS avg_items_per_order,
       max(items) AS max_items_per_order
FROM sizes;

-- Frequent itemsets of two or more items (support >= 0.5% of orders)
WITH sets AS (
    SELECT unnest(frequent_itemsets(order_id, item, 0.005)) AS s FROM baskets
)
SELECT array_to_string(s['items'], ' + ') AS itemset, s['count'] AS orders, round(s['support'], 4) AS support
FROM sets
WHERE array_length(s['items']) >= 2
ORDER BY s['support'] DESC, itemset
LIMIT 15;

-- Cross-sell rules: itemsets in >= 0.5% of orders, confidence >= 0.3 and lift >= 2, strongest lift first
WITH rules AS (
    SELECT unnest(association_rules(frequent_itemsets(order_id, item, 0.005), 0.3, 2.0)) AS r FROM baskets
)
SELECT array_to_string(r['antecedents'], ' + ') AS if_bought,
       array_to_string(r['consequents'], ' + ') AS then_buys,
       round(r['support'], 4) AS support,
       round(r['confidence'], 3) AS confidence,
       round(r['lift'], 2) AS lift,
       round(r['leverage'], 4) AS leverage,
       round(r['conviction'], 2) AS conviction,
       round(r['zhangs_metric'], 3) AS zhangs_metric
FROM rules
ORDER BY r['lift'] DESC, if_bought, then_buys;

-- One rule by customer city tier: does iPhone 16 -> phone case hold everywhere?
WITH orders AS (
    SELECT b.order_id, c.city_tier,
           bool_or(b.item = 'iphone_16') AS has_phone,
           bool_or(b.item = 'phone_case') AS has_case
    FROM baskets b JOIN customers c ON b.customer_id = c.customer_id
    GROUP BY b.order_id, c.city_tier
), stats AS (
    SELECT city_tier, rule_stats(has_phone, has_case) AS r FROM orders GROUP BY city_tier
)
SELECT city_tier, r['baskets'] AS orders, round(r['antecedent_support'], 4) AS phone_share,
       round(r['confidence'], 3) AS confidence, round(r['lift'], 2) AS lift
FROM stats
ORDER BY city_tier;

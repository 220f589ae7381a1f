-- Cross-sell and next-best-offer (交叉销售, 下一个最佳产品) in the instalment mall: item-based
-- collaborative filtering (协同过滤) learned from customers' earlier orders (item_similarity,
-- recommend_items) and implicit matrix factorisation (als_fit, als_score), judged on each customer's
-- last order against a popularity baseline with ranking metrics (precision_at_k, recall_at_k,
-- hit_rate_at_k, average_precision_at_k, ndcg_at_k).
-- The holdout: a customer's last order (latest date, then highest order id) is the test, the earlier
-- orders are what the model sees. A customer is evaluated when the last order holds an item they
-- had not bought before (the relevant items).

-- The holdout split: customers, training rows and evaluated customers
WITH ranked AS (
    SELECT customer_id, order_id, item,
           dense_rank() OVER (PARTITION BY customer_id ORDER BY order_date DESC, order_id DESC) AS back
    FROM baskets
), train AS (
    SELECT DISTINCT customer_id, item FROM ranked WHERE back > 1
), fresh AS (
    SELECT DISTINCT t.customer_id, t.item
    FROM ranked t LEFT JOIN train h ON h.customer_id = t.customer_id AND h.item = t.item
    WHERE t.back = 1 AND h.item IS NULL
)
SELECT (SELECT count(DISTINCT customer_id) FROM baskets) AS customers_with_orders,
       (SELECT count(DISTINCT customer_id) FROM train) AS customers_with_history,
       (SELECT count(*) FROM train) AS training_customer_items,
       (SELECT count(DISTINCT customer_id) FROM fresh f WHERE f.customer_id IN (SELECT customer_id FROM train)) AS evaluated_customers,
       (SELECT count(DISTINCT item) FROM baskets) AS catalogue_items;

-- Strongest item neighbours learned from the training orders (cosine, at least 20 common customers)
WITH ranked AS (
    SELECT customer_id, item,
           dense_rank() OVER (PARTITION BY customer_id ORDER BY order_date DESC, order_id DESC) AS back
    FROM baskets
), pairs AS (
    SELECT unnest(item_similarity(customer_id, item, 'cosine', 20)) AS p FROM ranked WHERE back > 1
)
SELECT p['item_a'] AS item, p['item_b'] AS neighbour, p['co_users'] AS common_customers, round(p['score'], 4) AS cosine
FROM pairs
WHERE p['item_a'] < p['item_b']
ORDER BY p['score'] DESC, item, neighbour
LIMIT 12;

-- Item-based CF and ALS vs popularity on the last orders: top 5 per customer, items already bought
-- excluded by all three (ALS: 32 factors, λ 100, 10 iterations, α 40 per purchase)
WITH ranked AS (
    SELECT customer_id, item,
           dense_rank() OVER (PARTITION BY customer_id ORDER BY order_date DESC, order_id DESC) AS back
    FROM baskets
), train AS (
    SELECT customer_id, item, count(*) AS purchases FROM ranked WHERE back > 1 GROUP BY customer_id, item
), history AS (
    SELECT customer_id, array_agg(item ORDER BY item) AS items, array_agg(purchases ORDER BY item) AS purchases
    FROM train GROUP BY customer_id
), relevant AS (
    SELECT t.customer_id, array_agg(DISTINCT t.item) AS items
    FROM ranked t LEFT JOIN train h ON h.customer_id = t.customer_id AND h.item = t.item
    WHERE t.back = 1 AND h.item IS NULL
    GROUP BY t.customer_id
), popular AS (
    SELECT array_agg(item ORDER BY buyers DESC, item) AS ranking
    FROM (SELECT item, count(*) AS buyers FROM train GROUP BY item)
), offers AS (
    SELECT v.items AS relevant,
           recommend_items(h.items, (SELECT item_similarity(customer_id, item) FROM train), 5) AS cf,
           als_score((SELECT als_fit(customer_id, item, purchases, 32, 100.0, 10, 40.0, 42) FROM train), h.items, 5, h.purchases) AS als,
           array_slice(array_except((SELECT ranking FROM popular), h.items), 1, 5) AS pop
    FROM history h JOIN relevant v ON v.customer_id = h.customer_id
)
SELECT 'ALS' AS method, count(*) AS customers,
       round(avg(precision_at_k(als, relevant, 5)), 4) AS precision_at_5,
       round(avg(recall_at_k(als, relevant, 5)), 4) AS recall_at_5,
       round(avg(hit_rate_at_k(als, relevant, 5)), 4) AS hit_rate_at_5,
       round(avg(average_precision_at_k(als, relevant, 5)), 4) AS map_at_5,
       round(avg(ndcg_at_k(als, relevant, 5)), 4) AS ndcg_at_5
FROM offers
UNION ALL
SELECT 'item-based CF', count(*),
       round(avg(precision_at_k(cf, relevant, 5)), 4),
       round(avg(recall_at_k(cf, relevant, 5)), 4),
       round(avg(hit_rate_at_k(cf, relevant, 5)), 4),
       round(avg(average_precision_at_k(cf, relevant, 5)), 4),
       round(avg(ndcg_at_k(cf, relevant, 5)), 4)
FROM offers
UNION ALL
SELECT 'popularity', count(*),
       round(avg(precision_at_k(pop, relevant, 5)), 4),
       round(avg(recall_at_k(pop, relevant, 5)), 4),
       round(avg(hit_rate_at_k(pop, relevant, 5)), 4),
       round(avg(average_precision_at_k(pop, relevant, 5)), 4),
       round(avg(ndcg_at_k(pop, relevant, 5)), 4)
FROM offers
ORDER BY method;

-- Coverage and popularity bias: how much of the catalogue each method offers, and how popular its offers are
-- (mean popularity rank of an offered item: 1 = the best seller)
WITH ranked AS (
    SELECT customer_id, item,
           dense_rank() OVER (PARTITION BY customer_id ORDER BY order_date DESC, order_id DESC) AS back
    FROM baskets
), train AS (
    SELECT DISTINCT customer_id, item FROM ranked WHERE back > 1
), history AS (
    SELECT customer_id, array_agg(item ORDER BY item) AS items FROM train GROUP BY customer_id
), ranks AS (
    SELECT item, row_number() OVER (ORDER BY count(*) DESC, item) AS popularity_rank FROM train GROUP BY item
), popular AS (
    SELECT array_agg(item ORDER BY popularity_rank) AS ranking FROM ranks
), offered AS (
    SELECT 'item-based CF' AS method, unnest(recommend_items(items, (SELECT item_similarity(customer_id, item) FROM train), 5)) AS o
    FROM history
), cf AS (
    SELECT method, o['item'] AS item FROM offered
), pop AS (
    SELECT 'popularity' AS method, unnest(array_slice(array_except((SELECT ranking FROM popular), items), 1, 5)) AS item FROM history
), offers AS (
    SELECT * FROM cf UNION ALL SELECT * FROM pop
)
SELECT o.method, count(DISTINCT o.item) AS items_offered,
       round(count(DISTINCT o.item) * 1.0 / (SELECT count(*) FROM ranks), 3) AS catalogue_coverage,
       round(avg(r.popularity_rank), 2) AS mean_popularity_rank
FROM offers o JOIN ranks r ON r.item = o.item
GROUP BY o.method
ORDER BY o.method;

-- Next-best offers for five customers: what they bought, and the three products to offer next
WITH history AS (
    SELECT customer_id, array_agg(DISTINCT item ORDER BY item) AS items FROM baskets GROUP BY customer_id
), offers AS (
    SELECT customer_id, items, recommend_items(items, (SELECT item_similarity(customer_id, item) FROM baskets), 3) AS r
    FROM history
)
SELECT customer_id, array_to_string(items, ', ') AS bought,
       r[1]['item'] AS offer_1, round(r[1]['score'], 3) AS score_1,
       r[2]['item'] AS offer_2, r[3]['item'] AS offer_3
FROM offers
WHERE array_length(items) >= 4
ORDER BY customer_id
LIMIT 5;

-- Per segment: one similarity list per city tier, each customer scored with their tier's list
WITH ranked AS (
    SELECT b.customer_id, c.city_tier, b.item,
           dense_rank() OVER (PARTITION BY b.customer_id ORDER BY b.order_date DESC, b.order_id DESC) AS back
    FROM baskets b JOIN customers c ON c.customer_id = b.customer_id
), train AS (
    SELECT DISTINCT customer_id, city_tier, item FROM ranked WHERE back > 1
), history AS (
    SELECT customer_id, city_tier, array_agg(item ORDER BY item) AS items FROM train GROUP BY customer_id, city_tier
), relevant AS (
    SELECT t.customer_id, array_agg(DISTINCT t.item) AS items
    FROM ranked t LEFT JOIN train h ON h.customer_id = t.customer_id AND h.item = t.item
    WHERE t.back = 1 AND h.item IS NULL
    GROUP BY t.customer_id
), models AS (
    SELECT city_tier, item_similarity(customer_id, item) AS similarities FROM train GROUP BY city_tier
)
SELECT h.city_tier, count(*) AS customers,
       round(avg(precision_at_k(recommend_items(h.items, m.similarities, 5), v.items, 5)), 4) AS precision_at_5,
       round(avg(ndcg_at_k(recommend_items(h.items, m.similarities, 5), v.items, 5)), 4) AS ndcg_at_5
FROM history h
JOIN relevant v ON v.customer_id = h.customer_id
JOIN models m ON m.city_tier = h.city_tier
GROUP BY h.city_tier
ORDER BY h.city_tier;

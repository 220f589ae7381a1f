//! Market baskets: frequent itemsets by FP-growth, association rules, and rule metrics.

mod association_rules;
mod fpgrowth;
mod frequent_itemsets;
mod rule_metrics;
mod rule_stats;

/// A seeded pseudo-random `random(n)` in 0..n for the basket tests (a 64-bit LCG's high bits).
#[cfg(test)]
fn test_random(mut state: u64) -> impl FnMut(u64) -> u64 {
    move |n| {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    }
}

pub use association_rules::AssociationRules;
pub use frequent_itemsets::FrequentItemsets;
pub use rule_stats::RuleStats;

crate::macros::functions! {
    scalar AssociationRules => association_rules, association_rules_udf;
    aggregate FrequentItemsets => frequent_itemsets, frequent_itemsets_udaf;
    aggregate RuleStats => rule_stats, rule_stats_udaf;
}

//! Market baskets: frequent itemsets by FP-growth, association rules, and rule metrics.

mod association_rules;
mod fpgrowth;
mod frequent_itemsets;
mod rule_metrics;
mod rule_stats;

pub use association_rules::AssociationRules;
pub use frequent_itemsets::FrequentItemsets;
pub use rule_stats::RuleStats;

crate::macros::functions! {
    scalar AssociationRules => association_rules, association_rules_udf;
    aggregate FrequentItemsets => frequent_itemsets, frequent_itemsets_udaf;
    aggregate RuleStats => rule_stats, rule_stats_udaf;
}

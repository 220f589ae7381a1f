//! Cancellation that takes effect inside joins: a physical optimizer rule that makes joins and
//! `unnest` yield to the runtime every so many output batches.
//!
//! A task is cancelled (a Flight SQL `CancelFlightInfo`, a time limit, a client gone, Ctrl-C in
//! the shell) when it next returns to the runtime. DataFusion makes the scans do so (its
//! `EnsureCooperative` rule spends Tokio's cooperative budget once per scanned batch), but an
//! operator that emits many batches per input batch — a cross or nested-loop join probing
//! against a large build side, a hash join with many matches per key, `unnest` — may compute for
//! minutes between two scanned batches: a cancelled cross join of the test lake's transactions
//! with themselves (17 billion pairs) kept computing, and holding its admission slot, for
//! 49 s in a test build. Wrapped in DataFusion's `CooperativeExec`, such an operator spends the
//! budget once per output batch and returns to the runtime after at most 128 of them.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::unnest::UnnestExec;
use datafusion::physical_plan::ExecutionPlan;

/// Wraps every join (a node with two or more inputs) and every `UnnestExec` in a
/// `CooperativeExec` (see the module documentation). Answers do not change; the plans show the
/// wrapper as `CooperativeExec` above the join.
#[derive(Debug, Default)]
pub struct YieldInJoins;

impl PhysicalOptimizerRule for YieldInJoins {
    fn name(&self) -> &'static str {
        "persona_yield_in_joins"
    }

    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let multiplies = node.children().len() >= 2 || node.is::<UnnestExec>();
            if multiplies {
                Ok(Transformed::yes(Arc::new(CooperativeExec::new(node)) as Arc<dyn ExecutionPlan>))
            } else {
                Ok(Transformed::no(node))
            }
        })
        .map(|transformed| transformed.data)
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use datafusion::physical_plan::displayable;

    use crate::EngineBuilder;

    async fn physical_plan(sql: &str) -> String {
        let ctx = EngineBuilder::new().target_partitions(2).build().await.expect("engine");
        let plan = ctx.sql(sql).await.expect("plans").create_physical_plan().await.expect("physical plan");
        let text = displayable(plan.as_ref()).indent(false).to_string();
        text
    }

    /// The line after every `CooperativeExec` (its input) and whether `needle` is among them.
    fn wrapped(plan: &str, needle: &str) -> bool {
        let lines: Vec<&str> = plan.lines().map(str::trim).collect();
        lines.windows(2).any(|pair| pair[0].starts_with("CooperativeExec") && pair[1].starts_with(needle))
    }

    #[tokio::test]
    async fn joins_and_unnest_are_wrapped() {
        let cross =
            physical_plan("SELECT count(*) FROM (VALUES (1), (2)) a(x) CROSS JOIN (VALUES (3), (4)) b(y) WHERE x < y")
                .await;
        assert!(wrapped(&cross, "NestedLoopJoinExec") || wrapped(&cross, "CrossJoinExec"), "{cross}");
        let hash = physical_plan("SELECT * FROM (VALUES (1), (2)) a(x) JOIN (VALUES (1), (4)) b(y) ON x = y").await;
        assert!(wrapped(&hash, "HashJoinExec"), "{hash}");
        let unnest = physical_plan("SELECT unnest(make_array(1, 2, 3)) AS v").await;
        assert!(wrapped(&unnest, "UnnestExec"), "{unnest}");
        let scan = physical_plan("SELECT x + 1 FROM (VALUES (1), (2)) a(x)").await;
        assert!(!wrapped(&scan, "ProjectionExec"), "only joins and unnest: {scan}");
    }
}

//! The analyst recipes of sql/, split into titled steps; `persona demo` runs them on a lake and
//! prints the results.

#[cfg(feature = "cli")]
use datafusion::common::Result;
#[cfg(feature = "cli")]
use datafusion::prelude::SessionContext;
#[cfg(feature = "cli")]
use datafusion_cli::print_options::PrintOptions;

/// The recipes the demo runs, in order: (file name, SQL).
pub const RECIPES: &[(&str, &str)] = &[
    ("customer_profile.sql", include_str!("../sql/customer_profile.sql")),
    ("segmentation.sql", include_str!("../sql/segmentation.sql")),
    ("basket_analysis.sql", include_str!("../sql/basket_analysis.sql")),
    ("drift_monitor.sql", include_str!("../sql/drift_monitor.sql")),
    ("campaign_evaluation.sql", include_str!("../sql/campaign_evaluation.sql")),
    ("credit_model_report.sql", include_str!("../sql/credit_model_report.sql")),
    ("customer_lifetime.sql", include_str!("../sql/customer_lifetime.sql")),
    ("credit_scorecard.sql", include_str!("../sql/credit_scorecard.sql")),
    ("cross_sell.sql", include_str!("../sql/cross_sell.sql")),
    ("fraud_monitor.sql", include_str!("../sql/fraud_monitor.sql")),
];

/// One statement of a recipe with the comment lines written above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipeStep {
    pub title: String,
    pub sql: String,
}

/// Splits a recipe into statements (a statement ends with a line ending in `;`), each
/// titled by the `--` comment lines directly above it.
#[must_use]
pub fn steps(recipe: &str) -> Vec<RecipeStep> {
    let mut steps = Vec::new();
    let mut title: Vec<&str> = Vec::new();
    let mut sql = String::new();
    for line in recipe.lines() {
        let trimmed = line.trim();
        if sql.is_empty() && trimmed.starts_with("--") {
            title.push(trimmed.trim_start_matches('-').trim());
            continue;
        }
        if sql.is_empty() && trimmed.is_empty() {
            title.clear();
            continue;
        }
        sql.push_str(line);
        sql.push('\n');
        if trimmed.ends_with(';') {
            steps.push(RecipeStep { title: title.join(" "), sql: std::mem::take(&mut sql) });
            title.clear();
        }
    }
    if !sql.trim().is_empty() {
        steps.push(RecipeStep { title: title.join(" "), sql });
    }
    steps
}

/// Runs every recipe step, printing a heading per recipe and the title of each step
/// (feature `cli`).
///
/// # Errors
/// The first failing statement.
#[cfg(feature = "cli")]
pub async fn run(ctx: &SessionContext, print_options: &PrintOptions) -> Result<()> {
    let ctx = crate::shell::ShellContext::new(ctx.clone(), print_options.format);
    for (file, recipe) in RECIPES {
        println!("\n=== sql/{file} ===");
        for step in steps(recipe) {
            if !step.title.is_empty() {
                println!("\n-- {}", step.title);
            }
            datafusion_cli::exec::exec_from_commands(&ctx, vec![step.sql], print_options).await?;
        }
    }
    Ok(())
}

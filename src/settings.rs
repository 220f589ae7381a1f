//! Persona's session settings: `SET persona.<name> = <value>`, listed by `SHOW ALL` and
//! `information_schema.df_settings` under their full names. Each turns one of the engine's own
//! plan rewrites on or off; all are on by default.

use std::any::Any;

use datafusion::common::config::{ConfigEntry, ConfigExtension, ExtensionOptions};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{config_err, Result};
use datafusion::logical_expr::{Aggregate, LogicalPlan};
use datafusion::optimizer::OptimizerConfig;

/// The settings (DataFusion's `extensions_options!` would list them without the `persona.`
/// prefix, so `SHOW persona.…` would find nothing).
#[derive(Debug, Clone)]
pub struct PersonaOptions {
    /// `persona.split_unpivot_aggregates`: see [`crate::unpivot`].
    pub split_unpivot_aggregates: bool,
    /// `persona.group_labels_as_codes`: see [`crate::label_codes`].
    pub group_labels_as_codes: bool,
}

/// The field a setting is kept in.
type Field = fn(&mut PersonaOptions) -> &mut bool;

/// Name, description and field of each setting.
const SETTINGS: [(&str, &str, Field); 2] = [
    (
        "split_unpivot_aggregates",
        "Plan an aggregate over an unpivoted table (a UNION ALL whose branches label their rows with \
constants), joined to another table on the label and grouped by it, one branch at a time, without a join or \
grouping on the label per row (default true)",
        |o| &mut o.split_unpivot_aggregates,
    ),
    (
        "group_labels_as_codes",
        "Group by a CASE whose results are string constants (an age band, a segment name) as small integer \
codes, and put the strings back after the aggregate (default true)",
        |o| &mut o.group_labels_as_codes,
    ),
];

impl Default for PersonaOptions {
    fn default() -> Self {
        Self { split_unpivot_aggregates: true, group_labels_as_codes: true }
    }
}

impl PersonaOptions {
    /// The settings of the session being optimised (the defaults when none are registered, as
    /// in a session built without [`crate::EngineBuilder`]).
    #[must_use]
    pub fn of(config: &dyn OptimizerConfig) -> Self {
        config.options().extensions.get::<Self>().cloned().unwrap_or_default()
    }
}

/// Defines a Persona optimizer rule that rewrites aggregates: the unit struct `$rule` (with the
/// doc comments given), named `$name` in `EXPLAIN VERBOSE`, applying `$rewrite` bottom-up to
/// every aggregate while the session's `persona.$setting` is on (see [`rewrite_aggregate`]).
macro_rules! aggregate_rewrite_rule {
    ($(#[$doc:meta])* $rule:ident, $name:literal, $setting:ident, $rewrite:path) => {
        $(#[$doc])*
        #[derive(Debug, Default)]
        pub struct $rule;

        impl datafusion::optimizer::OptimizerRule for $rule {
            fn name(&self) -> &'static str {
                $name
            }

            fn apply_order(&self) -> Option<datafusion::optimizer::ApplyOrder> {
                Some(datafusion::optimizer::ApplyOrder::BottomUp)
            }

            fn supports_rewrite(&self) -> bool {
                true
            }

            fn rewrite(
                &self,
                plan: datafusion::logical_expr::LogicalPlan,
                config: &dyn datafusion::optimizer::OptimizerConfig,
            ) -> datafusion::common::Result<
                datafusion::common::tree_node::Transformed<datafusion::logical_expr::LogicalPlan>,
            > {
                $crate::settings::rewrite_aggregate(plan, config, |o| o.$setting, $rewrite)
            }
        }
    };
}
pub(crate) use aggregate_rewrite_rule;

/// The body of a Persona optimizer rule that rewrites aggregates: `rewrite` applied to `plan` if
/// it is an aggregate and the rule's setting (`enabled` of the session's options) is on. A plan
/// the rule does not match, or cannot rebuild (an error), is left as written.
pub(crate) fn rewrite_aggregate(
    plan: LogicalPlan,
    config: &dyn OptimizerConfig,
    enabled: fn(&PersonaOptions) -> bool,
    rewrite: fn(&Aggregate) -> Result<Option<LogicalPlan>>,
) -> Result<Transformed<LogicalPlan>> {
    let LogicalPlan::Aggregate(aggregate) = &plan else {
        return Ok(Transformed::no(plan));
    };
    if !enabled(&PersonaOptions::of(config)) {
        return Ok(Transformed::no(plan));
    }
    match rewrite(aggregate) {
        Ok(Some(rewritten)) => Ok(Transformed::yes(rewritten)),
        Ok(None) | Err(_) => Ok(Transformed::no(plan)),
    }
}

impl ConfigExtension for PersonaOptions {
    const PREFIX: &'static str = "persona";
}

impl ExtensionOptions for PersonaOptions {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn cloned(&self) -> Box<dyn ExtensionOptions> {
        Box::new(self.clone())
    }

    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let Some((name, _, field)) = SETTINGS.iter().find(|(name, _, _)| *name == key) else {
            let names: Vec<String> = SETTINGS.iter().map(|(name, _, _)| format!("persona.{name}")).collect();
            return config_err!("unknown setting persona.{key}: Persona's settings are {}", names.join(", "));
        };
        *field(self) = match value.trim().to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => return config_err!("persona.{name} is true or false, got '{value}'"),
        };
        Ok(())
    }

    fn entries(&self) -> Vec<ConfigEntry> {
        let mut options = self.clone();
        SETTINGS
            .iter()
            .map(|(name, description, field)| ConfigEntry {
                key: format!("{}.{name}", Self::PREFIX),
                value: Some(field(&mut options).to_string()),
                description,
            })
            .collect()
    }
}

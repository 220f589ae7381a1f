//! Persona's SQL functions for Apache DataFusion.
//!
//! Every function lives in its own file, grouped by family folder (`segment`, `basket`, `drift`,
//! `evaluation`, `fraud`, `lifetime`, `model`, `privacy`, `quality`, `recommend`), and carries `#[user_doc]` documentation so `SHOW FUNCTIONS` and
//! `information_schema.routines` list it. Each family declares its functions in one
//! `functions!` block: a shared instance per function (`segment::rfm_udaf()`), an expression
//! builder ([`expr_fn`]) and the family's registration list. [`register_all`] adds all of them
//! to a [`SessionContext`], [`register_all_in`] to any [`FunctionRegistry`] (a `SessionState`,
//! a distributed executor's registry); a service can depend on this crate alone.
//!
//! Shared code: `common` (argument and array helpers), `group_state` (the aggregate framework)
//! and `stats` (distribution functions and fits). A family never imports another family.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF, WindowUDF};
use datafusion::prelude::SessionContext;

mod macros;

pub mod basket;
mod common;
pub mod drift;
pub mod evaluation;
pub mod fraud;
mod group_state;
pub mod lifetime;
pub mod model;
pub mod privacy;
pub mod quality;
pub mod recommend;
pub mod segment;
mod stats;

/// Expression builders for every Persona function (DataFrame API):
/// `expr_fn::rfm(vec![col("ts"), col("amount"), lit(as_of)])`.
pub mod expr_fn {
    pub use crate::basket::expr_fn::*;
    pub use crate::drift::expr_fn::*;
    pub use crate::evaluation::expr_fn::*;
    pub use crate::fraud::expr_fn::*;
    pub use crate::lifetime::expr_fn::*;
    pub use crate::model::expr_fn::*;
    pub use crate::privacy::expr_fn::*;
    pub use crate::quality::expr_fn::*;
    pub use crate::recommend::expr_fn::*;
    pub use crate::segment::expr_fn::*;
}

/// A set of functions by kind: one family's, or all of Persona's.
#[derive(Debug, Default, Clone)]
pub struct Functions {
    pub scalar: Vec<Arc<ScalarUDF>>,
    pub aggregate: Vec<Arc<AggregateUDF>>,
    pub window: Vec<Arc<WindowUDF>>,
}

impl Functions {
    fn extend(&mut self, other: Functions) {
        self.scalar.extend(other.scalar);
        self.aggregate.extend(other.aggregate);
        self.window.extend(other.window);
    }
}

/// Every Persona function, family by family.
#[must_use]
pub fn all_functions() -> Functions {
    let mut all = Functions::default();
    for family in [
        basket::functions(),
        drift::functions(),
        evaluation::functions(),
        fraud::functions(),
        lifetime::functions(),
        model::functions(),
        privacy::functions(),
        quality::functions(),
        recommend::functions(),
        segment::functions(),
    ] {
        all.extend(family);
    }
    all
}

/// All scalar functions of Persona.
#[must_use]
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    all_functions().scalar
}

/// All aggregate functions of Persona.
#[must_use]
pub fn aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    all_functions().aggregate
}

/// All window functions of Persona.
#[must_use]
pub fn window_functions() -> Vec<Arc<WindowUDF>> {
    all_functions().window
}

/// Registers every Persona function with `ctx`, beside DataFusion's built-ins.
///
/// # Errors
/// Never fails today; the `Result` keeps the signature stable for functions that
/// need to check the session configuration when they are registered.
pub fn register_all(ctx: &SessionContext) -> Result<()> {
    let all = all_functions();
    for udf in all.scalar {
        ctx.register_udf(udf.as_ref().clone());
    }
    for udaf in all.aggregate {
        ctx.register_udaf(udaf.as_ref().clone());
    }
    for udwf in all.window {
        ctx.register_udwf(udwf.as_ref().clone());
    }
    Ok(())
}

/// Registers every Persona function in `registry` (a `SessionState`, or the function registry
/// of a distributed scheduler or executor), beside what it already holds.
///
/// # Errors
/// When the registry refuses a function.
pub fn register_all_in(registry: &mut dyn FunctionRegistry) -> Result<()> {
    let all = all_functions();
    for udf in all.scalar {
        registry.register_udf(udf)?;
    }
    for udaf in all.aggregate {
        registry.register_udaf(udaf)?;
    }
    for udwf in all.window {
        registry.register_udwf(udwf)?;
    }
    Ok(())
}

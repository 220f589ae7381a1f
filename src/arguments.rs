//! Argument errors that name the function: an analyzer rule, run before DataFusion's type
//! coercion, that checks every call of a Persona function against the types its signature
//! coerces the arguments to.
//!
//! DataFusion reports an argument that cannot take the type a signature asks for without the
//! function's name: `type_coercion caused by Cannot automatically convert Struct("k": Int64) to
//! Utf8`, or, when the optimizer folds the cast of a literal, `Optimizer rule
//! 'simplify_expressions' failed … Cannot cast string 'a' to value of Float64 type`. In a
//! statement calling several functions the user is left to guess which argument of which. The
//! rule refuses such a call first, naming the function, the argument and both types:
//! - an argument whose type cannot be cast to the coerced one;
//! - a constant argument (a literal, an array literal `[…]`, `arrow_cast('x', …)`) whose value
//!   does not convert, found by simplifying the cast as the optimizer would;
//! - `DISTINCT` on a Persona aggregate of several arguments, which DataFusion 55 fails with the
//!   internal error "DISTINCT aggregate should have exactly one argument".
//!
//! What the rule cannot type (an argument whose type needs coercion first, a placeholder) is
//! left to DataFusion, as are calls of DataFusion's own functions.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::compute::can_cast_types;
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{plan_err, DFSchema, DataFusionError, Result};
use datafusion::logical_expr::expr::{AggregateFunction, Cast, ScalarFunction, WindowFunction};
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::type_coercion::functions::{fields_with_udf, UDFCoercionExt};
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan, WindowFunctionDefinition};
use datafusion::optimizer::analyzer::AnalyzerRule;
use datafusion::optimizer::simplify_expressions::ExprSimplifier;

/// The rule of the module documentation, for the functions named in `names`.
#[derive(Debug)]
pub struct CheckFunctionArguments {
    names: HashSet<String>,
}

impl CheckFunctionArguments {
    /// Checks calls of every Persona function.
    #[must_use]
    pub fn new() -> Self {
        let functions = persona_udfs::all_functions();
        let names = functions
            .scalar
            .iter()
            .map(|f| f.name().to_string())
            .chain(functions.aggregate.iter().map(|f| f.name().to_string()))
            .chain(functions.window.iter().map(|f| f.name().to_string()))
            .collect();
        Self { names }
    }

    /// DataFusion's analyzer rules with this one before type coercion.
    #[must_use]
    pub fn in_analyzer(rules: &[Arc<dyn AnalyzerRule + Send + Sync>]) -> Vec<Arc<dyn AnalyzerRule + Send + Sync>> {
        let mut rules = rules.to_vec();
        if rules.iter().any(|rule| rule.name() == RULE) {
            return rules;
        }
        let at = rules.iter().position(|rule| rule.name() == "type_coercion").unwrap_or(0);
        rules.insert(at, Arc::new(Self::new()));
        rules
    }

    /// Whether `expr` is a call of a Persona function (not its arguments).
    fn calls_persona(&self, expr: &Expr) -> bool {
        let name = match expr {
            Expr::ScalarFunction(call) => call.func.name(),
            Expr::AggregateFunction(call) => call.func.name(),
            Expr::WindowFunction(window) => window.fun.name(),
            _ => return false,
        };
        self.names.contains(name)
    }

    /// The checks of the module documentation for a call of a Persona function.
    fn check(expr: &Expr, schema: &DFSchema) -> Result<()> {
        match expr {
            Expr::ScalarFunction(ScalarFunction { func, args }) => {
                check_arguments(func.name(), func.as_ref(), args, schema)
            }
            Expr::AggregateFunction(AggregateFunction { func, params }) => {
                if params.distinct && params.args.len() > 1 {
                    return plan_err!(
                        "{}: DISTINCT applies to an aggregate of one argument, and {} takes {}; remove duplicate rows in a subquery first (SELECT DISTINCT …)",
                        func.name(),
                        func.name(),
                        params.args.len()
                    );
                }
                check_arguments(func.name(), func.as_ref(), &params.args, schema)
            }
            Expr::WindowFunction(window) => {
                let WindowFunction { fun, params } = window.as_ref();
                match fun {
                    WindowFunctionDefinition::AggregateUDF(func) => {
                        check_arguments(func.name(), func.as_ref(), &params.args, schema)
                    }
                    WindowFunctionDefinition::WindowUDF(func) => {
                        check_arguments(func.name(), func.as_ref(), &params.args, schema)
                    }
                }
            }
            _ => Ok(()),
        }
    }
}

impl Default for CheckFunctionArguments {
    fn default() -> Self {
        Self::new()
    }
}

const RULE: &str = "check_function_arguments";

impl AnalyzerRule for CheckFunctionArguments {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.apply_with_subqueries(|node| {
            let inputs = node.inputs();
            let mut calls = false;
            node.apply_expressions(|expr| {
                expr.apply(|e| {
                    calls |= self.calls_persona(e);
                    Ok(if calls { TreeNodeRecursion::Stop } else { TreeNodeRecursion::Continue })
                })
            })?;
            // the input schema is only built for the nodes that call a Persona function
            if !calls {
                return Ok(TreeNodeRecursion::Continue);
            }
            let merged;
            let schema = match inputs.as_slice() {
                [] => return Ok(TreeNodeRecursion::Continue),
                [input] => input.schema().as_ref(),
                several => {
                    let mut schema = DFSchema::empty();
                    for input in several {
                        schema.merge(input.schema());
                    }
                    merged = schema;
                    &merged
                }
            };
            node.apply_expressions(|expr| {
                expr.apply(|e| {
                    if self.calls_persona(e) {
                        Self::check(e, schema)?;
                    }
                    Ok(TreeNodeRecursion::Continue)
                })
            })
        })?;
        Ok(plan)
    }

    fn name(&self) -> &'static str {
        RULE
    }
}

/// The checks of the module documentation for one call of `name`.
fn check_arguments<F: UDFCoercionExt>(name: &str, func: &F, args: &[Expr], schema: &DFSchema) -> Result<()> {
    let Ok(fields) =
        args.iter().map(|arg| arg.to_field(schema).map(|(_, field)| field)).collect::<Result<Vec<FieldRef>>>()
    else {
        return Ok(()); // an argument the rule cannot type: DataFusion reports it
    };
    // a call the signature refuses: DataFusion's message names the function
    let Ok(coerced) = fields_with_udf(&fields, func) else {
        return Ok(());
    };
    for (position, ((arg, from), to)) in args.iter().zip(&fields).zip(&coerced).enumerate() {
        let (from, to) = (from.data_type(), to.data_type());
        if from == to {
            continue;
        }
        let number = position + 1;
        if !can_cast_types(from, to) {
            return plan_err!("{name}: argument {number} is {from}, which does not convert to the {to} it takes");
        }
        if let Err(e) = converts(arg, to) {
            return plan_err!("{name}: argument {number} ({from}) does not convert to the {to} it takes: {e}");
        }
    }
    Ok(())
}

/// Whether a constant argument (no columns, nothing volatile) converts to `to`, found as the
/// optimizer will: by simplifying the cast. An argument that does not simplify by itself (it
/// needs DataFusion's coercion first) passes.
fn converts(arg: &Expr, to: &DataType) -> std::result::Result<(), DataFusionError> {
    if !arg.column_refs().is_empty() || arg.is_volatile() {
        return Ok(());
    }
    let simplifier = ExprSimplifier::new(SimplifyContext::default());
    if simplifier.simplify(arg.clone()).is_err() {
        return Ok(());
    }
    simplifier.simplify(Expr::Cast(Cast::new(Box::new(arg.clone()), to.clone()))).map(|_| ())
}

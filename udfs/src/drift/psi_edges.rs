//! `psi_edges(value [, n_bins])`: the quantile cut points of a baseline sample.

use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::binning::{quantile_edges, DEFAULT_BINS, MAX_BINS};
use crate::common::{float_list_array, for_each_float_list, literal_arg, LiteralArg};
use crate::group_state::{GroupState, GroupsOf};

#[user_doc(
    doc_section(label = "Drift Functions"),
    description = "The cut points psi uses for a numeric baseline: the quantiles 1/n, ..., (n-1)/n (n = n_bins, default 10, 2 <= n <= 10000) of the group's \
finite values with linear interpolation (numpy's default, as PERCENTILE_CONT), duplicates dropped, ascending. Store them once and pass them to \
psi(value, is_actual, edges) or psi_histogram(value, edges) to score later months against the same bins in O(bins) memory. \
NULL, NaN and infinite values are ignored; a group without finite values gives NULL. Keeps the group's values in memory (8 bytes each).",
    syntax_example = "psi_edges(value [, n_bins])",
    sql_example = r#"```sql
> SELECT psi_edges(x, 4) AS edges FROM (VALUES (1), (2), (3), (4), (10)) t(x);
+-----------------+
| edges           |
+-----------------+
| [2.0, 3.0, 4.0] |
+-----------------+
```"#,
    argument(name = "value", description = "Numeric baseline value."),
    argument(name = "n_bins", description = "Optional literal number of bins (default 10).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PsiEdges {
    signature: Signature,
}

impl Default for PsiEdges {
    fn default() -> Self {
        Self::new()
    }
}

impl PsiEdges {
    #[must_use]
    pub fn new() -> Self {
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::Exact(vec![DataType::Float64]),
                    TypeSignature::Exact(vec![DataType::Float64, DataType::Int64]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl AggregateUDFImpl for PsiEdges {
    fn name(&self) -> &'static str {
        "psi_edges"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::Float64, true))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "values"),
            DataType::new_list(DataType::Float64, true),
            true,
        ))])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(GroupsOf::<Values>::new(n_bins(&args)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<Values>::new(n_bins(&args)?)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn n_bins(args: &AccumulatorArgs) -> Result<usize> {
    match literal_arg(args.exprs, 1) {
        LiteralArg::Absent => Ok(DEFAULT_BINS),
        LiteralArg::Value(ScalarValue::Int64(Some(n))) if (2..=MAX_BINS as i64).contains(n) => Ok(*n as usize),
        LiteralArg::Value(other) => plan_err!("psi_edges: n_bins must be between 2 and {MAX_BINS}, got {other}"),
        LiteralArg::NotLiteral => plan_err!("psi_edges: n_bins must be a literal integer"),
    }
}

/// The finite values of one group.
#[derive(Debug, Default)]
struct Values(Vec<f64>);

impl GroupState for Values {
    type Params = usize;

    fn update(
        _n_bins: &usize,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let numbers = values[0].as_primitive::<Float64Type>();
        for (row, value) in numbers.iter().enumerate() {
            if let (Some(g), Some(v)) = (group_of(row), value.filter(|v| v.is_finite())) {
                groups[g].0.push(v);
            }
        }
        Ok(())
    }

    fn state(_n_bins: &usize, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        Ok(vec![float_list_array("psi_edges", groups.iter().map(|g| Some(g.0.as_slice())))?])
    }

    fn merge(
        _n_bins: &usize,
        groups: &mut [Self],
        states: &[ArrayRef],
        group_of: impl Fn(usize) -> usize,
    ) -> Result<()> {
        for_each_float_list(&states[..1], |row, _, values| groups[group_of(row)].0.extend_from_slice(values));
        Ok(())
    }

    fn evaluate(n_bins: &usize, groups: &mut [Self]) -> Result<ArrayRef> {
        let edges: Vec<Option<Vec<f64>>> = groups
            .iter_mut()
            .map(|g| {
                g.0.sort_unstable_by(f64::total_cmp);
                (!g.0.is_empty()).then(|| quantile_edges(&g.0, *n_bins))
            })
            .collect();
        float_list_array("psi_edges", edges.iter().map(Option::as_deref))
    }

    fn size(&self) -> usize {
        self.0.capacity() * size_of::<f64>()
    }
}

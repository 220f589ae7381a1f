//! `psi(value, is_actual [, bins [, epsilon]])`: population stability index of two samples.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array};
use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature};
use datafusion_macros::user_doc;

use super::binning::{psi, Bin};
use super::sample_state::{
    coerce_sample_args, sample_accumulator, sample_signature, sample_state_fields, SampleMeasure,
};

#[user_doc(
    doc_section(label = "Drift Functions"),
    description = "Population stability index of the actual rows (is_actual true) against the expected rows (is_actual false) of a group: \
PSI = Σ_i (a_i - e_i) ln(a_i / e_i), where e_i and a_i are the shares of the expected and actual rows in bin i (count in the bin / rows of that side, \
the missing bin included). \
Numeric values: with an integer bins = n (default 10, 2 <= n <= 10000) the cut points are the expected sample's quantiles 1/n, ..., (n-1)/n with linear \
interpolation (numpy's default, as PERCENTILE_CONT), computed from its finite values, duplicate cut points dropped; bins are closed on the right, \
(-inf, c_1], (c_1, c_2], ..., (c_last, +inf), so -inf and +inf fall in the outer bins. This mode keeps every value of the group in memory (8 bytes each). \
With bins = a list of cut points (finite, strictly increasing, the same on every row of a group, for example psi_edges of a baseline) only the counts \
are kept (O(bins) memory). \
Strings and booleans are categories: one bin per category seen on either side (bins must be omitted or NULL); integers are numeric (cast to VARCHAR to \
treat them as categories). NULL and NaN values form their own bin on both sides. Rows with a NULL is_actual are ignored. \
Empty bins: a share of 0 (on either side) is replaced by epsilon (default 1e-4); epsilon = 0 turns smoothing off and a bin empty on one side only gives \
+inf. The result is NULL when either side has no rows.",
    syntax_example = "psi(value, is_actual [, bins [, epsilon]])",
    sql_example = r#"```sql
> SELECT round(psi(x, is_actual, 2), 6) AS psi
  FROM (VALUES (1, false), (2, false), (3, false), (4, false), (3, true), (4, true), (4, true), (5, true)) t(x, is_actual);
+----------+
| psi      |
+----------+
| 4.604318 |
+----------+
```"#,
    argument(name = "value", description = "Number (binned) or string/boolean (categories)."),
    argument(
        name = "is_actual",
        description = "Boolean: false for the expected (baseline) sample, true for the actual one."
    ),
    argument(
        name = "bins",
        description = "Optional: the number of quantile bins (literal, default 10) or a list of cut points."
    ),
    argument(
        name = "epsilon",
        description = "Optional literal in [0, 1): the share that replaces an empty bin's 0 (default 1e-4; 0 = no smoothing)."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Psi {
    signature: Signature,
}

impl Default for Psi {
    fn default() -> Self {
        Self::new()
    }
}

impl Psi {
    #[must_use]
    pub fn new() -> Self {
        Self { signature: sample_signature() }
    }
}

impl AggregateUDFImpl for Psi {
    fn name(&self) -> &'static str {
        "psi"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_sample_args(self.name(), arg_types, 4)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(sample_state_fields(args.name))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(sample_accumulator(PsiOf, &args)?))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(sample_accumulator(PsiOf, &args)?))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// Evaluates `psi` from the bins.
#[derive(Debug)]
struct PsiOf;

impl SampleMeasure for PsiOf {
    fn name(&self) -> &'static str {
        "psi"
    }

    fn evaluate(&self, groups: &[Vec<Bin>], epsilon: f64) -> Result<ArrayRef> {
        Ok(Arc::new(groups.iter().map(|b| psi(b, epsilon)).collect::<Float64Array>()))
    }
}

//! `js_divergence(value, is_actual [, bins])`: Jensen-Shannon divergence on the bins of `psi`.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array};
use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature};
use datafusion_macros::user_doc;

use super::binning::{js_divergence, Bin};
use super::sample_state::{
    coerce_sample_args, sample_accumulator, sample_signature, sample_state_fields, SampleMeasure,
};

#[user_doc(
    doc_section(label = "Drift Functions"),
    description = "Jensen-Shannon divergence (natural logarithm, so between 0 and ln 2) between the expected (is_actual false) and actual (is_actual true) \
shares over the bins of psi (same binning: quantile cut points of the expected sample, cut points given as a list, or categories; NULL and NaN in their own bin): \
JS = ½ Σ e_i ln(e_i / m_i) + ½ Σ a_i ln(a_i / m_i) with m_i = (e_i + a_i) / 2, where terms with a zero share are 0, so no smoothing is needed. \
Symmetric in the two samples, unlike PSI. NULL when either side has no rows.",
    syntax_example = "js_divergence(value, is_actual [, bins])",
    sql_example = r#"```sql
> SELECT round(js_divergence(x, is_actual, 2), 6) AS js
  FROM (VALUES (1, false), (2, false), (3, false), (4, false), (3, true), (4, true), (4, true), (5, true)) t(x, is_actual);
+----------+
| js       |
+----------+
| 0.215762 |
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
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsDivergence {
    signature: Signature,
}

impl Default for JsDivergence {
    fn default() -> Self {
        Self::new()
    }
}

impl JsDivergence {
    #[must_use]
    pub fn new() -> Self {
        Self { signature: sample_signature() }
    }
}

impl AggregateUDFImpl for JsDivergence {
    fn name(&self) -> &'static str {
        "js_divergence"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_sample_args(self.name(), arg_types, 3)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(sample_state_fields(args.name))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(sample_accumulator(JsOf, &args)?))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(sample_accumulator(JsOf, &args)?))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// Evaluates `js_divergence` from the bins.
#[derive(Debug)]
struct JsOf;

impl SampleMeasure for JsOf {
    fn name(&self) -> &'static str {
        "js_divergence"
    }

    fn evaluate(&self, groups: &[Vec<Bin>], _epsilon: f64) -> Result<ArrayRef> {
        Ok(Arc::new(groups.iter().map(|b| js_divergence(b)).collect::<Float64Array>()))
    }
}

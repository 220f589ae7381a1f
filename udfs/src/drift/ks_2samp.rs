//! `ks_2samp(value, is_actual)`: two-sample Kolmogorov-Smirnov test, as scipy.

use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, StringArray, StructArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{float_list_array, for_each_float_list};
use crate::group_state::{GroupState, GroupsOf};
use crate::stats::kolmogorov_smirnov::{ks_2samp_pvalue, ks_statistic, KsMethod};

#[user_doc(
    doc_section(label = "Drift Functions"),
    description = "Two-sample Kolmogorov-Smirnov test of the actual rows (is_actual true) against the expected rows (is_actual false), two-sided, \
as scipy.stats.ks_2samp(actual, expected) with method 'auto': statistic D = max over all values x of |F_actual(x) - F_expected(x)| (empirical CDFs, \
ties handled as scipy); p-value exact (scipy's lattice-path method, D rounded to a multiple of 1/lcm(n1, n2) as scipy reports it) when both samples \
have at most 10,000 values, otherwise scipy's asymptotic method: the one-sample Kolmogorov distribution kstwo.sf(D, round(n1 n2 / (n1 + n2))); \
if the exact computation overflows it falls back to the asymptotic one, as scipy does. \
Returns a struct {statistic, pvalue, method ('exact' or 'asymp'), n_expected, n_actual}. NULL and NaN values and rows with a NULL is_actual are ignored; \
the result is NULL when either side has no values. Keeps the group's values in memory (8 bytes each).",
    syntax_example = "ks_2samp(value, is_actual)",
    sql_example = r#"```sql
> SELECT ks_2samp(x, is_actual) AS ks
  FROM (VALUES (1, false), (2, false), (3, false), (4, false), (3, true), (4, true), (5, true), (6, true)) t(x, is_actual);
+-----------------------------------------------------------------------------------------+
| ks                                                                                      |
+-----------------------------------------------------------------------------------------+
| {statistic: 0.5, pvalue: 0.7714285714285716, method: exact, n_expected: 4, n_actual: 4} |
+-----------------------------------------------------------------------------------------+
```"#,
    argument(name = "value", description = "Numeric value."),
    argument(
        name = "is_actual",
        description = "Boolean: false for the expected (baseline) sample, true for the actual one."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Ks2Samp {
    signature: Signature,
}

impl Default for Ks2Samp {
    fn default() -> Self {
        Self::new()
    }
}

impl Ks2Samp {
    #[must_use]
    pub fn new() -> Self {
        Self {
            signature: Signature::one_of(
                vec![TypeSignature::UserDefined, TypeSignature::Exact(vec![DataType::Float64, DataType::Boolean])],
                Volatility::Immutable,
            ),
        }
    }
}

fn output_fields() -> Fields {
    Fields::from(vec![
        Field::new("statistic", DataType::Float64, true),
        Field::new("pvalue", DataType::Float64, true),
        Field::new("method", DataType::Utf8, true),
        Field::new("n_expected", DataType::Int64, true),
        Field::new("n_actual", DataType::Int64, true),
    ])
}

impl AggregateUDFImpl for Ks2Samp {
    fn name(&self) -> &'static str {
        "ks_2samp"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [value, DataType::Boolean | DataType::Null] if value.is_numeric() || value.is_null() => {
                Ok(vec![DataType::Float64, DataType::Boolean])
            }
            _ => plan_err!("ks_2samp takes (numeric value, boolean is_actual), got {arg_types:?}"),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(output_fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(["expected", "actual"]
            .iter()
            .map(|side| {
                Arc::new(Field::new(
                    format_state_name(args.name, side),
                    DataType::new_list(DataType::Float64, true),
                    true,
                ))
            })
            .collect())
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(GroupsOf::<TwoSamples>::new(())))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<TwoSamples>::new(())))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// The expected [0] and actual [1] values of one group.
#[derive(Debug, Default)]
struct TwoSamples([Vec<f64>; 2]);

impl GroupState for TwoSamples {
    type Params = ();

    fn update(
        _: &(),
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let numbers = values[0].as_primitive::<Float64Type>();
        let is_actual = values[1].as_boolean();
        for row in 0..numbers.len() {
            if numbers.is_null(row) || is_actual.is_null(row) || numbers.value(row).is_nan() {
                continue;
            }
            if let Some(g) = group_of(row) {
                groups[g].0[usize::from(is_actual.value(row))].push(numbers.value(row));
            }
        }
        Ok(())
    }

    fn state(_: &(), groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        (0..2).map(|side| float_list_array("ks_2samp", groups.iter().map(|g| Some(g.0[side].as_slice())))).collect()
    }

    fn merge(_: &(), groups: &mut [Self], states: &[ArrayRef], group_of: impl Fn(usize) -> usize) -> Result<()> {
        for_each_float_list(&states[..2], |row, side, values| groups[group_of(row)].0[side].extend_from_slice(values));
        Ok(())
    }

    fn evaluate(_: &(), groups: &mut [Self]) -> Result<ArrayRef> {
        let mut statistic = Vec::with_capacity(groups.len());
        let mut pvalue = Vec::with_capacity(groups.len());
        let mut method = Vec::with_capacity(groups.len());
        let (mut n_expected, mut n_actual) = (Vec::new(), Vec::new());
        let mut valid = Vec::with_capacity(groups.len());
        for g in groups.iter_mut() {
            let [expected, actual] = &mut g.0;
            expected.sort_unstable_by(f64::total_cmp);
            actual.sort_unstable_by(f64::total_cmp);
            n_expected.push(expected.len() as i64);
            n_actual.push(actual.len() as i64);
            if expected.is_empty() || actual.is_empty() {
                valid.push(false);
                statistic.push(None);
                pvalue.push(None);
                method.push(None);
                continue;
            }
            let d = ks_statistic(actual, expected);
            let (d, p, how) = ks_2samp_pvalue(actual.len() as u64, expected.len() as u64, d);
            valid.push(true);
            statistic.push(Some(d));
            pvalue.push(Some(p));
            method.push(Some(match how {
                KsMethod::Exact => "exact",
                KsMethod::Asymptotic => "asymp",
            }));
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Float64Array::from(statistic)),
            Arc::new(Float64Array::from(pvalue)),
            Arc::new(StringArray::from(method)),
            Arc::new(Int64Array::from(n_expected)),
            Arc::new(Int64Array::from(n_actual)),
        ];
        Ok(Arc::new(StructArray::new(output_fields(), columns, Some(NullBuffer::from(valid)))))
    }

    fn size(&self) -> usize {
        (self.0[0].capacity() + self.0[1].capacity()) * size_of::<f64>()
    }
}

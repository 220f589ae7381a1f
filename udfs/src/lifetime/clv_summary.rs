//! `clv_summary(ts, amount, observation_end [, unit])`: a customer's frequency, recency, T and
//! monetary value, the inputs of the buy-till-you-die models.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StructArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::occasions_state::{self, date_arg, unit_arg, OccasionMeasure, Occasions};
use crate::common::is_date_like;
use crate::group_state::GroupsOf;

#[user_doc(
    doc_section(label = "Customer Lifetime Functions"),
    description = "The summary of a customer's purchases that BG/NBD, Pareto/NBD and Gamma-Gamma take, exactly as lifetimes' \
`summary_data_from_transaction_data(freq='D')`: all purchases on one calendar day are one purchase occasion (their amounts summed); \
`frequency` = distinct purchase days − 1 (repeat purchases); `recency` = days from the first to the last purchase day; \
`T` = days from the first purchase day to observation_end; `monetary_value` = the mean of the per-day amounts over the repeat days \
(every day but the first), 0 when frequency = 0. With unit 'week' recency and T are divided by 7 (lifetimes' freq_multiplier = 7). \
Purchases on days after observation_end are ignored, so a calibration period is the same call with an earlier end. \
The day of a timestamp is its calendar date in UTC (lifetimes floors timestamps to their day the same way). Rows with a NULL ts or amount, or a NaN amount, are ignored; a customer without any other row gives NULL; an infinite amount is an error. \
The state holds one (day, amount) per purchase day of the customer.",
    syntax_example = "clv_summary(ts, amount, observation_end [, unit])",
    sql_example = r#"```sql
> SELECT clv_summary(d, amount, DATE '1997-09-30', 'week') AS s
  FROM (VALUES (DATE '1997-01-01', 29.33), (DATE '1997-01-18', 29.73), (DATE '1997-08-02', 14.96),
               (DATE '1997-08-02', 5.0)) t(d, amount);
+--------------------------------------------------------------------------------------------+
| s                                                                                          |
+--------------------------------------------------------------------------------------------+
| {frequency: 2, recency: 30.428571428571427, T: 38.857142857142854, monetary_value: 24.845} |
+--------------------------------------------------------------------------------------------+
```"#,
    argument(name = "ts", description = "Purchase date or timestamp."),
    argument(name = "amount", description = "Purchase amount (numeric)."),
    argument(name = "observation_end", description = "Constant date ending the observation (calibration) period."),
    argument(name = "unit", description = "Constant time unit of recency and T: 'day' (default) or 'week'.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ClvSummary {
    signature: Signature,
}

impl Default for ClvSummary {
    fn default() -> Self {
        Self::new()
    }
}

impl ClvSummary {
    #[must_use]
    pub fn new() -> Self {
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::Date32, DataType::Float64, DataType::Date32]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

fn output_fields() -> Fields {
    Fields::from(vec![
        Field::new("frequency", DataType::Int64, true),
        Field::new("recency", DataType::Float64, true),
        Field::new("T", DataType::Float64, true),
        Field::new("monetary_value", DataType::Float64, true),
    ])
}

/// Constant arguments of `clv_summary`.
#[derive(Debug)]
pub(super) struct SummaryParams {
    end: i32,
    /// Days per time unit.
    unit: f64,
}

#[derive(Debug)]
pub(super) struct Summary;

impl OccasionMeasure for Summary {
    const NAME: &'static str = "clv_summary";
    type Params = SummaryParams;
    const AMOUNT: Option<usize> = Some(1);

    fn last_day(params: &SummaryParams) -> i32 {
        params.end
    }

    fn evaluate(params: &SummaryParams, groups: &mut [Occasions<Self>]) -> Result<ArrayRef> {
        let mut frequency = Vec::with_capacity(groups.len());
        let mut recency = Vec::with_capacity(groups.len());
        let mut age = Vec::with_capacity(groups.len());
        let mut monetary = Vec::with_capacity(groups.len());
        let mut valid = Vec::with_capacity(groups.len());
        for group in groups.iter() {
            let days = group.days();
            let (Some(first), Some(last)) = (days.first().map(|e| e.0), days.last().map(|e| e.0)) else {
                frequency.push(0);
                recency.push(0.0);
                age.push(0.0);
                monetary.push(0.0);
                valid.push(false);
                continue;
            };
            let repeats = days.len() - 1;
            frequency.push(i64::try_from(repeats).unwrap_or(i64::MAX));
            // in i64: days far apart (timestamps in seconds reach past i32) must not wrap
            #[allow(clippy::cast_precision_loss)]
            recency.push((i64::from(last) - i64::from(first)) as f64 / params.unit);
            #[allow(clippy::cast_precision_loss)]
            age.push((i64::from(params.end) - i64::from(first)) as f64 / params.unit);
            #[allow(clippy::cast_precision_loss)] // purchase days of one customer
            monetary.push(if repeats == 0 { 0.0 } else { days[1..].iter().map(|e| e.1).sum::<f64>() / repeats as f64 });
            valid.push(true);
        }
        Ok(Arc::new(StructArray::try_new(
            output_fields(),
            vec![
                Arc::new(Int64Array::from(frequency)),
                Arc::new(Float64Array::from(recency)),
                Arc::new(Float64Array::from(age)),
                Arc::new(Float64Array::from(monetary)),
            ],
            Some(NullBuffer::from(valid)),
        )?))
    }
}

fn accumulator(args: &AccumulatorArgs) -> Result<GroupsOf<Occasions<Summary>>> {
    let end = date_arg("clv_summary", args, 2, "observation_end")?;
    let unit = unit_arg("clv_summary", args, 3)?;
    Ok(GroupsOf::new(SummaryParams { end, unit }))
}

impl AggregateUDFImpl for ClvSummary {
    fn name(&self) -> &'static str {
        "clv_summary"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(3..=4).contains(&arg_types.len()) {
            return plan_err!(
                "clv_summary takes 3 or 4 arguments (ts, amount, observation_end [, unit]), got {}",
                arg_types.len()
            );
        }
        if !is_date_like(&arg_types[0]) {
            return plan_err!("clv_summary: ts must be a date or timestamp, got {}", arg_types[0]);
        }
        if !arg_types[1].is_numeric() {
            return plan_err!("clv_summary: amount must be numeric, got {}", arg_types[1]);
        }
        if !is_date_like(&arg_types[2]) {
            return plan_err!(
                "clv_summary: observation_end must be a date such as DATE '1997-09-30', got {}",
                arg_types[2]
            );
        }
        let mut coerced = vec![arg_types[0].clone(), DataType::Float64, DataType::Date32];
        coerced.extend(arg_types.get(3).cloned());
        Ok(coerced)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(output_fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(occasions_state::state_fields(&args))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(accumulator(&args)?))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(accumulator(&args)?))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

//! `clv_holdout(ts, calibration_end, observation_end [, unit])`: a customer's purchases in the
//! holdout period after a calibration period.

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
    description = "The holdout side of a calibration/holdout split, as the holdout columns of lifetimes' `calibration_and_holdout_data(freq='D')`: \
`frequency_holdout` = the number of distinct purchase days after calibration_end up to observation_end; \
`duration_holdout` = days from calibration_end to observation_end (divided by 7 with unit 'week'). \
A customer without any purchase up to calibration_end gives NULL (lifetimes leaves such customers out), so joining it to \
clv_summary(ts, amount, calibration_end) gives lifetimes' table. Purchases after observation_end are ignored. \
The day of a timestamp is its calendar date in UTC and the whole day of calibration_end is calibration (lifetimes splits on the raw timestamp, \
so there a purchase after midnight on calibration_end is a holdout purchase: pass dates to compare). Rows with a NULL ts are ignored. The state holds the customer's distinct purchase days.",
    syntax_example = "clv_holdout(ts, calibration_end, observation_end [, unit])",
    sql_example = r#"```sql
> SELECT clv_holdout(d, DATE '1997-09-30', DATE '1998-06-30', 'week') AS h
  FROM (VALUES (DATE '1997-01-01'), (DATE '1997-11-18'), (DATE '1998-02-02'), (DATE '1998-02-02'),
               (DATE '1998-08-01')) t(d);
+------------------------------------------------+
| h                                              |
+------------------------------------------------+
| {frequency_holdout: 2, duration_holdout: 39.0} |
+------------------------------------------------+
```"#,
    argument(name = "ts", description = "Purchase date or timestamp."),
    argument(name = "calibration_end", description = "Constant date ending the calibration period."),
    argument(name = "observation_end", description = "Constant date ending the holdout period."),
    argument(name = "unit", description = "Constant time unit of duration_holdout: 'day' (default) or 'week'.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ClvHoldout {
    signature: Signature,
}

impl Default for ClvHoldout {
    fn default() -> Self {
        Self::new()
    }
}

impl ClvHoldout {
    #[must_use]
    pub fn new() -> Self {
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::Date32, DataType::Date32, DataType::Date32]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

fn output_fields() -> Fields {
    Fields::from(vec![
        Field::new("frequency_holdout", DataType::Int64, true),
        Field::new("duration_holdout", DataType::Float64, true),
    ])
}

/// Constant arguments of `clv_holdout`.
#[derive(Debug)]
pub(super) struct HoldoutParams {
    calibration_end: i32,
    end: i32,
    /// Days per time unit.
    unit: f64,
}

#[derive(Debug)]
pub(super) struct Holdout;

impl OccasionMeasure for Holdout {
    const NAME: &'static str = "clv_holdout";
    type Params = HoldoutParams;
    const AMOUNT: Option<usize> = None;

    fn last_day(params: &HoldoutParams) -> i32 {
        params.end
    }

    fn evaluate(params: &HoldoutParams, groups: &mut [Occasions<Self>]) -> Result<ArrayRef> {
        #[allow(clippy::cast_precision_loss)]
        let duration = (i64::from(params.end) - i64::from(params.calibration_end)) as f64 / params.unit;
        let mut frequency = Vec::with_capacity(groups.len());
        let mut valid = Vec::with_capacity(groups.len());
        for group in groups.iter() {
            let days = group.days();
            let calibration = days.partition_point(|e| e.0 <= params.calibration_end);
            frequency.push(i64::try_from(days.len() - calibration).unwrap_or(i64::MAX));
            valid.push(calibration > 0);
        }
        Ok(Arc::new(StructArray::try_new(
            output_fields(),
            vec![Arc::new(Int64Array::from(frequency)), Arc::new(Float64Array::from(vec![duration; groups.len()]))],
            Some(NullBuffer::from(valid)),
        )?))
    }
}

fn accumulator(args: &AccumulatorArgs) -> Result<GroupsOf<Occasions<Holdout>>> {
    let calibration_end = date_arg("clv_holdout", args, 1, "calibration_end")?;
    let end = date_arg("clv_holdout", args, 2, "observation_end")?;
    if end < calibration_end {
        return plan_err!("clv_holdout: observation_end must not be before calibration_end");
    }
    let unit = unit_arg("clv_holdout", args, 3)?;
    Ok(GroupsOf::new(HoldoutParams { calibration_end, end, unit }))
}

impl AggregateUDFImpl for ClvHoldout {
    fn name(&self) -> &'static str {
        "clv_holdout"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(3..=4).contains(&arg_types.len()) {
            return plan_err!(
                "clv_holdout takes 3 or 4 arguments (ts, calibration_end, observation_end [, unit]), got {}",
                arg_types.len()
            );
        }
        if !is_date_like(&arg_types[0]) {
            return plan_err!("clv_holdout: ts must be a date or timestamp, got {}", arg_types[0]);
        }
        for (i, what) in [(1, "calibration_end"), (2, "observation_end")] {
            if !is_date_like(&arg_types[i]) {
                return plan_err!("clv_holdout: {what} must be a date such as DATE '1997-09-30', got {}", arg_types[i]);
            }
        }
        let mut coerced = vec![arg_types[0].clone(), DataType::Date32, DataType::Date32];
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

//! `lifecycle_stage(first_purchase, last_purchase, recent_purchases, prior_purchases, as_of
//! [, active_days [, lapsed_days]])`: the customer's lifecycle stage.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::datatypes::{DataType, Date32Type, Float64Type};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{is_date_like, purchase_days};

#[user_doc(
    doc_section(label = "Customer Lifetime Functions"),
    description = "The lifecycle stage of a customer as of a date, from the first and last purchase dates and the number of purchases \
in the recent period (the active_days days before as_of) and in the prior period (the active_days days before that). With days(d) = as_of − d in days, \
the first rule that holds gives the stage: 'new' if days(first_purchase) <= active_days (first bought in the recent period); \
'active' if recent_purchases > 0 and prior_purchases > 0; 'won-back' if recent_purchases > 0 and prior_purchases = 0 (bought before, not in the prior period, again now); \
'at-risk' if days(last_purchase) <= lapsed_days; otherwise 'lapsed'. Defaults: active_days 90, lapsed_days 180 (constants; lapsed_days >= active_days > 0). \
Purchases on or after as_of should be filtered out first (as_of is usually the day after the data ends). Timestamps count by their UTC date. \
NULL (or NaN) in the dates or counts gives NULL; active_days and lapsed_days must be constant whole numbers; negative purchase counts are errors.",
    syntax_example = "lifecycle_stage(first_purchase, last_purchase, recent_purchases, prior_purchases, as_of [, active_days [, lapsed_days]])",
    sql_example = r#"```sql
> SELECT c, lifecycle_stage(f, l, recent, prior, DATE '2026-01-01') AS stage
  FROM (VALUES ('a', DATE '2025-11-20', DATE '2025-12-24', 2, 0), ('b', DATE '2024-03-01', DATE '2025-12-01', 3, 4),
               ('c', DATE '2024-03-01', DATE '2025-12-01', 1, 0), ('d', DATE '2025-01-10', DATE '2025-08-15', 0, 1),
               ('e', DATE '2024-05-01', DATE '2025-02-01', 0, 0)) t(c, f, l, recent, prior);
+---+----------+
| c | stage    |
+---+----------+
| a | new      |
| b | active   |
| c | won-back |
| d | at-risk  |
| e | lapsed   |
+---+----------+
```"#,
    argument(name = "first_purchase", description = "Date (or timestamp) of the customer's first purchase."),
    argument(
        name = "last_purchase",
        description = "Date (or timestamp) of the customer's last purchase before as_of."
    ),
    argument(name = "recent_purchases", description = "Purchases in the active_days days before as_of."),
    argument(name = "prior_purchases", description = "Purchases in the active_days days before the recent period."),
    argument(name = "as_of", description = "The date the stage is assigned at."),
    argument(
        name = "active_days",
        description = "Constant length of the recent and prior periods in days (default 90)."
    ),
    argument(
        name = "lapsed_days",
        description = "Constant: days since the last purchase after which an inactive customer is lapsed (default 180)."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LifecycleStage {
    signature: Signature,
}

impl Default for LifecycleStage {
    fn default() -> Self {
        Self::new()
    }
}

impl LifecycleStage {
    #[must_use]
    pub fn new() -> Self {
        // UserDefined coerces; the Exact variant documents the argument types for SHOW FUNCTIONS
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![
                        DataType::Date32,
                        DataType::Date32,
                        DataType::Float64,
                        DataType::Float64,
                        DataType::Date32,
                    ]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

const NAME: &str = "lifecycle_stage";

/// A constant integer argument, or its default.
fn constant_days(args: &ScalarFunctionArgs, index: usize, default: i64, what: &str) -> Result<i64> {
    match args.args.get(index) {
        None => Ok(default),
        Some(ColumnarValue::Scalar(v)) => match v.cast_to(&DataType::Float64)? {
            datafusion::common::ScalarValue::Float64(Some(d)) if d.fract() == 0.0 && d.abs() < 1e9 => {
                #[allow(clippy::cast_possible_truncation)] // a whole number below 1e9
                Ok(d as i64)
            }
            other => exec_err!("{NAME}: {what} must be a whole number of days, got {other}"),
        },
        Some(ColumnarValue::Array(_)) => exec_err!("{NAME}: {what} must be a constant"),
    }
}

impl ScalarUDFImpl for LifecycleStage {
    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(5..=7).contains(&arg_types.len()) {
            return plan_err!(
                "{NAME} takes 5 to 7 arguments (first_purchase, last_purchase, recent_purchases, prior_purchases, as_of [, active_days [, lapsed_days]]), got {}",
                arg_types.len()
            );
        }
        let mut coerced = Vec::with_capacity(arg_types.len());
        for (i, t) in arg_types.iter().enumerate() {
            let date = matches!(i, 0 | 1 | 4);
            if date && !(is_date_like(t) || t.is_null()) {
                return plan_err!("{NAME}: argument {} must be a date or timestamp, got {t}", i + 1);
            }
            if !(date || t.is_numeric() || t.is_null()) {
                return plan_err!("{NAME}: argument {} must be a number, got {t}", i + 1);
            }
            coerced.push(if date {
                if t.is_null() {
                    DataType::Date32
                } else {
                    t.clone()
                }
            } else {
                DataType::Float64
            });
        }
        Ok(coerced)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let active = constant_days(&args, 5, 90, "active_days")?;
        let lapsed = constant_days(&args, 6, 180, "lapsed_days")?;
        if active <= 0 || lapsed < active {
            return exec_err!(
                "{NAME}: need lapsed_days >= active_days > 0, got active_days {active} and lapsed_days {lapsed}"
            );
        }
        let rows = args.number_rows;
        let day_column = |i: usize| -> Result<ArrayRef> { purchase_days(&args.args[i].to_array(rows)?) };
        let (first, last, as_of) = (day_column(0)?, day_column(1)?, day_column(4)?);
        let (first, last, as_of) =
            (first.as_primitive::<Date32Type>(), last.as_primitive::<Date32Type>(), as_of.as_primitive::<Date32Type>());
        let recent = args.args[2].to_array(rows)?;
        let prior = args.args[3].to_array(rows)?;
        let (recent, prior) = (recent.as_primitive::<Float64Type>(), prior.as_primitive::<Float64Type>());
        let mut out = StringBuilder::with_capacity(rows, rows * 8);
        for i in 0..rows {
            if first.is_null(i) || last.is_null(i) || as_of.is_null(i) || recent.is_null(i) || prior.is_null(i) {
                out.append_null();
                continue;
            }
            let (r, p) = (recent.value(i), prior.value(i));
            if r.is_nan() || p.is_nan() {
                out.append_null();
                continue;
            }
            if r < 0.0 || p < 0.0 {
                return exec_err!("{NAME}: purchase counts must be >= 0, got recent {r} and prior {p}");
            }
            let since = |d: i32| i64::from(as_of.value(i)) - i64::from(d);
            let stage = if since(first.value(i)) <= active {
                "new"
            } else if r > 0.0 {
                if p > 0.0 {
                    "active"
                } else {
                    "won-back"
                }
            } else if since(last.value(i)) <= lapsed {
                "at-risk"
            } else {
                "lapsed"
            };
            out.append_value(stage);
        }
        let result: ArrayRef = Arc::new(out.finish());
        Ok(ColumnarValue::Array(result))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

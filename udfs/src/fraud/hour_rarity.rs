//! `hour_rarity(ts [, width]) OVER (PARTITION BY customer ORDER BY ts)`: how unusual the hour of
//! day of a transaction is for the customer — a 3 a.m. purchase by someone who shops at lunch.

use std::ops::Range;

use arrow::array::temporal_conversions::as_datetime_with_timezone;
use arrow::array::timezone::Tz;
use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type, TimeUnit, TimestampMicrosecondType};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Documentation, PartitionEvaluator, Signature, TypeSignature, Volatility, WindowUDFImpl,
};
use datafusion_macros::user_doc;

use super::running::{literal_count, micros, timestamp_type, RowScorer, Running};

const MICROS_PER_HOUR: i64 = 3_600_000_000;

#[user_doc(
    doc_section(label = "Fraud Functions"),
    description = "How rare each row's hour of day is among the earlier rows of its partition in the window's ORDER BY: \
rarity = 1 − c / N, where N is the number of earlier rows with a non-NULL timestamp and c the number of those whose hour of day is within `width` hours \
of this row's on the 24-hour clock (|Δ| ≤ width, going round midnight: with width 1, 23:xx and 01:xx count as near 00:xx). \
1 means the customer has never been active at this time of day, 0 that every earlier transaction was. \
The hour is the wall-clock hour: as stored for a timestamp without time zone, in the column's zone for a zoned timestamp. \
NULL when the timestamp is NULL (NULL rows are not counted in N) or when N = 0. width is a constant from 0 to 11 (default 1). \
The window frame is ignored (as for lag); it streams over sorted input holding 24 counts per partition.",
    syntax_example = "hour_rarity(ts [, width]) OVER (PARTITION BY customer ORDER BY ts)",
    sql_example = r#"```sql
> SELECT ts, round(hour_rarity(ts) OVER (ORDER BY ts), 3) AS rarity
  FROM (VALUES (TIMESTAMP '2024-03-01 12:10:00'), (TIMESTAMP '2024-03-02 13:30:00'), (TIMESTAMP '2024-03-03 12:45:00'),
               (TIMESTAMP '2024-03-04 03:05:00'), (TIMESTAMP '2024-03-05 11:55:00')) v(ts);
+---------------------+--------+
| ts                  | rarity |
+---------------------+--------+
| 2024-03-01T12:10:00 | NULL   |
| 2024-03-02T13:30:00 | 0.0    |
| 2024-03-03T12:45:00 | 0.0    |
| 2024-03-04T03:05:00 | 1.0    |
| 2024-03-05T11:55:00 | 0.5    |
+---------------------+--------+
```"#,
    argument(name = "ts", description = "A timestamp."),
    argument(
        name = "width",
        description = "Optional constant: hours either side that count as the same time of day, 0 to 11 (default 1)."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct HourRarity {
    signature: Signature,
}

impl Default for HourRarity {
    fn default() -> Self {
        Self::new()
    }
}

impl HourRarity {
    #[must_use]
    pub fn new() -> Self {
        // the Exact forms name the argument types for SHOW FUNCTIONS; coerce_types keeps a timestamp's unit
        let ts = DataType::Timestamp(TimeUnit::Microsecond, None);
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![ts.clone()]),
                    TypeSignature::Exact(vec![ts, DataType::Int64]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl WindowUDFImpl for HourRarity {
    fn name(&self) -> &'static str {
        "hour_rarity"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let ts = |t: &DataType| timestamp_type("hour_rarity", t);
        match arg_types {
            [t] => Ok(vec![ts(t)?]),
            [t, w] if w.is_integer() => Ok(vec![ts(t)?, DataType::Int64]),
            [_, w] => plan_err!("hour_rarity: width must be an integer, got {w}"),
            _ => plan_err!("hour_rarity takes 1 or 2 arguments (ts [, width]), got {}", arg_types.len()),
        }
    }

    fn partition_evaluator(&self, args: PartitionEvaluatorArgs) -> Result<Box<dyn PartitionEvaluator>> {
        let width = literal_count("hour_rarity", "width", args.input_exprs(), 1, 1, 0..=11)?;
        let zone = match args.input_fields().first().map(|f| f.data_type()) {
            Some(DataType::Timestamp(_, Some(zone))) => match zone.parse::<Tz>() {
                Ok(tz) => Some(tz),
                Err(e) => return plan_err!("hour_rarity: unknown time zone {zone}: {e}"),
            },
            _ => None,
        };
        Ok(Box::new(Running::new(Hours { width, zone, counts: [0; 24], total: 0 }, 0)))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Field::new(field_args.name(), DataType::Float64, true).into())
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// Earlier rows of the partition by hour of day.
#[derive(Debug)]
struct Hours {
    width: usize,
    zone: Option<Tz>,
    counts: [u64; 24],
    total: u64,
}

impl Hours {
    /// The wall-clock hour of `micros`.
    fn hour(&self, micros: i64) -> Result<usize> {
        let local = match &self.zone {
            None => micros,
            Some(zone) => match as_datetime_with_timezone::<TimestampMicrosecondType>(micros, *zone) {
                Some(t) => t.naive_local().and_utc().timestamp_micros(),
                None => return exec_err!("hour_rarity: timestamp {micros} µs is out of range"),
            },
        };
        // rem_euclid(24) is in 0..24
        Ok(usize::try_from(local.div_euclid(MICROS_PER_HOUR).rem_euclid(24)).unwrap_or_default())
    }
}

impl RowScorer for Hours {
    type Output = Float64Type;

    fn score(&mut self, values: &[ArrayRef], _history: Range<usize>, row: usize) -> Result<Option<f64>> {
        let Some(ts) = micros("hour_rarity", &values[0], row)? else {
            return Ok(None);
        };
        let hour = self.hour(ts)?;
        let near: u64 = (24 + hour - self.width..=24 + hour + self.width).map(|h| self.counts[h % 24]).sum();
        #[allow(clippy::cast_precision_loss)]
        let rarity = (self.total > 0).then(|| 1.0 - near as f64 / self.total as f64);
        self.counts[hour] += 1;
        self.total += 1;
        Ok(rarity)
    }
}

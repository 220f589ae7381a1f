//! The result of the recommenders (recommend_items, als_score): for each user a list of up to
//! k {item, score} structs, best first, ties by item name.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayBuilder, ArrayRef, AsArray, Float64Builder, ListArray, StringArray, StringBuilder, StructArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, Fields, Int64Type};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

use crate::common::cached_arg::Cached;
use crate::common::ListOffsets;

pub(super) fn recommendation_fields() -> Fields {
    Fields::from(vec![Field::new("item", DataType::Utf8, true), Field::new("score", DataType::Float64, true)])
}

pub(super) fn recommendations_type() -> DataType {
    DataType::new_list(DataType::Struct(recommendation_fields()), true)
}

/// Keeps the k best of `scored` (item ids into `names`, scores): by score descending, then name.
pub(super) fn top_k(scored: &mut Vec<(u32, f64)>, names: &[String], k: usize) {
    scored.sort_unstable_by(|x, y| y.1.total_cmp(&x.1).then_with(|| names[x.0 as usize].cmp(&names[y.0 as usize])));
    scored.truncate(k);
}

/// Runs a recommender over its rows: `args[model_at]` is the similarity list or model (read
/// once per distinct value), `args[items_at]` the held items (List(Utf8)), `args[k_at]` k. NULL
/// items, k or model give NULL; k < 1 is an error naming `name`. `recommend(row, held, model, k,
/// out)` pushes the row's recommendations, best first.
pub(super) fn recommend_rows<M>(
    name: &'static str,
    args: &ScalarFunctionArgs,
    (model_at, items_at, k_at): (usize, usize, usize),
    parse: impl Fn(&ArrayRef, usize) -> Result<M>,
    mut recommend: impl FnMut(usize, &StringArray, &M, usize, &mut Output) -> Result<()>,
) -> Result<ColumnarValue> {
    let rows = crate::common::evaluated_rows(&args.args, args.number_rows);
    let scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let items = args.args[items_at].to_array(rows)?;
    let items = items.as_list::<i32>();
    let ks = args.args[k_at].to_array(rows)?;
    let ks = ks.as_primitive::<Int64Type>();
    let mut models = Cached::new(&args.args[model_at], &parse)?;
    let mut out = Output::new(name, rows);
    for row in 0..rows {
        if items.is_null(row) || ks.is_null(row) {
            out.append(false)?;
            continue;
        }
        let k = ks.value(row);
        if k < 1 {
            return exec_err!("{name}: k must be at least 1, got {k}");
        }
        let Some(model) = models.get(row, &parse)? else {
            out.append(false)?;
            continue;
        };
        let held = items.value(row);
        recommend(row, held.as_string::<i32>(), model, usize::try_from(k).unwrap_or(usize::MAX), &mut out)?;
        out.append(true)?;
    }
    let result = out.finish()?;
    if scalar {
        return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
    }
    Ok(ColumnarValue::Array(result))
}

/// The result column under construction: a list of {item, score} per row.
pub(super) struct Output {
    offsets: ListOffsets,
    valid: Vec<bool>,
    items: StringBuilder,
    scores: Float64Builder,
}

impl Output {
    fn new(function: &'static str, rows: usize) -> Self {
        Self {
            offsets: ListOffsets::new(function),
            valid: Vec::with_capacity(rows),
            items: StringBuilder::new(),
            scores: Float64Builder::new(),
        }
    }

    /// Adds a recommendation to the current row.
    pub(super) fn push(&mut self, item: &str, score: f64) {
        self.items.append_value(item);
        self.scores.append_value(score);
    }

    /// Closes the row: its list (`valid`) or NULL.
    fn append(&mut self, valid: bool) -> Result<()> {
        self.valid.push(valid);
        self.offsets.push(self.scores.len())
    }

    fn finish(mut self) -> Result<ArrayRef> {
        let entries = StructArray::try_new(
            recommendation_fields(),
            vec![Arc::new(self.items.finish()), Arc::new(self.scores.finish())],
            None,
        )?;
        Ok(Arc::new(ListArray::try_new(
            Arc::new(Field::new_list_field(DataType::Struct(recommendation_fields()), true)),
            self.offsets.finish(),
            Arc::new(entries),
            Some(NullBuffer::from(self.valid)),
        )?))
    }
}

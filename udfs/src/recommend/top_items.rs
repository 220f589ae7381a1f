//! The result of the recommenders (recommend_items, als_score): for each user a list of up to
//! k {item, score} structs, best first, ties by item name.

use std::sync::Arc;

use arrow::array::{ArrayBuilder, ArrayRef, Float64Builder, ListArray, StringBuilder, StructArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::Result;

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

/// The result column under construction: a list of {item, score} per row.
pub(super) struct Output {
    offsets: ListOffsets,
    valid: Vec<bool>,
    pub(super) items: StringBuilder,
    pub(super) scores: Float64Builder,
}

impl Output {
    pub(super) fn new(function: &'static str, rows: usize) -> Self {
        Self {
            offsets: ListOffsets::new(function),
            valid: Vec::with_capacity(rows),
            items: StringBuilder::new(),
            scores: Float64Builder::new(),
        }
    }

    /// Closes the row: its list (`valid`) or NULL.
    pub(super) fn append(&mut self, valid: bool) -> Result<()> {
        self.valid.push(valid);
        self.offsets.push(self.scores.len())
    }

    pub(super) fn append_null(&mut self) -> Result<()> {
        self.append(false)
    }

    pub(super) fn finish(mut self) -> Result<ArrayRef> {
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

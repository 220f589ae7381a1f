//! What the tree models share (decision_tree_fit's tree, isolation_forest_fit's forest): reading
//! a list of node structs back from a model, and scoring feature rows with a model that is read
//! once per distinct value.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Builder, Int64Array, StructArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

use crate::common::cached_arg::Cached;
use crate::common::{feature_lists, FloatListRow, FloatLists};

/// A split as the node lists hold it: (feature from 0, threshold, left child, right child).
pub(super) type Split = (usize, f64, usize, usize);

/// The columns of one list of nodes (a tree), cast to their types.
pub(super) struct NodeColumns {
    nodes: StructArray,
    feature: Int64Array,
    threshold: arrow::array::Float64Array,
    left: Int64Array,
    right: Int64Array,
}

impl NodeColumns {
    pub(super) fn new(nodes: &ArrayRef, function: &str) -> Result<Self> {
        let Some(nodes) = nodes.as_struct_opt() else {
            return exec_err!("{function}: the model's nodes must be structs");
        };
        let column = |name: &str, t: &DataType| -> Result<ArrayRef> {
            match nodes.column_by_name(name) {
                Some(c) => Ok(arrow::compute::cast(c, t)?),
                None => exec_err!("{function}: the model's nodes have no field '{name}'"),
            }
        };
        let int = |name: &str| -> Result<Int64Array> {
            Ok(column(name, &DataType::Int64)?.as_primitive::<Int64Type>().clone())
        };
        Ok(Self {
            feature: int("feature")?,
            left: int("left")?,
            right: int("right")?,
            threshold: column("threshold", &DataType::Float64)?.as_primitive::<Float64Type>().clone(),
            nodes: nodes.clone(),
        })
    }

    pub(super) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// An Int64 field of the nodes (a count), cast.
    pub(super) fn int(&self, name: &str, function: &str) -> Result<Int64Array> {
        match self.nodes.column_by_name(name) {
            Some(c) => Ok(arrow::compute::cast(c, &DataType::Int64)?.as_primitive::<Int64Type>().clone()),
            None => exec_err!("{function}: the model's nodes have no field '{name}'"),
        }
    }

    /// Node `i`'s split, `None` for a leaf (a NULL feature); an error unless the split has a
    /// feature >= 1, a threshold and two children after `i`.
    pub(super) fn split(&self, i: usize, function: &str) -> Result<Option<Split>> {
        if self.feature.is_null(i) {
            return Ok(None);
        }
        let count = self.len();
        let child =
            |a: &Int64Array| a.is_valid(i).then(|| a.value(i)).filter(|&c| c > i as i64 && (c as usize) < count);
        let threshold = self.threshold.is_valid(i).then(|| self.threshold.value(i));
        match (self.feature.value(i), threshold, child(&self.left), child(&self.right)) {
            (f, Some(t), Some(l), Some(r)) if f >= 1 && !t.is_nan() => {
                Ok(Some((f as usize - 1, t, l as usize, r as usize)))
            }
            _ => exec_err!("{function}: node {i} of the model is not a valid split"),
        }
    }
}

/// A tree model that scores feature rows.
pub(super) trait RowScorer: Sized {
    /// Reads row `row` of a model column; `function` names errors.
    fn of(models: &ArrayRef, row: usize, function: &str) -> Result<Self>;
    /// How many features the splits use (a row needs at least that many).
    fn features_used(&self) -> usize;
    /// The score of `x`; `None` when a feature on its path is NaN.
    fn score(&self, x: &[f64]) -> Option<f64>;
}

/// Scores the rows of `(model, features)`: a NULL model, feature list or feature gives NULL, a
/// row shorter than the model needs is an error.
pub(super) fn score_rows<M: RowScorer>(name: &'static str, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = crate::common::evaluated_rows(&args.args, args.number_rows);
    let scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let features = feature_lists(name, &args.args[1].to_array(rows)?)?;
    let lists = FloatLists::new(features.as_list::<i32>());
    let parse = |models: &ArrayRef, row: usize| M::of(models, row, name);
    let mut models = Cached::new(&args.args[0], parse)?;
    let mut out = Float64Builder::with_capacity(rows);
    for row in 0..rows {
        let FloatListRow::Values(x) = lists.row(row) else {
            out.append_null();
            continue;
        };
        let Some(model) = models.get(row, parse)? else {
            out.append_null();
            continue;
        };
        if x.len() < model.features_used() {
            return exec_err!("{name}: the model uses {} features, the row has {}", model.features_used(), x.len());
        }
        out.append_option(model.score(x));
    }
    let result: ArrayRef = Arc::new(out.finish());
    if scalar {
        return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
    }
    Ok(ColumnarValue::Array(result))
}

//! What the ranking metrics share: the `(recommended, relevant, k)` arguments and the hits of
//! the top k row by row; each metric is its formula over [`TopK`].

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Builder, GenericListArray};
use arrow::datatypes::{DataType, Field, Int64Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, Signature, TypeSignature, Volatility};

/// `UserDefined` coerces; the `Exact` variants document the argument types for `SHOW FUNCTIONS`.
pub(super) fn signature() -> Signature {
    let exact = |t: DataType| {
        let list = DataType::new_list(t, true);
        TypeSignature::Exact(vec![list.clone(), list, DataType::Int64])
    };
    Signature::one_of(
        vec![TypeSignature::UserDefined, exact(DataType::Utf8), exact(DataType::Int64)],
        Volatility::Immutable,
    )
}

fn element_type(name: &str, argument: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::Null => Ok(DataType::Null),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => match f.data_type() {
            // a recommend_items result: its items
            DataType::Struct(fields) if argument == "recommended" => match fields.iter().find(|f| f.name() == "item") {
                Some(item) => Ok(item.data_type().clone()),
                None => {
                    plan_err!("{name}: recommended must be a list of items or of structs with an 'item' field, got {t}")
                }
            },
            other => Ok(other.clone()),
        },
        other => plan_err!("{name}: {argument} must be a list of items, got {other}"),
    }
}

/// A list of {item, …} structs (a recommend_items result) as the list of its items.
fn items_of(lists: ArrayRef, element: &DataType) -> Result<ArrayRef> {
    let DataType::List(f) = lists.data_type() else { return Ok(lists) };
    if !matches!(f.data_type(), DataType::Struct(_)) {
        return Ok(lists);
    }
    let list = lists.as_list::<i32>();
    let Some(items) = list.values().as_struct().column_by_name("item") else {
        return exec_err!("the recommended structs have no field 'item'");
    };
    let items = arrow::compute::cast(items, element)?;
    Ok(Arc::new(GenericListArray::<i32>::try_new(
        Arc::new(Field::new_list_field(element.clone(), true)),
        list.offsets().clone(),
        items,
        list.nulls().cloned(),
    )?))
}

/// Both lists become lists of one element type: Int64 when both hold integers, else Utf8
/// (integers are compared as their decimal text then).
pub(super) fn coerce(name: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
    let [recommended, relevant, k] = arg_types else {
        return plan_err!("{name} takes 3 arguments (recommended, relevant, k), got {}", arg_types.len());
    };
    let a = element_type(name, "recommended", recommended)?;
    let b = element_type(name, "relevant", relevant)?;
    for t in [&a, &b] {
        if !(t.is_integer() || t.is_null() || matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)) {
            return plan_err!("{name}: list items must be strings or integers, got {t}");
        }
    }
    let element = if (a.is_integer() || a.is_null()) && (b.is_integer() || b.is_null()) {
        DataType::Int64
    } else {
        DataType::Utf8
    };
    if !(k.is_integer() || k.is_null()) {
        return plan_err!("{name}: k must be an integer, got {k}");
    }
    let list = DataType::new_list(element, true);
    // a list of structs is kept as it is and read through its 'item' field
    let recommended = match recommended {
        DataType::List(f) if matches!(f.data_type(), DataType::Struct(_)) => recommended.clone(),
        _ => list.clone(),
    };
    Ok(vec![recommended, list, DataType::Int64])
}

/// One user's top k: whether each of the first min(k, len) recommended entries is a hit, and
/// the number of distinct relevant items.
pub(super) struct TopK<'a> {
    pub(super) hits: &'a [bool],
    pub(super) k: usize,
    pub(super) relevant: usize,
}

impl TopK<'_> {
    /// Σ_{i ≤ k} rel_i / log2(i + 1): the discounted gain of the hits.
    pub(super) fn dcg(&self) -> f64 {
        self.hits.iter().enumerate().filter(|(_, &hit)| hit).map(|(i, _)| 1.0 / ((i + 2) as f64).log2()).sum()
    }

    pub(super) fn hit_count(&self) -> usize {
        self.hits.iter().filter(|&&hit| hit).count()
    }
}

/// Finds the hits of one row: an entry is a hit when it is a relevant item not already hit
/// higher up (a repeated item counts once). NULL entries are never hits.
fn mark_hits<K: Ord + Copy>(
    recommended: impl Iterator<Item = Option<K>>,
    relevant: &mut Vec<K>,
    used: &mut Vec<bool>,
    hits: &mut Vec<bool>,
) {
    relevant.sort_unstable();
    relevant.dedup();
    used.clear();
    used.resize(relevant.len(), false);
    hits.clear();
    for item in recommended {
        let hit = item
            .and_then(|item| relevant.binary_search(&item).ok())
            .is_some_and(|at| !std::mem::replace(&mut used[at], true));
        hits.push(hit);
    }
}

/// Applies `metric` row by row; NULL lists or k give NULL, and so does a user without relevant
/// items (the metric is undefined for them, and `avg()` skips them).
pub(super) fn evaluate(
    name: &str,
    args: ScalarFunctionArgs,
    metric: impl Fn(&TopK<'_>) -> f64,
) -> Result<ColumnarValue> {
    let rows = crate::common::evaluated_rows(&args.args, args.number_rows);
    let scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let mut arrays = args.args.iter().map(|a| a.to_array(rows)).collect::<Result<Vec<ArrayRef>>>()?;
    let DataType::List(element) = arrays[1].data_type() else {
        return exec_err!("{name}: relevant must be a list");
    };
    arrays[0] = items_of(Arc::clone(&arrays[0]), &element.data_type().clone())?;
    let (recommended, relevant) = (arrays[0].as_list::<i32>(), arrays[1].as_list::<i32>());
    let ks = arrays[2].as_primitive::<Int64Type>();
    let mut out = Float64Builder::with_capacity(rows);
    let (mut hits, mut used) = (Vec::new(), Vec::new());
    let (mut ints, mut texts): (Vec<i64>, Vec<&str>) = (Vec::new(), Vec::new());
    for row in 0..rows {
        if recommended.is_null(row) || relevant.is_null(row) || ks.is_null(row) {
            out.append_null();
            continue;
        }
        let k = ks.value(row);
        if k < 1 {
            return exec_err!("{name}: k must be at least 1, got {k}");
        }
        let k = usize::try_from(k).unwrap_or(usize::MAX);
        let (from, to) = window(recommended, row, k);
        let (rel_from, rel_to) = window(relevant, row, usize::MAX);
        let count = match recommended.values().data_type() {
            DataType::Int64 => {
                let (rec, rel) =
                    (recommended.values().as_primitive::<Int64Type>(), relevant.values().as_primitive::<Int64Type>());
                ints.clear();
                ints.extend((rel_from..rel_to).filter(|&i| rel.is_valid(i)).map(|i| rel.value(i)));
                mark_hits((from..to).map(|i| rec.is_valid(i).then(|| rec.value(i))), &mut ints, &mut used, &mut hits);
                ints.len()
            }
            _ => {
                let (rec, rel) = (recommended.values().as_string::<i32>(), relevant.values().as_string::<i32>());
                texts.clear();
                texts.extend((rel_from..rel_to).filter(|&i| rel.is_valid(i)).map(|i| rel.value(i)));
                mark_hits((from..to).map(|i| rec.is_valid(i).then(|| rec.value(i))), &mut texts, &mut used, &mut hits);
                texts.len()
            }
        };
        if count == 0 {
            out.append_null();
        } else {
            out.append_value(metric(&TopK { hits: &hits, k, relevant: count }));
        }
    }
    let result: ArrayRef = Arc::new(out.finish());
    if scalar {
        return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
    }
    Ok(ColumnarValue::Array(result))
}

/// The value positions of the first `k` entries of list `row`.
fn window(lists: &GenericListArray<i32>, row: usize, k: usize) -> (usize, usize) {
    let offsets = lists.value_offsets();
    let (from, to) = (offsets[row] as usize, offsets[row + 1] as usize);
    (from, to.min(from.saturating_add(k)))
}

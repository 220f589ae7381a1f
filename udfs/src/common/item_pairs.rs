//! The (key, item) rows of one group, the state that basket mining and item similarity share:
//! a key is the 64-bit hash of a basket or user id, an item is interned per group (its name is
//! kept once), and an optional weight rides along. The state arrays are lists of keys, item names
//! and (when weighted) weights, one row per group.

use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, ListArray, StringArray, StringArrayType, UInt64Array};
use arrow::datatypes::{DataType, Field, Float64Type, UInt64Type};
use datafusion::common::hash_utils::{create_hashes, QualityRandomState};
use datafusion::common::{plan_err, HashMap, Result};

use super::ListOffsets;

/// One group's rows.
#[derive(Debug, Default)]
pub(crate) struct ItemPairs {
    pub(crate) keys: Vec<u64>,
    pub(crate) items: Vec<u32>,
    /// Empty unless the aggregate is weighted; then one weight per row.
    pub(crate) weights: Vec<f64>,
    index: HashMap<String, u32>,
    pub(crate) names: Vec<String>,
}

impl ItemPairs {
    pub(crate) fn push(&mut self, key: u64, item: &str) {
        let id = match self.index.get(item) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as u32;
                self.index.insert(item.to_string(), id);
                self.names.push(item.to_string());
                id
            }
        };
        self.keys.push(key);
        self.items.push(id);
    }

    pub(crate) fn name(&self, item: u32) -> &str {
        &self.names[item as usize]
    }

    /// Heap bytes: the rows, and each name twice (the list and the index key).
    pub(crate) fn size(&self) -> usize {
        self.keys.capacity() * size_of::<u64>()
            + self.items.capacity() * size_of::<u32>()
            + self.weights.capacity() * size_of::<f64>()
            + self.names.iter().map(|n| 2 * n.capacity() + 2 * size_of::<String>() + 8).sum::<usize>()
    }
}

/// A group state built on [`ItemPairs`].
pub(crate) trait HasItemPairs {
    fn pairs(&self) -> &ItemPairs;
    fn pairs_mut(&mut self) -> &mut ItemPairs;
}

/// The item type a (key, item) aggregate coerces its item argument to: string views stay views
/// (read in place), other strings and integers become Utf8.
pub(crate) fn coerce_item(function: &str, item: &DataType) -> Result<DataType> {
    if !(item.is_integer()
        || matches!(item, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null))
    {
        return plan_err!("{function}: items must be strings or integers, got {item}");
    }
    Ok(if *item == DataType::Utf8View { DataType::Utf8View } else { DataType::Utf8 })
}

/// The state fields: keys, items and, when `weighted`, weights — each a list per group.
pub(crate) fn state_fields(name: &str, weighted: bool) -> Vec<Arc<Field>> {
    use datafusion::logical_expr::utils::format_state_name;
    let mut fields = vec![
        Arc::new(Field::new(format_state_name(name, "keys"), DataType::new_list(DataType::UInt64, true), true)),
        Arc::new(Field::new(format_state_name(name, "items"), DataType::new_list(DataType::Utf8, true), true)),
    ];
    if weighted {
        fields.push(Arc::new(Field::new(
            format_state_name(name, "weights"),
            DataType::new_list(DataType::Float64, true),
            true,
        )));
    }
    fields
}

/// Adds the rows of a batch: `values[0]` the keys (any type, hashed with `seed`), `values[1]` the
/// items, and `weights` when weighted. Rows with a NULL key, item or weight are skipped, and so
/// are rows whose weight `keep_weight` refuses (it may also fail, naming the function).
pub(crate) fn update<G: HasItemPairs>(
    values: &[ArrayRef],
    weights: Option<&Float64Array>,
    seed: u64,
    groups: &mut [G],
    group_of: impl Fn(usize) -> Option<usize>,
    keep_weight: impl Fn(f64) -> Result<bool>,
) -> Result<()> {
    let keys = &values[0];
    let mut hashes = vec![0u64; keys.len()];
    create_hashes([keys], &QualityRandomState::with_seed(seed), &mut hashes)?;
    let items = values[1].as_ref();
    let rows = Rows { keys, hashes: &hashes, weights, group_of, keep_weight };
    match items.data_type() {
        DataType::Utf8View => rows.push(items.as_string_view(), groups),
        DataType::LargeUtf8 => rows.push(items.as_string::<i64>(), groups),
        _ => rows.push(items.as_string::<i32>(), groups),
    }
}

struct Rows<'a, F, W> {
    keys: &'a ArrayRef,
    hashes: &'a [u64],
    weights: Option<&'a Float64Array>,
    group_of: F,
    keep_weight: W,
}

impl<F: Fn(usize) -> Option<usize>, W: Fn(f64) -> Result<bool>> Rows<'_, F, W> {
    fn push<'s, G: HasItemPairs>(&self, items: impl StringArrayType<'s>, groups: &mut [G]) -> Result<()> {
        for (row, &hash) in self.hashes.iter().enumerate() {
            let Some(g) = (self.group_of)(row) else { continue };
            if self.keys.is_null(row) || items.is_null(row) {
                continue;
            }
            let group = groups[g].pairs_mut();
            match self.weights {
                None => group.push(hash, items.value(row)),
                Some(weights) => {
                    if weights.is_null(row) || !(self.keep_weight)(weights.value(row))? {
                        continue;
                    }
                    group.push(hash, items.value(row));
                    group.weights.push(weights.value(row));
                }
            }
        }
        Ok(())
    }
}

/// The groups' states as list arrays (see [`state_fields`]); `function` names list overflows.
pub(crate) fn state<G: HasItemPairs>(function: &'static str, groups: &[G], weighted: bool) -> Result<Vec<ArrayRef>> {
    let mut offsets = ListOffsets::new(function);
    let mut keys = Vec::new();
    let mut items: Vec<&str> = Vec::new();
    let mut weights = Vec::new();
    for g in groups {
        let g = g.pairs();
        keys.extend_from_slice(&g.keys);
        items.extend(g.items.iter().map(|&i| g.name(i)));
        weights.extend_from_slice(&g.weights);
        offsets.push(keys.len())?;
    }
    let offsets = offsets.finish();
    let list = |t: DataType, values: ArrayRef| -> ArrayRef {
        Arc::new(ListArray::new(Arc::new(Field::new_list_field(t, true)), offsets.clone(), values, None))
    };
    let mut arrays = vec![
        list(DataType::UInt64, Arc::new(UInt64Array::from(keys))),
        list(DataType::Utf8, Arc::new(StringArray::from(items))),
    ];
    if weighted {
        arrays.push(list(DataType::Float64, Arc::new(Float64Array::from(weights))));
    }
    Ok(arrays)
}

/// Merges state row `i` into `groups[group_of(i)]`.
pub(crate) fn merge<G: HasItemPairs>(states: &[ArrayRef], groups: &mut [G], group_of: impl Fn(usize) -> usize) {
    let keys = states[0].as_list::<i32>();
    let items = states[1].as_list::<i32>();
    let weights = states.get(2).map(|w| w.as_list::<i32>());
    for row in 0..keys.len() {
        if keys.is_null(row) {
            continue;
        }
        let row_keys = keys.value(row);
        let row_keys = row_keys.as_primitive::<UInt64Type>();
        let row_items = items.value(row);
        let row_items = row_items.as_string::<i32>();
        let group = groups[group_of(row)].pairs_mut();
        for i in 0..row_keys.len() {
            group.push(row_keys.value(i), row_items.value(i));
        }
        if let Some(weights) = weights {
            let row_weights = weights.value(row);
            group.weights.extend_from_slice(row_weights.as_primitive::<Float64Type>().values());
        }
    }
}

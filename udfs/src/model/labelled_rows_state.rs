//! The rows of a group for the models that need every row (a logistic regression's Newton
//! passes, a decision tree's splits): the feature list and a 0/1 label per row, row-major, in one
//! `Vec<f64>` (8 bytes per feature and label, counted in the memory pool). A model implements
//! [`RowsModel`] with its own evaluation.

use std::fmt::Debug;
use std::marker::PhantomData;
use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::utils::format_state_name;

use super::regression_args::{binary_label, check_dim};
use crate::common::{float_list_array, for_each_float_list, FloatListRow, FloatLists};
use crate::group_state::GroupState;

/// A model fitted on [`LabelledRows`].
pub(super) trait RowsModel: Debug + Send + Sync + Sized + 'static {
    /// The SQL function, for errors.
    const NAME: &'static str;
    type Params: Debug + Send + Sync + 'static;

    /// The fits of `groups`, one row per group.
    fn evaluate(params: &Self::Params, groups: &mut [LabelledRows<Self>]) -> Result<ArrayRef>;
}

/// The rows of one group, row-major: the features, then the label (0 or 1). Rows with a NULL or
/// NaN label or feature are left out; another label is an error.
#[derive(Debug)]
pub(super) struct LabelledRows<M> {
    pub(super) dim: Option<usize>,
    pub(super) values: Vec<f64>,
    model: PhantomData<M>,
}

impl<M> Default for LabelledRows<M> {
    fn default() -> Self {
        Self { dim: None, values: Vec::new(), model: PhantomData }
    }
}

impl<M> LabelledRows<M> {
    /// The number of rows.
    pub(super) fn len(&self) -> usize {
        self.dim.map_or(0, |d| self.values.len() / (d + 1))
    }

    /// The rows' indices in one canonical order, so a fit's sums, and therefore its bits, do not
    /// depend on how the rows were split into partitions and in which order their states were
    /// merged (on a cluster, tasks finish in any order): by a 64-bit hash of the row's bits, equal
    /// hashes by the values (no row holds a NaN). The order is pseudo-random, so any run of it is
    /// a random sample of the rows. The extra memory is a key and an index per row.
    pub(super) fn canonical_order(&self) -> Vec<usize> {
        let Some(dim) = self.dim else { return Vec::new() };
        let q = dim + 1;
        let values = &self.values;
        let mut keys: Vec<(u64, usize)> = values.chunks_exact(q).map(row_hash).zip(0..).collect();
        keys.sort_unstable_by(|(h, a), (k, b)| {
            h.cmp(k).then_with(|| {
                let (x, y) = (&values[a * q..(a + 1) * q], &values[b * q..(b + 1) * q]);
                x.iter().zip(y).map(|(u, v)| u.total_cmp(v)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
            })
        });
        keys.into_iter().map(|(_, i)| i).collect()
    }
}

/// A 64-bit hash of a row's bits (a multiply-xorshift mix per value, SplitMix64's finaliser).
fn row_hash(row: &[f64]) -> u64 {
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
    for v in row {
        h = (h ^ v.to_bits()).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 31;
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

/// The state fields: the feature count and the rows.
pub(super) fn state_fields(name: &str) -> Vec<FieldRef> {
    vec![
        Arc::new(Field::new(format_state_name(name, "dim"), DataType::Int64, true)),
        Arc::new(Field::new(format_state_name(name, "rows"), DataType::new_list(DataType::Float64, true), true)),
    ]
}

impl<M: RowsModel> GroupState for LabelledRows<M> {
    type Params = M::Params;

    fn update(
        _: &M::Params,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let lists = FloatLists::new(values[1].as_list::<i32>());
        for row in 0..values[0].len() {
            let Some(g) = group_of(row) else { continue };
            let Some(label) = binary_label(M::NAME, &values[0], row)? else { continue };
            let FloatListRow::Values(features) = lists.row(row) else { continue };
            if features.iter().any(|x| x.is_nan()) {
                continue;
            }
            let group = &mut groups[g];
            check_dim(M::NAME, &mut group.dim, features)?;
            group.values.extend_from_slice(features);
            group.values.push(label);
        }
        Ok(())
    }

    fn state(_: &M::Params, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        let dims: Int64Array = groups.iter().map(|g| g.dim.map(|d| d as i64)).collect();
        let rows = float_list_array(M::NAME, groups.iter().map(|g| g.dim.map(|_| g.values.as_slice())))?;
        Ok(vec![Arc::new(dims), rows])
    }

    fn merge(_: &M::Params, groups: &mut [Self], states: &[ArrayRef], group_of: impl Fn(usize) -> usize) -> Result<()> {
        let dims = states[0].as_primitive::<Int64Type>();
        let mut failure = None;
        for_each_float_list(&states[1..], |row, _, values| {
            if failure.is_some() || dims.is_null(row) {
                return;
            }
            let group = &mut groups[group_of(row)];
            let dim = dims.value(row) as usize;
            match group.dim {
                Some(d) if d != dim => failure = Some((d, dim)),
                _ => {
                    group.dim = Some(dim);
                    group.values.extend_from_slice(values);
                }
            }
        });
        match failure {
            Some((a, b)) => exec_err!("{}: feature vectors must all have the same length, got {a} and {b}", M::NAME),
            None => Ok(()),
        }
    }

    fn evaluate(params: &M::Params, groups: &mut [Self]) -> Result<ArrayRef> {
        M::evaluate(params, groups)
    }

    fn size(&self) -> usize {
        self.values.capacity() * size_of::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Rows;

    impl RowsModel for Rows {
        const NAME: &'static str = "rows";
        type Params = ();

        fn evaluate((): &(), _: &mut [LabelledRows<Self>]) -> Result<ArrayRef> {
            unreachable!("not evaluated in these tests")
        }
    }

    #[test]
    fn rows_come_in_one_order_whatever_order_they_came_in() {
        let rows =
            [[3.0, 1.0, 0.0], [1.0, 2.0, 1.0], [1.0, -0.0, 0.0], [3.0, 1.0, 1.0], [1.0, 2.0, 1.0], [-5.0, 9.0, 0.0]];
        let ordered = |rows: &[[f64; 3]]| -> Vec<[f64; 3]> {
            let group = LabelledRows::<Rows> { dim: Some(2), values: rows.concat(), model: PhantomData };
            group.canonical_order().into_iter().map(|i| rows[i]).collect()
        };
        let expected = ordered(&rows);
        for rotation in 0..rows.len() {
            let mut shuffled = rows.to_vec();
            shuffled.rotate_left(rotation);
            shuffled.swap(0, rotation);
            assert_eq!(ordered(&shuffled), expected, "rotation {rotation}");
        }
        assert!(LabelledRows::<Rows>::default().canonical_order().is_empty());
    }
}

//! `isolation_forest_fit(features, n_trees, sample_size [, seed])`: an isolation forest per group.

use std::collections::BinaryHeap;
use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, ListArray, StructArray, UInt64Array};
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Int64Type, UInt64Type};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::isolation_forest::{grow, offer, row_hash, tree_key, INode, Sampled};
use super::regression_args::literal_f64;
use crate::common::{aggregate_reading_columns, coerce_features, feature_lists, FloatListRow, FloatLists, ListOffsets};
use crate::group_state::{GroupState, GroupsOf};

const NAME: &str = "isolation_forest_fit";

#[user_doc(
    doc_section(label = "Model Functions"),
    description = "Fits an isolation forest (Liu, Ting & Zhou 2008) to the feature vectors of a group, for anomaly scores with isolation_forest_score. \
Tree t is grown on a uniform sample without replacement of sample_size rows: the rows with the smallest keys SplitMix64(h(row) + (t + 1)·γ), h a hash of the row's values and the seed, \
so the same rows are drawn whatever the order or partitioning of the input and the forest is the same for the same rows and seed. \
A node splits on a feature drawn uniformly among those not constant in it, at min + u·(max − min), u uniform in [0, 1), rows with x <= threshold going left, \
until it holds one row, its rows are equal, or it reaches the height limit ceil(log2 ψ), ψ = min(sample_size, rows). \
Returns {trees (each a list of nodes {feature (1-based), threshold, left, right, size}, size = the rows of a leaf), n_trees, sample_size (ψ), features, seed}: a plain struct, so a model can be stored in Parquet and scored later. \
Rows with a NULL feature list, a NULL or NaN feature are left out; a group without rows gives NULL. \
Memory: per group, n_trees samples of up to sample_size rows (8 bytes per feature plus about 40 per sampled row), counted in the pool, whatever the number of rows.",
    syntax_example = "isolation_forest_fit(features, n_trees, sample_size [, seed])",
    sql_example = r#"```sql
> SELECT f['n_trees'] AS n_trees, f['sample_size'] AS sample_size, f['features'] AS features
  FROM (SELECT isolation_forest_fit([x, y], 50, 256, 7) AS f
        FROM (SELECT v % 10 AS x, v / 10 AS y FROM generate_series(0, 99) t(v)));
+---------+-------------+----------+
| n_trees | sample_size | features |
+---------+-------------+----------+
| 50      | 100         | 2        |
+---------+-------------+----------+
```"#,
    argument(
        name = "features",
        description = "Array of numbers, the same length on every row. A struct of numbers (struct(x1, x2), a struct column) is read the same way, field by field; an array literal [x1, x2] is read column by column, without building the arrays."
    ),
    argument(
        name = "n_trees",
        description = "Number of trees, a literal from 1 to 1000 (scikit-learn's default is 100)."
    ),
    argument(
        name = "sample_size",
        description = "Rows per tree, a literal from 2 to 1,000,000 (scikit-learn's default is 256)."
    ),
    argument(name = "seed", description = "Optional literal integer (default 0).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IsolationForestFit {
    signature: Signature,
}

impl Default for IsolationForestFit {
    fn default() -> Self {
        Self::new()
    }
}

impl IsolationForestFit {
    #[must_use]
    pub fn new() -> Self {
        let features = DataType::new_list(DataType::Float64, true);
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![features.clone(), DataType::Int64, DataType::Int64]),
                    TypeSignature::Exact(vec![features, DataType::Int64, DataType::Int64, DataType::Int64]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

/// The fields of a forest node.
pub(super) fn node_fields() -> Fields {
    Fields::from(vec![
        Field::new("feature", DataType::Int64, true),
        Field::new("threshold", DataType::Float64, true),
        Field::new("left", DataType::Int64, true),
        Field::new("right", DataType::Int64, true),
        Field::new("size", DataType::Int64, true),
    ])
}

fn tree_type() -> DataType {
    DataType::new_list(DataType::Struct(node_fields()), true)
}

/// The fields of the model struct.
pub(super) fn forest_fields() -> Fields {
    Fields::from(vec![
        Field::new("trees", DataType::new_list(tree_type(), true), true),
        Field::new("n_trees", DataType::Int64, true),
        Field::new("sample_size", DataType::Int64, true),
        Field::new("features", DataType::Int64, true),
        Field::new("seed", DataType::Int64, true),
    ])
}

impl AggregateUDFImpl for IsolationForestFit {
    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(3..=4).contains(&arg_types.len()) {
            return plan_err!(
                "{NAME} takes 3 or 4 arguments (features, n_trees, sample_size [, seed]), got {}",
                arg_types.len()
            );
        }
        let mut coerced = vec![coerce_features(NAME, &arg_types[0])?];
        for t in &arg_types[1..] {
            if !(t.is_integer() || t.is_null()) {
                return plan_err!("{NAME}: n_trees, sample_size and seed must be integers, got {t}");
            }
            coerced.push(DataType::Int64);
        }
        Ok(coerced)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(forest_fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = |name: &str, t: DataType| -> FieldRef {
            Arc::new(Field::new(format_state_name(args.name, name), DataType::new_list(t, true), true))
        };
        Ok(vec![
            Arc::new(Field::new(format_state_name(args.name, "dim"), DataType::Int64, true)),
            list("trees", DataType::Int64),
            list("keys", DataType::UInt64),
            list("values", DataType::Float64),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(GroupsOf::<Samples>::new(Params::from_args(&args)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<Samples>::new(Params::from_args(&args)?)))
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        Some(aggregate_reading_columns(0))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[derive(Debug, Clone, Copy)]
struct Params {
    n_trees: usize,
    sample_size: usize,
    seed: i64,
}

impl Params {
    fn from_args(args: &AccumulatorArgs) -> Result<Self> {
        let n_trees = literal_f64(NAME, args, 1, "n_trees", f64::NAN)?;
        if !(1.0..=1000.0).contains(&n_trees) || n_trees.fract() != 0.0 {
            return plan_err!("{NAME}: n_trees must be a whole number from 1 to 1000, got {n_trees}");
        }
        let sample_size = literal_f64(NAME, args, 2, "sample_size", f64::NAN)?;
        if !(2.0..=1e6).contains(&sample_size) || sample_size.fract() != 0.0 {
            return plan_err!("{NAME}: sample_size must be a whole number from 2 to 1000000, got {sample_size}");
        }
        let seed = literal_f64(NAME, args, 3, "seed", 0.0)?;
        Ok(Self { n_trees: n_trees as usize, sample_size: sample_size as usize, seed: seed as i64 })
    }
}

/// One group: the feature count and one bottom-k sample per tree.
#[derive(Debug, Default)]
struct Samples {
    dim: Option<usize>,
    trees: Vec<BinaryHeap<Sampled>>,
}

impl Samples {
    fn offer_row(
        &mut self,
        params: &Params,
        values: &[f64],
        keys: impl Fn(usize) -> u64,
        only: Option<usize>,
    ) -> Result<()> {
        match self.dim {
            Some(d) if d != values.len() => {
                return exec_err!("{NAME}: feature vectors must all have the same length, got {d} and {}", values.len())
            }
            _ => self.dim = Some(values.len()),
        }
        if self.trees.is_empty() {
            self.trees = (0..params.n_trees).map(|_| BinaryHeap::new()).collect();
        }
        match only {
            Some(t) => offer(&mut self.trees[t], params.sample_size, keys(t), values),
            None => {
                for (t, sample) in self.trees.iter_mut().enumerate() {
                    offer(sample, params.sample_size, keys(t), values);
                }
            }
        }
        Ok(())
    }
}

impl GroupState for Samples {
    type Params = Params;

    fn update(
        params: &Params,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let features = feature_lists(NAME, &values[0])?;
        let lists = FloatLists::new(features.as_list::<i32>());
        for row in 0..values[0].len() {
            let Some(g) = group_of(row) else { continue };
            let FloatListRow::Values(x) = lists.row(row) else { continue };
            if x.iter().any(|v| v.is_nan()) {
                continue;
            }
            let hash = row_hash(params.seed as u64, x);
            groups[g].offer_row(params, x, |t| tree_key(hash, t), None)?;
        }
        Ok(())
    }

    fn state(_: &Params, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        let mut offsets = ListOffsets::new(NAME);
        let mut value_offsets = ListOffsets::new(NAME);
        let (mut dims, mut trees, mut keys, mut values) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for g in groups.iter() {
            dims.push(g.dim.map(|d| d as i64));
            for (t, sample) in g.trees.iter().enumerate() {
                for row in sample.iter() {
                    trees.push(t as i64);
                    keys.push(row.key);
                    values.extend_from_slice(&row.values);
                }
            }
            offsets.push(keys.len())?;
            value_offsets.push(values.len())?;
        }
        let offsets = offsets.finish();
        let list = |t: DataType, offsets: arrow::buffer::OffsetBuffer<i32>, array: ArrayRef| -> ArrayRef {
            Arc::new(ListArray::new(Arc::new(Field::new_list_field(t, true)), offsets, array, None))
        };
        Ok(vec![
            Arc::new(Int64Array::from(dims)),
            list(DataType::Int64, offsets.clone(), Arc::new(Int64Array::from(trees))),
            list(DataType::UInt64, offsets, Arc::new(UInt64Array::from(keys))),
            list(DataType::Float64, value_offsets.finish(), Arc::new(Float64Array::from(values))),
        ])
    }

    fn merge(
        params: &Params,
        groups: &mut [Self],
        states: &[ArrayRef],
        group_of: impl Fn(usize) -> usize,
    ) -> Result<()> {
        let dims = states[0].as_primitive::<Int64Type>();
        let (trees, keys, values) =
            (states[1].as_list::<i32>(), states[2].as_list::<i32>(), states[3].as_list::<i32>());
        for row in 0..dims.len() {
            if dims.is_null(row) {
                continue;
            }
            let dim = dims.value(row) as usize;
            let (row_trees, row_keys, row_values) = (trees.value(row), keys.value(row), values.value(row));
            let (row_trees, row_keys) = (row_trees.as_primitive::<Int64Type>(), row_keys.as_primitive::<UInt64Type>());
            let row_values = row_values.as_primitive::<arrow::datatypes::Float64Type>();
            let group = &mut groups[group_of(row)];
            for i in 0..row_keys.len() {
                let x = &row_values.values()[i * dim..(i + 1) * dim];
                let t = row_trees.value(i) as usize;
                if t >= params.n_trees {
                    return exec_err!("{NAME}: a partial state names tree {t} of {}", params.n_trees);
                }
                group.offer_row(params, x, |_| row_keys.value(i), Some(t))?;
            }
        }
        Ok(())
    }

    fn evaluate(params: &Params, groups: &mut [Self]) -> Result<ArrayRef> {
        let forests: Vec<Option<Grown>> = groups
            .iter_mut()
            .map(|g| {
                let dim = g.dim?;
                let psi = g.trees.first().map_or(0, BinaryHeap::len);
                let trees = std::mem::take(&mut g.trees);
                let grown = trees
                    .into_iter()
                    .enumerate()
                    .map(|(t, sample)| grow(sample.into_vec(), dim, params.seed as u64, t))
                    .collect();
                Some((grown, psi, dim))
            })
            .collect();
        forest_array(params, &forests)
    }

    fn size(&self) -> usize {
        self.trees
            .iter()
            .map(|s| s.capacity() * size_of::<Sampled>() + s.iter().map(|r| r.values.capacity() * 8).sum::<usize>())
            .sum()
    }
}

/// A grown forest: its trees, the sample size ψ and the number of features.
type Grown = (Vec<Vec<INode>>, usize, usize);

fn forest_array(params: &Params, forests: &[Option<Grown>]) -> Result<ArrayRef> {
    let (mut outer, mut inner) = (ListOffsets::new(NAME), ListOffsets::new(NAME));
    let (mut feature, mut threshold, mut left, mut right, mut size) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut n_trees, mut sample_size, mut features, mut seed, mut valid) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut tree_count = 0;
    for forest in forests {
        valid.push(forest.is_some());
        if let Some((trees, psi, dim)) = forest {
            for nodes in trees {
                for node in nodes {
                    match node {
                        INode::Split { feature: f, threshold: t, left: l, right: r } => {
                            feature.push(Some(*f as i64 + 1));
                            threshold.push(Some(*t));
                            left.push(Some(*l as i64));
                            right.push(Some(*r as i64));
                            size.push(None);
                        }
                        INode::Leaf { size: s } => {
                            feature.push(None);
                            threshold.push(None);
                            left.push(None);
                            right.push(None);
                            size.push(Some(*s as i64));
                        }
                    }
                }
                inner.push(feature.len())?;
                tree_count += 1;
            }
            n_trees.push(Some(params.n_trees as i64));
            sample_size.push(Some(*psi as i64));
            features.push(Some(*dim as i64));
            seed.push(Some(params.seed));
        } else {
            n_trees.push(None);
            sample_size.push(None);
            features.push(None);
            seed.push(None);
        }
        outer.push(tree_count)?;
    }
    let nodes = StructArray::try_new(
        node_fields(),
        vec![
            Arc::new(Int64Array::from(feature)),
            Arc::new(Float64Array::from(threshold)),
            Arc::new(Int64Array::from(left)),
            Arc::new(Int64Array::from(right)),
            Arc::new(Int64Array::from(size)),
        ],
        None,
    )?;
    let trees = ListArray::try_new(
        Arc::new(Field::new_list_field(DataType::Struct(node_fields()), true)),
        inner.finish(),
        Arc::new(nodes),
        None,
    )?;
    let forests_list =
        ListArray::try_new(Arc::new(Field::new_list_field(tree_type(), true)), outer.finish(), Arc::new(trees), None)?;
    let nulls = arrow::buffer::NullBuffer::from(valid);
    Ok(Arc::new(StructArray::try_new(
        forest_fields(),
        vec![
            Arc::new(forests_list),
            Arc::new(Int64Array::from(n_trees)),
            Arc::new(Int64Array::from(sample_size)),
            Arc::new(Int64Array::from(features)),
            Arc::new(Int64Array::from(seed)),
        ],
        (nulls.null_count() > 0).then_some(nulls),
    )?))
}

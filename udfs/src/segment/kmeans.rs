//! `kmeans(features, k [, seed [, n_init]])`: fit k-means per group.

use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, ListArray, StructArray};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type, Int64Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion::physical_expr::expressions::Literal;
use datafusion_macros::user_doc;

use super::kmeans_lloyd::{fit, Fit};
use crate::group_state::GroupHeap;

#[user_doc(
    doc_section(label = "Segmentation Functions"),
    description = "Fits k-means to the feature vectors of a group and returns the model as a struct: \
`centroids` (k lists of coordinates, sorted lexicographically, so cluster i is the i-th of them), `inertia` (sum of squared distances of the points to their nearest centroid), \
`iterations` (Lloyd iterations of the best run) and `points` (rows used). \
The fit follows scikit-learn's KMeans(algorithm='lloyd'): greedy k-means++ seeding (2 + ln k local trials), Lloyd iterations until the total squared centroid shift \
is at most 1e-4 times the mean feature variance, labels stop changing, or 300 iterations; an empty cluster moves to the point farthest from its centroid; \
the best of n_init runs (default 10) by inertia is kept. Deterministic for a seed (default 0): the points are sorted before fitting, so the result does not depend on row order or partitioning. \
Rows whose features are NULL or hold a NULL are ignored; NaN or infinite coordinates, vectors of different lengths, k < 1, or k larger than the number of points are errors. \
The features are used as given: standardise them first, e.g. z-scores as scikit-learn's StandardScaler with \
`(x - avg(x) OVER ()) / stddev_pop(x) OVER ()`, or min-max with `(x - min(x) OVER ()) / (max(x) OVER () - min(x) OVER ())`. \
The fit keeps the group's points in memory (8 bytes per coordinate). Assign rows to clusters with kmeans_assign.",
    syntax_example = "kmeans(features, k [, seed [, n_init]])",
    sql_example = r#"```sql
> SELECT m['centroids'] AS centroids, m['iterations'] AS iterations, m['points'] AS points
  FROM (SELECT kmeans([x, y], 2) AS m FROM (VALUES (0.0, 0.0), (0.0, 1.0), (10.0, 0.0), (10.0, 1.0)) t(x, y));
+------------------------------+------------+--------+
| centroids                    | iterations | points |
+------------------------------+------------+--------+
| [[0.0, 0.5], [10.0, 0.5]]    | 2          | 4      |
+------------------------------+------------+--------+
```"#,
    argument(
        name = "features",
        description = "Array of numbers, the same length on every row, e.g. [z_recency, z_frequency, z_monetary]."
    ),
    argument(name = "k", description = "Number of clusters, a literal integer >= 1."),
    argument(name = "seed", description = "Optional literal integer seed of the k-means++ seeding (default 0)."),
    argument(
        name = "n_init",
        description = "Optional literal number of seeded runs to keep the best of (default 10)."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct KMeans {
    signature: Signature,
}

impl Default for KMeans {
    fn default() -> Self {
        Self::new()
    }
}

impl KMeans {
    #[must_use]
    pub fn new() -> Self {
        let features = DataType::new_list(DataType::Float64, true);
        // UserDefined coerces; the Exact variants document the argument types for SHOW FUNCTIONS
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![features.clone(), DataType::Int64]),
                    TypeSignature::Exact(vec![features.clone(), DataType::Int64, DataType::Int64]),
                    TypeSignature::Exact(vec![features, DataType::Int64, DataType::Int64, DataType::Int64]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

pub(crate) fn centroids_type() -> DataType {
    DataType::new_list(DataType::new_list(DataType::Float64, true), true)
}

fn output_fields() -> Fields {
    Fields::from(vec![
        Field::new("centroids", centroids_type(), true),
        Field::new("inertia", DataType::Float64, true),
        Field::new("iterations", DataType::Int64, true),
        Field::new("points", DataType::Int64, true),
    ])
}

/// Coerces a list of numbers to List(Float64).
pub(crate) fn coerce_features(name: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)
            if f.data_type().is_numeric() || f.data_type().is_null() =>
        {
            Ok(DataType::new_list(DataType::Float64, true))
        }
        other => plan_err!("{name}: features must be an array of numbers, got {other}"),
    }
}

impl AggregateUDFImpl for KMeans {
    fn name(&self) -> &'static str {
        "kmeans"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(2..=4).contains(&arg_types.len()) {
            return plan_err!(
                "kmeans takes 2 to 4 arguments (features, k [, seed [, n_init]]), got {}",
                arg_types.len()
            );
        }
        let mut coerced = vec![coerce_features("kmeans", &arg_types[0])?];
        for t in &arg_types[1..] {
            if !t.is_integer() {
                return plan_err!("kmeans: k, seed and n_init must be integers, got {t}");
            }
            coerced.push(DataType::Int64);
        }
        Ok(coerced)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(output_fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(format_state_name(args.name, "dim"), DataType::Int64, true)),
            Arc::new(Field::new(
                format_state_name(args.name, "points"),
                DataType::new_list(DataType::Float64, true),
                true,
            )),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(KMeansAccumulator { params: Params::from_args(&args)?, group: Points::default() }))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(KMeansGroupsAccumulator {
            params: Params::from_args(&args)?,
            groups: Vec::new(),
            heap: GroupHeap::default(),
        }))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[derive(Debug, Clone, Copy)]
struct Params {
    k: usize,
    seed: u64,
    n_init: usize,
}

impl Params {
    fn from_args(args: &AccumulatorArgs) -> Result<Self> {
        let literal = |i: usize, name: &str, default: i64| -> Result<i64> {
            match args.exprs.get(i) {
                None => Ok(default),
                Some(e) => match e.downcast_ref::<Literal>().map(Literal::value) {
                    Some(ScalarValue::Int64(Some(v))) => Ok(*v),
                    _ => plan_err!("kmeans: {name} must be a literal integer"),
                },
            }
        };
        let k = literal(1, "k", 0)?;
        if k < 1 {
            return plan_err!("kmeans: k must be at least 1, got {k}");
        }
        let n_init = literal(3, "n_init", 10)?;
        if !(1..=1000).contains(&n_init) {
            return plan_err!("kmeans: n_init must be between 1 and 1000, got {n_init}");
        }
        Ok(Self { k: k as usize, seed: literal(2, "seed", 0)? as u64, n_init: n_init as usize })
    }
}

/// The points of one group, row-major.
#[derive(Debug, Default, Clone)]
struct Points {
    dim: Option<usize>,
    values: Vec<f64>,
}

impl Points {
    fn push(&mut self, point: &[f64]) -> Result<()> {
        match self.dim {
            Some(dim) if dim != point.len() => {
                return exec_err!(
                    "kmeans: feature vectors must all have the same length, got {dim} and {}",
                    point.len()
                )
            }
            None if point.is_empty() => return exec_err!("kmeans: feature vectors must not be empty"),
            _ => self.dim = Some(point.len()),
        }
        self.values.extend_from_slice(point);
        Ok(())
    }

    /// The fitted model and the number of points, or `None` for a group without points.
    fn fit(&mut self, params: Params) -> Result<Option<(Fit, usize)>> {
        let Some(dim) = self.dim else { return Ok(None) };
        let n = self.values.len() / dim;
        if params.k > n {
            return exec_err!("kmeans: k = {} exceeds the {n} points of the group", params.k);
        }
        Ok(Some((fit(&mut self.values, dim, params.k, params.seed, params.n_init), n)))
    }
}

/// Feature vectors of a batch: `None` for ignored rows (NULL vector, NULL element, filtered).
fn feature_rows(values: &ArrayRef, filter: Option<&BooleanArray>) -> Result<Vec<Option<Vec<f64>>>> {
    let lists = values.as_list::<i32>();
    let mut rows = Vec::with_capacity(lists.len());
    for i in 0..lists.len() {
        if lists.is_null(i) || filter.is_some_and(|f| !(f.is_valid(i) && f.value(i))) {
            rows.push(None);
            continue;
        }
        let row = lists.value(i);
        let row = row.as_primitive::<Float64Type>();
        if row.null_count() > 0 {
            rows.push(None);
            continue;
        }
        if let Some(bad) = row.values().iter().find(|x| !x.is_finite()) {
            return exec_err!("kmeans: features must be finite numbers, got {bad}");
        }
        rows.push(Some(row.values().to_vec()));
    }
    Ok(rows)
}

fn state_arrays(groups: &[Points]) -> Vec<ArrayRef> {
    let dims: Int64Array = groups.iter().map(|g| g.dim.map(|d| d as i64)).collect();
    let mut offsets = vec![0i32];
    let mut values = Vec::new();
    for g in groups {
        values.extend_from_slice(&g.values);
        offsets.push(values.len() as i32);
    }
    let points = ListArray::new(
        Arc::new(Field::new_list_field(DataType::Float64, true)),
        OffsetBuffer::new(offsets.into()),
        Arc::new(Float64Array::from(values)),
        None,
    );
    vec![Arc::new(dims), Arc::new(points)]
}

fn merge_into(states: &[ArrayRef], mut target: impl FnMut(usize) -> usize, groups: &mut [Points]) -> Result<()> {
    let dims = states[0].as_primitive::<Int64Type>();
    let points = states[1].as_list::<i32>();
    for row in 0..dims.len() {
        if dims.is_null(row) {
            continue;
        }
        let dim = dims.value(row) as usize;
        let values = points.value(row);
        let values = values.as_primitive::<Float64Type>();
        let group = &mut groups[target(row)];
        for point in values.values().chunks_exact(dim) {
            group.push(point)?;
        }
    }
    Ok(())
}

fn evaluate_groups(params: Params, groups: &mut [Points]) -> Result<ArrayRef> {
    let mut centroid_offsets = vec![0i32];
    let mut coordinate_offsets = vec![0i32];
    let mut coordinates = Vec::new();
    let (mut inertia, mut iterations, mut points, mut valid) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for group in groups.iter_mut() {
        let fitted = group.fit(params)?;
        valid.push(fitted.is_some());
        if let (Some((model, n)), Some(dim)) = (fitted, group.dim) {
            for centroid in model.centroids.chunks_exact(dim) {
                coordinates.extend_from_slice(centroid);
                coordinate_offsets.push(coordinates.len() as i32);
            }
            inertia.push(Some(model.inertia));
            iterations.push(Some(model.iterations as i64));
            points.push(Some(n as i64));
        } else {
            inertia.push(None);
            iterations.push(None);
            points.push(None);
        }
        centroid_offsets.push(coordinate_offsets.len() as i32 - 1);
    }
    let inner = ListArray::new(
        Arc::new(Field::new_list_field(DataType::Float64, true)),
        OffsetBuffer::new(coordinate_offsets.into()),
        Arc::new(Float64Array::from(coordinates)),
        None,
    );
    let centroids = ListArray::new(
        Arc::new(Field::new_list_field(DataType::new_list(DataType::Float64, true), true)),
        OffsetBuffer::new(centroid_offsets.into()),
        Arc::new(inner),
        Some(NullBuffer::from(valid.clone())),
    );
    Ok(Arc::new(StructArray::new(
        output_fields(),
        vec![
            Arc::new(centroids),
            Arc::new(Float64Array::from(inertia)),
            Arc::new(Int64Array::from(iterations)),
            Arc::new(Int64Array::from(points)),
        ],
        Some(NullBuffer::from(valid)),
    )))
}

#[derive(Debug)]
struct KMeansAccumulator {
    params: Params,
    group: Points,
}

impl Accumulator for KMeansAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for point in feature_rows(&values[0], None)?.into_iter().flatten() {
            self.group.push(&point)?;
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        merge_into(states, |_| 0, std::slice::from_mut(&mut self.group))
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        state_arrays(std::slice::from_ref(&self.group)).iter().map(|a| ScalarValue::try_from_array(a, 0)).collect()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        ScalarValue::try_from_array(&evaluate_groups(self.params, std::slice::from_mut(&mut self.group))?, 0)
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.group.values.capacity() * size_of::<f64>()
    }
}

#[derive(Debug)]
struct KMeansGroupsAccumulator {
    params: Params,
    groups: Vec<Points>,
    heap: GroupHeap,
}

/// Heap bytes of a group's points.
fn point_bytes(points: &Points) -> usize {
    points.values.capacity() * size_of::<f64>()
}

impl GroupsAccumulator for KMeansGroupsAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.groups.resize_with(total_num_groups, Points::default);
        for (point, &group) in feature_rows(&values[0], opt_filter)?.into_iter().zip(group_indices) {
            if let Some(point) = point {
                let points = &mut self.groups[group];
                let before = point_bytes(points);
                points.push(&point)?;
                self.heap.resize(before, point_bytes(points));
            }
        }
        Ok(())
    }

    fn merge_batch(&mut self, values: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        self.groups.resize_with(total_num_groups, Points::default);
        self.heap.track(&mut self.groups, group_indices, point_bytes, |groups| {
            merge_into(values, |row| group_indices[row], groups)
        })
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let mut groups = emit_to.take_needed(&mut self.groups);
        self.heap.release(groups.iter().map(point_bytes).sum());
        evaluate_groups(self.params, &mut groups)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let groups = emit_to.take_needed(&mut self.groups);
        self.heap.release(groups.iter().map(point_bytes).sum());
        Ok(state_arrays(&groups))
    }

    fn convert_to_state(&self, values: &[ArrayRef], opt_filter: Option<&BooleanArray>) -> Result<Vec<ArrayRef>> {
        let groups = feature_rows(&values[0], opt_filter)?
            .into_iter()
            .map(|point| {
                let mut group = Points::default();
                if let Some(point) = point {
                    group.push(&point)?;
                }
                Ok(group)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(state_arrays(&groups))
    }

    fn size(&self) -> usize {
        self.groups.capacity() * size_of::<Points>() + self.heap.bytes()
    }
}

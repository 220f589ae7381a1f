//! `kmeans(features, k [, seed [, n_init]])`: fit k-means per group.

use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, ListArray, StructArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Int64Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{
    aggregate_reading_columns, coerce_features, feature_lists, literal_arg, FloatListRow, FloatLists, ListOffsets,
    LiteralArg,
};
use crate::group_state::{GroupState, GroupsOf};
use crate::stats::lloyd::{fit, Fit};

#[user_doc(
    doc_section(label = "Segmentation Functions"),
    description = "Fits k-means to the feature vectors of a group and returns the model as a struct: \
`centroids` (k lists of coordinates, sorted lexicographically, so cluster i is the i-th of them), `inertia` (sum of squared distances of the points to their nearest centroid), \
`iterations` (Lloyd iterations of the best run) and `points` (rows used). \
The fit follows scikit-learn's KMeans(algorithm='lloyd'): greedy k-means++ seeding (2 + ln k local trials), Lloyd iterations until the total squared centroid shift \
is at most 1e-4 times the mean feature variance, labels stop changing, or 300 iterations; an empty cluster moves to the point farthest from its centroid; \
the best of n_init runs (default 10) by inertia is kept. Deterministic for a seed (default 0): the points are sorted before fitting, so the result does not depend on row order or partitioning. \
Rows whose features are NULL or hold a NULL or NaN are ignored (NaN is NULL in every Persona function); infinite coordinates, vectors of different lengths, k < 1, or k larger than the number of points are errors. \
The features are used as given: standardise them first, e.g. z-scores as scikit-learn's StandardScaler with \
`(x - avg(x) OVER ()) / stddev_pop(x) OVER ()`, or min-max with `(x - min(x) OVER ()) / (max(x) OVER () - min(x) OVER ())`. \
The fit keeps the group's points in memory (8 bytes per coordinate). Assign rows to clusters with kmeans_assign.",
    syntax_example = "kmeans(features, k [, seed [, n_init]])",
    sql_example = r#"```sql
> SELECT m['centroids'] AS centroids, m['iterations'] AS iterations, m['points'] AS points
  FROM (SELECT kmeans([x, y], 2) AS m FROM (VALUES (0.0, 0.0), (0.0, 1.0), (10.0, 0.0), (10.0, 1.0)) t(x, y));
+---------------------------+------------+--------+
| centroids                 | iterations | points |
+---------------------------+------------+--------+
| [[0.0, 0.5], [10.0, 0.5]] | 2          | 4      |
+---------------------------+------------+--------+
```"#,
    argument(
        name = "features",
        description = "Array of numbers, the same length on every row, e.g. [z_recency, z_frequency, z_monetary]. A struct of numbers (struct(x1, x2), a struct column) is read the same way, field by field; an array literal [x1, x2] is read column by column, without building the arrays."
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
        Ok(Box::new(GroupsOf::<Points>::new(Params::from_args(&args)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<Points>::new(Params::from_args(&args)?)))
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
    k: usize,
    seed: u64,
    n_init: usize,
}

impl Params {
    fn from_args(args: &AccumulatorArgs) -> Result<Self> {
        let literal = |i: usize, name: &str, default: i64| -> Result<i64> {
            match literal_arg(args.exprs, i) {
                LiteralArg::Absent => Ok(default),
                LiteralArg::Value(ScalarValue::Int64(Some(v))) => Ok(*v),
                _ => plan_err!("kmeans: {name} must be a literal integer"),
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

impl GroupState for Points {
    type Params = Params;

    /// Rows with a NULL vector or a NULL or NaN element are ignored (NaN is NULL in every Persona
    /// function); an infinite coordinate is an error.
    fn update(
        _: &Params,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let features = feature_lists("kmeans", &values[0])?;
        let lists = FloatLists::new(features.as_list::<i32>());
        for row in 0..values[0].len() {
            let Some(g) = group_of(row) else { continue };
            let FloatListRow::Values(point) = lists.row(row) else { continue };
            if point.iter().any(|x| x.is_nan()) {
                continue;
            }
            if let Some(bad) = point.iter().find(|x| x.is_infinite()) {
                return exec_err!("kmeans: features must be finite numbers, got {bad}");
            }
            groups[g].push(point)?;
        }
        Ok(())
    }

    fn state(_: &Params, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        let dims: Int64Array = groups.iter().map(|g| g.dim.map(|d| d as i64)).collect();
        let mut offsets = ListOffsets::new("kmeans");
        let mut values = Vec::new();
        for g in groups.iter() {
            values.extend_from_slice(&g.values);
            offsets.push(values.len())?;
        }
        let points = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Float64, true)),
            offsets.finish(),
            Arc::new(Float64Array::from(values)),
            None,
        );
        Ok(vec![Arc::new(dims), Arc::new(points)])
    }

    fn merge(_: &Params, groups: &mut [Self], states: &[ArrayRef], group_of: impl Fn(usize) -> usize) -> Result<()> {
        let dims = states[0].as_primitive::<Int64Type>();
        let points = FloatLists::new(states[1].as_list::<i32>());
        for row in 0..dims.len() {
            if dims.is_null(row) {
                continue;
            }
            let dim = match usize::try_from(dims.value(row)) {
                Ok(dim) if dim > 0 => dim,
                _ => return exec_err!("kmeans: malformed partial state: dimension {}", dims.value(row)),
            };
            let FloatListRow::Values(values) = points.row(row) else {
                return exec_err!("kmeans: malformed partial state: the points of a group are NULL");
            };
            let group = &mut groups[group_of(row)];
            for point in values.chunks_exact(dim) {
                group.push(point)?;
            }
        }
        Ok(())
    }

    /// Fits each group in place: the points are sorted (for a result independent of row order)
    /// and iterated over without a copy.
    fn evaluate(params: &Params, groups: &mut [Self]) -> Result<ArrayRef> {
        evaluate_groups(*params, groups)
    }

    fn size(&self) -> usize {
        self.values.capacity() * size_of::<f64>()
    }
}

fn evaluate_groups(params: Params, groups: &mut [Points]) -> Result<ArrayRef> {
    let mut centroid_offsets = ListOffsets::new("kmeans");
    let mut coordinate_offsets = ListOffsets::new("kmeans");
    let mut centroids = 0usize;
    let mut coordinates = Vec::new();
    let (mut inertia, mut iterations, mut points, mut valid) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for group in groups.iter_mut() {
        let fitted = group.fit(params)?;
        valid.push(fitted.is_some());
        if let (Some((model, n)), Some(dim)) = (fitted, group.dim) {
            for centroid in model.centroids.chunks_exact(dim) {
                coordinates.extend_from_slice(centroid);
                coordinate_offsets.push(coordinates.len())?;
                centroids += 1;
            }
            inertia.push(Some(model.inertia));
            iterations.push(Some(model.iterations as i64));
            points.push(Some(n as i64));
        } else {
            inertia.push(None);
            iterations.push(None);
            points.push(None);
        }
        centroid_offsets.push(centroids)?;
    }
    let inner = ListArray::new(
        Arc::new(Field::new_list_field(DataType::Float64, true)),
        coordinate_offsets.finish(),
        Arc::new(Float64Array::from(coordinates)),
        None,
    );
    let centroids = ListArray::new(
        Arc::new(Field::new_list_field(DataType::new_list(DataType::Float64, true), true)),
        centroid_offsets.finish(),
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

//! The state behind the model fits (`bgnbd_fit`, `pareto_nbd_fit`, `gamma_gamma_fit`): the
//! distinct input rows of a group with how many customers share each, and the maximum-likelihood
//! fit over them. Customers with the same (frequency, recency, T) contribute the same
//! likelihood term, so the state is as large as the number of distinct rows, not of customers,
//! and merges across partitions by adding counts. Each fit file implements [`Model`] (its
//! likelihood and which rows it takes); this file knows none of them.

use std::collections::HashMap;
use std::fmt::Debug;
use std::marker::PhantomData;
use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, StringArray, StructArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type, UInt64Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;

use crate::common::{literal_arg, ListOffsets, LiteralArg};
use crate::group_state::{GroupState, GroupsOf};
use crate::stats::optimize::{minimize_with, numerical_gradient};

/// A likelihood model fitted by maximum likelihood on log-parameters.
pub(super) trait Model: Debug + Send + Sync + 'static {
    /// The SQL function's name, for errors.
    const NAME: &'static str;
    /// The input columns, e.g. frequency, recency, T.
    const COLUMNS: usize;
    /// The parameter names, in the order of the output struct.
    fn params() -> &'static [&'static str];
    /// Whether a row (all values finite, not NULL) enters the fit: `Ok(false)` skips it,
    /// an error names the bad value.
    fn admit(row: &[f64]) -> Result<bool>;
    /// Why the admitted rows cannot identify the model (before any fitting), if they cannot.
    fn unidentified(rows: &[f64]) -> Option<&'static str>;
    /// Σ weightᵢ · ln Lᵢ over the rows (`COLUMNS` values each); `None` where it cannot be
    /// evaluated.
    fn log_likelihood(params: &[f64], rows: &[f64], weights: &[f64]) -> Option<f64>;
    /// Σ weightᵢ · ln Lᵢ and its gradient with respect to the parameters, when the model has
    /// them analytically; `None` (the default) uses central differences of `log_likelihood`.
    fn log_likelihood_gradient(_params: &[f64], _rows: &[f64], _weights: &[f64]) -> Option<(f64, Vec<f64>)> {
        None
    }
    /// The natural size of each parameter in the data's units (e.g. α of BG/NBD is a time, so
    /// max T): the fit runs on θ / scale, which starts at 1 and is judged to have run off to
    /// 0 or infinity outside [1e-6, 1e6].
    fn param_scales(_rows: &[f64]) -> Vec<f64> {
        vec![1.0; Self::params().len()]
    }
    /// lifetimes adds the penalty to the total −ln L (Pareto/NBD) rather than to the mean
    /// (BG/NBD, Gamma-Gamma); the objective here is always the mean, so such a model's
    /// penalty is divided by n.
    const PENALTY_ON_TOTAL: bool = false;
    /// lifetimes rescales time to T / max T before fitting (BG/NBD, Pareto/NBD), so its penalty
    /// sees the parameters divided by their scale; Gamma-Gamma penalises the raw parameters.
    const PENALTY_ON_SCALED: bool = false;
}

/// The output struct of a fit: the parameters, then log_likelihood, n, iterations, converged,
/// reason.
pub(super) fn output_fields<M: Model>() -> Fields {
    let mut fields: Vec<Field> = M::params().iter().map(|p| Field::new(*p, DataType::Float64, true)).collect();
    fields.extend([
        Field::new("log_likelihood", DataType::Float64, true),
        Field::new("n", DataType::Int64, false),
        Field::new("iterations", DataType::Int64, false),
        Field::new("converged", DataType::Boolean, false),
        Field::new("reason", DataType::Utf8, true),
    ]);
    Fields::from(fields)
}

/// Argument types: `COLUMNS` numbers and an optional penalizer, all as Float64.
pub(super) fn coerce<M: Model>(arg_types: &[DataType], usage: &str) -> Result<Vec<DataType>> {
    if !(M::COLUMNS..=M::COLUMNS + 1).contains(&arg_types.len()) {
        return plan_err!(
            "{} takes {} or {} arguments ({usage}), got {}",
            M::NAME,
            M::COLUMNS,
            M::COLUMNS + 1,
            arg_types.len()
        );
    }
    if let Some(t) = arg_types.iter().find(|t| !t.is_numeric() && !t.is_null()) {
        return plan_err!("{}: every argument must be numeric ({usage}), got {t}", M::NAME);
    }
    Ok(vec![DataType::Float64; arg_types.len()])
}

/// The largest T of (frequency, recency, T) rows (1 when there is none): the time scale of
/// the BG/NBD and Pareto/NBD fits.
pub(super) fn time_scale(rows: &[f64]) -> f64 {
    let max_t = rows.chunks_exact(3).fold(0.0_f64, |m, r| m.max(r[2]));
    if max_t > 0.0 {
        max_t
    } else {
        1.0
    }
}

pub(super) fn state_fields(args: &StateFieldsArgs) -> Vec<FieldRef> {
    vec![
        Arc::new(Field::new(format_state_name(args.name, "rows"), DataType::new_list(DataType::Float64, true), true)),
        Arc::new(Field::new(format_state_name(args.name, "counts"), DataType::new_list(DataType::UInt64, true), true)),
    ]
}

pub(super) fn accumulator<M: Model>(args: &AccumulatorArgs) -> Result<GroupsOf<FitRows<M>>> {
    let penalizer = match literal_arg(args.exprs, M::COLUMNS) {
        LiteralArg::Absent => 0.0,
        LiteralArg::Value(ScalarValue::Float64(Some(v))) if v.is_finite() && *v >= 0.0 => *v,
        LiteralArg::Value(v) => {
            return plan_err!("{}: the penalizer must be a finite number >= 0, got {v}", M::NAME);
        }
        LiteralArg::NotLiteral => return plan_err!("{}: the penalizer must be a constant", M::NAME),
    };
    Ok(GroupsOf::new(FitParams { penalizer, model: PhantomData }))
}

/// Constant arguments of a fit.
#[derive(Debug)]
pub(super) struct FitParams<M> {
    /// lifetimes' `penalizer_coef`: the objective is −ln L / n + penalizer · Σ (θ · scale)².
    penalizer: f64,
    model: PhantomData<M>,
}

/// The distinct rows of one group and how many customers share each.
#[derive(Debug)]
pub(super) struct FitRows<M> {
    counts: HashMap<[u64; 3], u64>,
    model: PhantomData<M>,
}

impl<M> Default for FitRows<M> {
    fn default() -> Self {
        Self { counts: HashMap::new(), model: PhantomData }
    }
}

/// The key of a row: the bits of its values (−0 as +0), unused columns 0.
fn key(row: &[f64]) -> [u64; 3] {
    let mut k = [0u64; 3];
    for (slot, v) in k.iter_mut().zip(row) {
        *slot = (v + 0.0).to_bits();
    }
    k
}

impl<M: Model> FitRows<M> {
    /// The rows sorted (so the fit does not depend on arrival order) and their weights.
    fn sorted(&self) -> (Vec<f64>, Vec<f64>) {
        let mut entries: Vec<([f64; 3], u64)> = self.counts.iter().map(|(k, c)| (k.map(f64::from_bits), *c)).collect();
        entries.sort_by(|a, b| {
            a.0.iter().zip(&b.0).map(|(x, y)| x.total_cmp(y)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut rows = Vec::with_capacity(entries.len() * M::COLUMNS);
        let mut weights = Vec::with_capacity(entries.len());
        for (row, count) in entries {
            rows.extend_from_slice(&row[..M::COLUMNS]);
            #[allow(clippy::cast_precision_loss)] // counts of customers, far below 2^53
            weights.push(count as f64);
        }
        (rows, weights)
    }
}

/// One fitted model (or why there is none).
struct Fit {
    params: Option<Vec<f64>>,
    log_likelihood: Option<f64>,
    n: u64,
    iterations: usize,
    converged: bool,
    reason: Option<&'static str>,
}

/// A scaled log-parameter beyond this (θ / scale outside [1e-6, 1e6]) means the fit ran off
/// to a boundary: the data do not identify the model.
const LOG_PARAM_LIMIT: f64 = 13.815_510_557_964_274;

fn fit<M: Model>(penalizer: f64, state: &FitRows<M>) -> Fit {
    let n: u64 = state.counts.values().sum();
    let unfitted =
        |reason| Fit { params: None, log_likelihood: None, n, iterations: 0, converged: false, reason: Some(reason) };
    if n == 0 {
        return unfitted("no customers");
    }
    let (rows, weights) = state.sorted();
    if let Some(reason) = M::unidentified(&rows) {
        return unfitted(reason);
    }
    #[allow(clippy::cast_precision_loss)]
    let total = n as f64;
    let penalizer = if M::PENALTY_ON_TOTAL { penalizer / total } else { penalizer };
    let units = M::param_scales(&rows);
    // what each parameter is multiplied by inside the penalty
    let scales: Vec<f64> =
        if M::PENALTY_ON_SCALED { units.iter().map(|u| 1.0 / u).collect() } else { vec![1.0; units.len()] };
    let to_params =
        |log_params: &[f64]| -> Vec<f64> { log_params.iter().zip(&units).map(|(v, u)| v.exp() * u).collect() };
    let objective = |log_params: &[f64]| {
        // a little room past the limit, so a fit that runs off stops there instead of crawling on
        if log_params.iter().any(|v| v.abs() > LOG_PARAM_LIMIT + 1.0) {
            return f64::INFINITY;
        }
        let params = to_params(log_params);
        match M::log_likelihood(&params, &rows, &weights) {
            Some(ll) if ll.is_finite() => {
                -ll / total + penalizer * params.iter().zip(&scales).map(|(p, s)| (p * s).powi(2)).sum::<f64>()
            }
            _ => f64::INFINITY,
        }
    };
    let objective = &objective;
    let start = vec![0.0; M::params().len()];
    // the gradient of the objective in log-parameters: θ · ∂/∂θ, from the model's analytic
    // gradient when it has one
    let gradient = |log_params: &[f64], value: f64| -> Option<Vec<f64>> {
        let params = to_params(log_params);
        match M::log_likelihood_gradient(&params, &rows, &weights) {
            Some((_, g)) => Some(
                params
                    .iter()
                    .zip(&g)
                    .zip(&scales)
                    .map(|((p, d), s)| -p * d / total + 2.0 * penalizer * (p * s).powi(2))
                    .collect(),
            ),
            None => numerical_gradient(objective, log_params, value),
        }
    };
    let Some(min) = minimize_with(objective, gradient, &start) else {
        return unfitted("the likelihood cannot be evaluated at the starting point");
    };
    if min.x.iter().any(|v| v.abs() > LOG_PARAM_LIMIT) {
        return Fit {
            iterations: min.iterations,
            ..unfitted("a parameter ran off toward 0 or infinity: the data do not identify the model")
        };
    }
    let params = to_params(&min.x);
    let log_likelihood = M::log_likelihood(&params, &rows, &weights).filter(|v| v.is_finite());
    Fit {
        params: Some(params),
        log_likelihood,
        n,
        iterations: min.iterations,
        converged: min.converged,
        reason: (!min.converged).then_some("the optimizer stopped before the gradient vanished"),
    }
}

impl<M: Model> GroupState for FitRows<M> {
    type Params = FitParams<M>;

    fn update(
        _: &FitParams<M>,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let columns: Vec<&Float64Array> =
            values[..M::COLUMNS].iter().map(|v| v.as_primitive::<Float64Type>()).collect();
        let mut row = [0.0; 3];
        let rows = columns.first().map_or(0, |c| c.len());
        'rows: for i in 0..rows {
            let Some(group) = group_of(i) else { continue };
            for (slot, column) in row.iter_mut().zip(&columns) {
                // NULL and NaN (NaN is NULL) rows are skipped
                if column.is_null(i) || column.value(i).is_nan() {
                    continue 'rows;
                }
                *slot = column.value(i);
                if slot.is_infinite() {
                    return exec_err!("{}: inputs must be finite, got {}", M::NAME, *slot);
                }
            }
            if M::admit(&row[..M::COLUMNS])? {
                *groups[group].counts.entry(key(&row[..M::COLUMNS])).or_insert(0) += 1;
            }
        }
        Ok(())
    }

    fn state(_: &FitParams<M>, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        let mut row_offsets = ListOffsets::new(M::NAME);
        let mut count_offsets = ListOffsets::new(M::NAME);
        let mut rows = Vec::new();
        let mut counts = Vec::new();
        for group in groups.iter() {
            for (k, c) in &group.counts {
                rows.extend(k[..M::COLUMNS].iter().map(|b| f64::from_bits(*b)));
                counts.push(*c);
            }
            row_offsets.push(rows.len())?;
            count_offsets.push(counts.len())?;
        }
        Ok(vec![
            row_offsets.into_list(Arc::new(Float64Array::from(rows))),
            count_offsets.into_list(Arc::new(UInt64Array::from(counts))),
        ])
    }

    fn merge(
        _: &FitParams<M>,
        groups: &mut [Self],
        states: &[ArrayRef],
        group_of: impl Fn(usize) -> usize,
    ) -> Result<()> {
        let rows = states[0].as_list::<i32>();
        let counts = states[1].as_list::<i32>();
        for i in 0..rows.len() {
            if rows.is_null(i) || counts.is_null(i) {
                continue;
            }
            let values = rows.value(i);
            let values = values.as_primitive::<Float64Type>();
            let weights = counts.value(i);
            let weights = weights.as_primitive::<UInt64Type>();
            if values.len() != weights.len() * M::COLUMNS || values.null_count() > 0 || weights.null_count() > 0 {
                return exec_err!(
                    "{}: malformed partial state: {} values for {} counts",
                    M::NAME,
                    values.len(),
                    weights.len()
                );
            }
            let group = &mut groups[group_of(i)];
            for (row, count) in values.values().chunks_exact(M::COLUMNS).zip(weights.values()) {
                *group.counts.entry(key(row)).or_insert(0) += count;
            }
        }
        Ok(())
    }

    fn evaluate(p: &FitParams<M>, groups: &mut [Self]) -> Result<ArrayRef> {
        let fits: Vec<Fit> = groups.iter().map(|g| fit(p.penalizer, g)).collect();
        let fields = output_fields::<M>();
        let mut columns: Vec<ArrayRef> = (0..M::params().len())
            .map(|j| {
                Arc::new(fits.iter().map(|f| f.params.as_ref().map(|p| p[j])).collect::<Float64Array>()) as ArrayRef
            })
            .collect();
        columns.push(Arc::new(fits.iter().map(|f| f.log_likelihood).collect::<Float64Array>()));
        columns.push(Arc::new(fits.iter().map(|f| i64::try_from(f.n).unwrap_or(i64::MAX)).collect::<Int64Array>()));
        columns.push(Arc::new(
            fits.iter().map(|f| i64::try_from(f.iterations).unwrap_or(i64::MAX)).collect::<Int64Array>(),
        ));
        columns.push(Arc::new(fits.iter().map(|f| Some(f.converged)).collect::<BooleanArray>()));
        columns.push(Arc::new(fits.iter().map(|f| f.reason).collect::<StringArray>()));
        Ok(Arc::new(StructArray::try_new(fields, columns, None)?))
    }

    fn size(&self) -> usize {
        self.counts.capacity() * (size_of::<[u64; 3]>() + size_of::<u64>() + 1)
    }
}

/// A fit: the SQL function's struct (its `#[user_doc]` passed in) and its `AggregateUDFImpl`,
/// all delegating to this file with the function's [`Model`].
macro_rules! fit_function {
    ($(#[$attr:meta])* $udf:ident, $model:ty, $name:literal, usage: $usage:literal) => {
        $(#[$attr])*
        #[derive(Debug, PartialEq, Eq, Hash)]
        pub struct $udf {
            signature: datafusion::logical_expr::Signature,
        }

        impl Default for $udf {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $udf {
            #[must_use]
            pub fn new() -> Self {
                use datafusion::logical_expr::{Signature, TypeSignature, Volatility};
                // UserDefined coerces; the Exact variant documents the argument types for SHOW FUNCTIONS
                let exact = vec![arrow::datatypes::DataType::Float64; <$model as super::fit_state::Model>::COLUMNS];
                Self {
                    signature: Signature::one_of(
                        vec![TypeSignature::UserDefined, TypeSignature::Exact(exact)],
                        Volatility::Immutable,
                    ),
                }
            }
        }

        impl datafusion::logical_expr::AggregateUDFImpl for $udf {
            fn name(&self) -> &'static str {
                $name
            }

            fn signature(&self) -> &datafusion::logical_expr::Signature {
                &self.signature
            }

            fn coerce_types(
                &self,
                arg_types: &[arrow::datatypes::DataType],
            ) -> datafusion::common::Result<Vec<arrow::datatypes::DataType>> {
                super::fit_state::coerce::<$model>(arg_types, $usage)
            }

            fn return_type(
                &self,
                _arg_types: &[arrow::datatypes::DataType],
            ) -> datafusion::common::Result<arrow::datatypes::DataType> {
                Ok(arrow::datatypes::DataType::Struct(super::fit_state::output_fields::<$model>()))
            }

            fn state_fields(
                &self,
                args: datafusion::logical_expr::function::StateFieldsArgs,
            ) -> datafusion::common::Result<Vec<arrow::datatypes::FieldRef>> {
                Ok(super::fit_state::state_fields(&args))
            }

            fn accumulator(
                &self,
                args: datafusion::logical_expr::function::AccumulatorArgs,
            ) -> datafusion::common::Result<Box<dyn datafusion::logical_expr::Accumulator>> {
                Ok(Box::new(super::fit_state::accumulator::<$model>(&args)?))
            }

            fn groups_accumulator_supported(&self, _args: datafusion::logical_expr::function::AccumulatorArgs) -> bool {
                true
            }

            fn create_groups_accumulator(
                &self,
                args: datafusion::logical_expr::function::AccumulatorArgs,
            ) -> datafusion::common::Result<Box<dyn datafusion::logical_expr::GroupsAccumulator>> {
                Ok(Box::new(super::fit_state::accumulator::<$model>(&args)?))
            }

            fn documentation(&self) -> Option<&datafusion::logical_expr::Documentation> {
                self.doc()
            }
        }
    };
}

pub(super) use fit_function;

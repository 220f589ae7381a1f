//! `linear_regression(y, features)`: ordinary least squares with an intercept, per group.

use std::mem::size_of;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::regression_args::{self, check_dim, first_value, Column};
use crate::common::{aggregate_reading_columns, feature_lists, float_list_array, FloatListRow, FloatLists};
use crate::group_state::{GroupState, GroupsOf};
use crate::stats::distributions::student_t_sf;
use crate::stats::linalg::Cholesky;

const NAME: &str = "linear_regression";
const USAGE: &str = "y, features";

#[user_doc(
    doc_section(label = "Model Functions"),
    description = "Fits y = b0 + b1·x1 + … + bp·xp by ordinary least squares to the rows of a group, as statsmodels' OLS with an added constant. \
Returns a struct `{coefficients, std_errors, t, p_values, r_squared, adj_r_squared, n, reason}`: the lists hold the intercept first, then one value per feature; \
std_errors are the square roots of the diagonal of s²(X'X)⁻¹ with s² = RSS / (n − p − 1), t = b / std_error, p_values two-sided Student t tails with n − p − 1 degrees of freedom, \
r_squared = 1 − RSS / TSS (TSS about the mean of y), adj_r_squared = 1 − (1 − r_squared)(n − 1) / (n − p − 1). \
Rows with a NULL or NaN y, a NULL feature list or a NULL or NaN feature are skipped; an infinite value or feature lists of different lengths are errors. \
A group without rows, with fewer rows than coefficients, or with a feature that is constant or a linear combination of the others (named by its position in the reason) gives NULL fields and the reason; \
with exactly as many rows as coefficients the fit is exact and std_errors, t, p_values and adj_r_squared are NULL; any other perfect fit (RSS = 0) has zero std_errors and NULL t and p_values; a constant y gives NULL r_squared and adj_r_squared. \
The state is n, the means and the co-moment matrix of (x, y) — (p + 1)(p + 2) numbers per group, merged with Chan's pairwise update — so it does not grow with the rows.",
    syntax_example = "linear_regression(y, features)",
    sql_example = r#"```sql
> SELECT round(m.coefficients[1], 6) AS intercept, round(m.coefficients[2], 6) AS slope, round(m.std_errors[2], 6) AS slope_se,
         round(m.r_squared, 6) AS r_squared, m.n AS n
  FROM (SELECT linear_regression(y, [x]) AS m FROM (VALUES (1.0, 1.0), (3.0, 2.0), (2.0, 3.0), (5.0, 4.0)) t(y, x));
+-----------+-------+----------+-----------+---+
| intercept | slope | slope_se | r_squared | n |
+-----------+-------+----------+-----------+---+
| 0.0       | 1.1   | 0.519615 | 0.691429  | 4 |
+-----------+-------+----------+-----------+---+
```"#,
    argument(name = "y", description = "The response, a number."),
    argument(
        name = "features",
        description = "Array of numbers, the same length on every row, e.g. [age, duration, campaign]. A struct of numbers (struct(x1, x2), a struct column) is read the same way, field by field; an array literal [x1, x2] is read column by column, without building the arrays."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LinearRegression {
    signature: Signature,
}

impl Default for LinearRegression {
    fn default() -> Self {
        Self::new()
    }
}

impl LinearRegression {
    #[must_use]
    pub fn new() -> Self {
        let features = DataType::new_list(DataType::Float64, true);
        Self {
            signature: Signature::one_of(
                vec![TypeSignature::UserDefined, TypeSignature::Exact(vec![DataType::Float64, features])],
                Volatility::Immutable,
            ),
        }
    }
}

impl AggregateUDFImpl for LinearRegression {
    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let mut coerced = regression_args::coerce(NAME, USAGE, arg_types, &[])?;
        coerced[0] = DataType::Float64;
        Ok(coerced)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(regression_args::fields(&result_columns(&[]))))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = DataType::new_list(DataType::Float64, true);
        Ok(vec![
            Arc::new(Field::new(format_state_name(args.name, "n"), DataType::Int64, true)),
            Arc::new(Field::new(format_state_name(args.name, "means"), list.clone(), true)),
            Arc::new(Field::new(format_state_name(args.name, "comoments"), list, true)),
        ])
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(GroupsOf::<Moments>::new(())))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<Moments>::new(())))
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        Some(aggregate_reading_columns(1))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// n, the means of (x1 … xp, y) and their co-moment matrix Σ (v − mean)(v − mean)ᵀ (row-major,
/// (p + 1)²), updated one row at a time (Welford) and merged pairwise (Chan et al.).
#[derive(Debug, Default)]
struct Moments {
    n: u64,
    means: Vec<f64>,
    comoments: Vec<f64>,
}

impl Moments {
    fn dim(&self) -> Option<usize> {
        (!self.means.is_empty()).then(|| self.means.len() - 1)
    }

    fn start(&mut self, q: usize) {
        if self.means.is_empty() {
            self.means = vec![0.0; q];
            self.comoments = vec![0.0; q * q];
        }
    }

    fn push(&mut self, v: &[f64], delta: &mut [f64]) {
        let q = v.len();
        self.n += 1;
        let n = self.n as f64;
        for ((d, mean), x) in delta.iter_mut().zip(&mut self.means).zip(v) {
            *d = x - *mean;
            *mean += *d / n;
        }
        for (i, d) in delta.iter().enumerate() {
            let row = &mut self.comoments[i * q..(i + 1) * q];
            for ((c, x), mean) in row.iter_mut().zip(v).zip(&self.means).skip(i) {
                *c += d * (x - mean);
            }
        }
    }

    fn merge(&mut self, n: u64, means: &[f64], comoments: &[f64]) {
        let q = means.len();
        if self.n == 0 {
            self.n = n;
            self.means = means.to_vec();
            self.comoments = comoments.to_vec();
            return;
        }
        let (na, nb) = (self.n as f64, n as f64);
        let total = na + nb;
        let delta: Vec<f64> = means.iter().zip(&self.means).map(|(b, a)| b - a).collect();
        for i in 0..q {
            for j in i..q {
                self.comoments[i * q + j] += comoments[i * q + j] + delta[i] * delta[j] * na * nb / total;
            }
            self.means[i] += delta[i] * nb / total;
        }
        self.n += n;
    }
}

impl GroupState for Moments {
    type Params = ();

    fn update(
        _: &(),
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let features = feature_lists(NAME, &values[1])?;
        let lists = FloatLists::new(features.as_list::<i32>());
        let mut row_values = Vec::new();
        let mut delta = Vec::new();
        for row in 0..values[0].len() {
            let Some(g) = group_of(row) else { continue };
            let Some(y) = first_value(&values[0], row) else { continue };
            let FloatListRow::Values(features) = lists.row(row) else { continue };
            if features.iter().any(|x| x.is_nan()) {
                continue;
            }
            if y.is_infinite() {
                return exec_err!("{NAME}: y must be a finite number, got {y}");
            }
            let group = &mut groups[g];
            let mut dim = group.dim();
            check_dim(NAME, &mut dim, features)?;
            row_values.clear();
            row_values.extend_from_slice(features);
            row_values.push(y);
            delta.resize(row_values.len(), 0.0);
            group.start(row_values.len());
            group.push(&row_values, &mut delta);
        }
        Ok(())
    }

    fn state(_: &(), groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        let n: Int64Array = groups.iter().map(|g| g.dim().map(|_| g.n as i64)).collect();
        let means = float_list_array(NAME, groups.iter().map(|g| g.dim().map(|_| g.means.as_slice())))?;
        let comoments = float_list_array(NAME, groups.iter().map(|g| g.dim().map(|_| g.comoments.as_slice())))?;
        Ok(vec![Arc::new(n), means, comoments])
    }

    fn merge(_: &(), groups: &mut [Self], states: &[ArrayRef], group_of: impl Fn(usize) -> usize) -> Result<()> {
        let n = states[0].as_primitive::<Int64Type>();
        let (means, comoments) =
            (FloatLists::new(states[1].as_list::<i32>()), FloatLists::new(states[2].as_list::<i32>()));
        for row in 0..n.len() {
            let (FloatListRow::Values(mean), FloatListRow::Values(comoment), false) =
                (means.row(row), comoments.row(row), n.is_null(row))
            else {
                continue;
            };
            if mean.is_empty() || comoment.len() != mean.len() * mean.len() {
                return exec_err!("{NAME}: a partial state has {} means and {} co-moments", mean.len(), comoment.len());
            }
            let group = &mut groups[group_of(row)];
            if let Some(dim) = group.dim().filter(|d| d + 1 != mean.len()) {
                return exec_err!(
                    "{NAME}: feature vectors must all have the same length, got {dim} and {}",
                    mean.len() - 1
                );
            }
            group.merge(n.value(row) as u64, mean, comoment);
        }
        Ok(())
    }

    fn evaluate(_: &(), groups: &mut [Self]) -> Result<ArrayRef> {
        let fits: Vec<Fit> = groups.iter().map(fit).collect();
        regression_args::struct_array(NAME, result_columns(&fits))
    }

    fn size(&self) -> usize {
        (self.means.capacity() + self.comoments.capacity()) * size_of::<f64>()
    }
}

#[derive(Debug, Default)]
struct Fit {
    coefficients: Option<Vec<f64>>,
    std_errors: Option<Vec<f64>>,
    df: f64,
    r_squared: Option<f64>,
    adj_r_squared: Option<f64>,
    n: u64,
    reason: Option<String>,
}

fn result_columns(fits: &[Fit]) -> Vec<(&'static str, Column)> {
    // a perfect fit (RSS = 0) has zero standard errors and no t statistics
    let t = |f: &Fit| {
        let errors = f.std_errors.as_ref().filter(|e| e.iter().all(|s| *s > 0.0))?;
        Some(f.coefficients.as_ref()?.iter().zip(errors).map(|(b, s)| b / s).collect())
    };
    let p = |f: &Fit| t(f).map(|t: Vec<f64>| t.iter().map(|t| 2.0 * student_t_sf(t.abs(), f.df)).collect());
    vec![
        ("coefficients", Column::Lists(fits.iter().map(|f| f.coefficients.clone()).collect())),
        ("std_errors", Column::Lists(fits.iter().map(|f| f.std_errors.clone()).collect())),
        ("t", Column::Lists(fits.iter().map(t).collect())),
        ("p_values", Column::Lists(fits.iter().map(p).collect())),
        ("r_squared", Column::Floats(fits.iter().map(|f| f.r_squared).collect())),
        ("adj_r_squared", Column::Floats(fits.iter().map(|f| f.adj_r_squared).collect())),
        ("n", Column::Ints(fits.iter().map(|f| Some(f.n as i64)).collect())),
        ("reason", Column::Texts(fits.iter().map(|f| f.reason.clone()).collect())),
    ]
}

/// OLS from the centred moments: the slopes solve Sxx b = Sxy, b0 = ȳ − b·x̄, RSS = Syy − b·Sxy.
fn fit(moments: &Moments) -> Fit {
    let unfitted = |reason: String| Fit { n: moments.n, reason: Some(reason), ..Fit::default() };
    let Some(p) = moments.dim() else { return unfitted("no rows".to_string()) };
    let (q, n) = (p + 1, moments.n as f64);
    if moments.n < q as u64 {
        return unfitted(format!("fewer rows ({}) than coefficients ({q})", moments.n));
    }
    let c = &moments.comoments;
    let sxx: Vec<f64> = (0..p * p)
        .map(|k| {
            let (i, j) = (k / p, k % p);
            c[i.min(j) * q + i.max(j)]
        })
        .collect();
    let sxy: Vec<f64> = (0..p).map(|i| c[i * q + p]).collect();
    let syy = c[p * q + p];
    let cholesky = match Cholesky::factor(&sxx, p) {
        Ok(c) => c,
        Err(column) => {
            return unfitted(format!(
                "feature {} is constant or a linear combination of the other features (and the intercept)",
                column + 1
            ))
        }
    };
    let slopes = cholesky.solve(&sxy);
    let x_mean = &moments.means[..p];
    let intercept = moments.means[p] - slopes.iter().zip(x_mean).map(|(b, m)| b * m).sum::<f64>();
    let rss = (syy - slopes.iter().zip(&sxy).map(|(b, s)| b * s).sum::<f64>()).max(0.0);
    let df = n - q as f64;
    let r_squared = (syy > 0.0).then(|| 1.0 - rss / syy);
    let (std_errors, adj_r_squared) = if df > 0.0 {
        let s2 = rss / df;
        let inverse = cholesky.inverse();
        let mut errors = Vec::with_capacity(q);
        // Var(b0) = s²(1/n + x̄ᵀ Sxx⁻¹ x̄)
        let quad: f64 = (0..p).map(|i| (0..p).map(|j| x_mean[i] * inverse[i * p + j] * x_mean[j]).sum::<f64>()).sum();
        errors.push((s2 * (1.0 / n + quad)).sqrt());
        errors.extend((0..p).map(|j| (s2 * inverse[j * p + j]).sqrt()));
        (Some(errors), r_squared.map(|r2| 1.0 - (1.0 - r2) * (n - 1.0) / df))
    } else {
        (None, None)
    };
    let mut coefficients = vec![intercept];
    coefficients.extend(slopes);
    Fit { coefficients: Some(coefficients), std_errors, df, r_squared, adj_r_squared, n: moments.n, reason: None }
}

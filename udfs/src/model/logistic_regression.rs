//! `logistic_regression(label, features [, l2 [, max_iter]])`: a logistic regression fitted per
//! group by Newton's method.

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::labelled_rows_state::{self, LabelledRows, RowsModel};
use super::regression_args::{self, literal_f64, Column};
use crate::common::aggregate_reading_columns;
use crate::group_state::GroupsOf;
use crate::stats::distributions::normal_sf;
use crate::stats::linalg::Cholesky;

const NAME: &str = "logistic_regression";
const USAGE: &str = "label, features [, l2 [, max_iter]]";

#[user_doc(
    doc_section(label = "Model Functions"),
    description = "Fits a logistic regression P(label = 1 | x) = 1 / (1 + exp(−(b0 + b1·x1 + … + bp·xp))) to the rows of a group by maximum likelihood, \
as statsmodels' Logit with an added constant: Newton's method from b = 0 (halving a step that lowers the objective), converged when the Newton decrement \
gᵀH⁻¹g falls below 1e-12; from 262,144 rows on, the Newton iterations over all rows start from the converged fit of a random sample of 65,536 of them \
(from b = 0 if that fit fails), and iterations counts the full-data ones. With l2 > 0 the objective is ln L − l2/2 · (b1² + … + bp²) (the intercept is not penalised), the fit of scikit-learn's \
LogisticRegression(C = 1 / l2). Returns a struct `{coefficients, std_errors, z, p_values, log_likelihood, n, iterations, converged, reason}`: the lists hold the \
intercept first, then one value per feature; std_errors are the square roots of the diagonal of the inverse observed information (X'WX)⁻¹, z = b / std_error \
and p_values two-sided normal tails (none of the three for l2 > 0: NULL); log_likelihood is the unpenalised ln L, n the rows fitted. \
label is a boolean or a number 0 or 1 (another value is an error); rows with a NULL or NaN label, a NULL feature list or a NULL or NaN feature are skipped; \
an infinite feature or feature lists of different lengths are errors. A group whose maximum likelihood does not exist gives NULL coefficients, converged = false \
and the reason: no rows, every label the same, fewer rows than coefficients, a feature that is constant or a linear combination of the others (named by its position), \
or (without l2) features that separate the labels perfectly (every fitted probability within 1e-8 of its label; quasi-complete separation shows, as in statsmodels, as very large coefficients and standard errors). A fit that reaches max_iter keeps its last coefficients with converged = false. \
The state holds the group's rows (8 bytes per feature and label, counted in the memory pool); before the fit they are put in one order, by a hash of each row's values, so the result has the same bits however the rows were partitioned (the ordering takes a copy of the rows, the state's size again, while it runs; the fit itself reads the rows where they are).",
    syntax_example = "logistic_regression(label, features [, l2 [, max_iter]])",
    sql_example = r#"```sql
> SELECT round(m.coefficients[1], 4) AS b0, round(m.coefficients[2], 4) AS b_treatment,
         round(m.coefficients[3], 4) AS b_anxiety, round(m.log_likelihood, 4) AS log_likelihood, m.converged AS converged
  FROM (SELECT logistic_regression(second_attack, [treatment, trait_anxiety]) AS m
        FROM (VALUES (1, 1, 70), (1, 1, 80), (1, 1, 50), (1, 0, 60), (1, 0, 40), (1, 0, 65), (1, 0, 75),
                     (1, 0, 80), (1, 0, 70), (1, 0, 60), (0, 1, 65), (0, 1, 50), (0, 1, 45), (0, 1, 35),
                     (0, 1, 40), (0, 1, 50), (0, 0, 55), (0, 0, 45), (0, 0, 50), (0, 0, 60)) p(second_attack, treatment, trait_anxiety));
+---------+-------------+-----------+----------------+-----------+
| b0      | b_treatment | b_anxiety | log_likelihood | converged |
+---------+-------------+-----------+----------------+-----------+
| -6.3635 | -1.0241     | 0.119     | -9.4102        | true      |
+---------+-------------+-----------+----------------+-----------+
```"#,
    argument(name = "label", description = "The outcome: a boolean, or a number 0 or 1."),
    argument(
        name = "features",
        description = "Array of numbers, the same length on every row, e.g. [age, income, utilisation]. A struct of numbers (struct(x1, x2), a struct column) is read the same way, field by field; an array literal [x1, x2] is read column by column, without building the arrays."
    ),
    argument(
        name = "l2",
        description = "Optional constant L2 penalty on the feature coefficients (scikit-learn's 1 / C), default 0."
    ),
    argument(
        name = "max_iter",
        description = "Optional constant maximum of Newton iterations, 1 to 10000, default 100."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LogisticRegression {
    signature: Signature,
}

impl Default for LogisticRegression {
    fn default() -> Self {
        Self::new()
    }
}

impl LogisticRegression {
    #[must_use]
    pub fn new() -> Self {
        let features = DataType::new_list(DataType::Float64, true);
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::Boolean, features.clone()]),
                    TypeSignature::Exact(vec![DataType::Boolean, features.clone(), DataType::Float64]),
                    TypeSignature::Exact(vec![DataType::Boolean, features, DataType::Float64, DataType::Int64]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

fn result_columns(fits: &[Fit]) -> Vec<(&'static str, Column)> {
    let lists = |f: fn(&Fit) -> Option<Vec<f64>>| Column::Lists(fits.iter().map(f).collect());
    vec![
        ("coefficients", lists(|f| f.coefficients.clone())),
        ("std_errors", lists(|f| f.std_errors.clone())),
        ("z", lists(|f| ratios(f.coefficients.as_ref(), f.std_errors.as_ref()))),
        ("p_values", lists(|f| ratios(f.coefficients.as_ref(), f.std_errors.as_ref()).map(two_sided))),
        ("log_likelihood", Column::Floats(fits.iter().map(|f| f.log_likelihood).collect())),
        ("n", Column::Ints(fits.iter().map(|f| Some(f.n as i64)).collect())),
        ("iterations", Column::Ints(fits.iter().map(|f| Some(f.iterations as i64)).collect())),
        ("converged", Column::Bools(fits.iter().map(|f| Some(f.converged)).collect())),
        ("reason", Column::Texts(fits.iter().map(|f| f.reason.clone()).collect())),
    ]
}

fn ratios(coefficients: Option<&Vec<f64>>, std_errors: Option<&Vec<f64>>) -> Option<Vec<f64>> {
    Some(coefficients?.iter().zip(std_errors?).map(|(b, s)| b / s).collect())
}

fn two_sided(z: Vec<f64>) -> Vec<f64> {
    z.into_iter().map(|z| 2.0 * normal_sf(z.abs())).collect()
}

impl AggregateUDFImpl for LogisticRegression {
    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        regression_args::coerce(NAME, USAGE, arg_types, &[DataType::Float64, DataType::Float64])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(regression_args::fields(&result_columns(&[]))))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(labelled_rows_state::state_fields(args.name))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(GroupsOf::<LabelledRows<Logistic>>::new(Params::from_args(&args)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<LabelledRows<Logistic>>::new(Params::from_args(&args)?)))
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        Some(aggregate_reading_columns(1))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[derive(Debug, Clone, Copy)]
struct Params {
    l2: f64,
    max_iter: usize,
}

impl Params {
    fn from_args(args: &AccumulatorArgs) -> Result<Self> {
        let l2 = literal_f64(NAME, args, 2, "l2", 0.0)?;
        if l2 < 0.0 {
            return plan_err!("{NAME}: l2 must be >= 0, got {l2}");
        }
        let max_iter = literal_f64(NAME, args, 3, "max_iter", 100.0)?;
        if !(1.0..=10_000.0).contains(&max_iter) || max_iter.fract() != 0.0 {
            return plan_err!("{NAME}: max_iter must be a whole number from 1 to 10000, got {max_iter}");
        }
        Ok(Self { l2, max_iter: max_iter as usize })
    }
}

/// The rows of a group (features, then the label) and their fit.
#[derive(Debug)]
struct Logistic;

impl RowsModel for Logistic {
    const NAME: &'static str = NAME;
    type Params = Params;

    fn evaluate(params: &Params, groups: &mut [LabelledRows<Self>]) -> Result<ArrayRef> {
        let fits: Vec<Fit> = groups
            .iter_mut()
            .map(|g| {
                g.order_canonically();
                let dim = g.dim.unwrap_or(0);
                fit(g.rows(), dim, *params)
            })
            .collect();
        regression_args::struct_array(NAME, result_columns(&fits))
    }
}

/// A fitted (or unfittable) model.
#[derive(Debug, Default)]
struct Fit {
    coefficients: Option<Vec<f64>>,
    std_errors: Option<Vec<f64>>,
    log_likelihood: Option<f64>,
    n: usize,
    iterations: usize,
    converged: bool,
    reason: Option<String>,
}

impl Fit {
    fn unidentified(n: usize, iterations: usize, reason: String) -> Self {
        Self { n, iterations, reason: Some(reason), ..Self::default() }
    }
}

/// A fit whose every residual |y − p| is below this has separated the labels (statsmodels'
/// perfect-prediction test is the same comparison with its `allclose` tolerance).
const SEPARATED: f64 = 1e-8;

/// Rows per block of a likelihood pass. Blocks are summed in their order whatever the number of
/// threads, so a fit gives the same bits on any machine.
const BLOCK_ROWS: usize = 1 << 16;

/// Rows per cache-sized chunk of a block (2,048 rows of 11 columns are 176 KiB).
const CHUNK_ROWS: usize = 1 << 11;

/// From this many rows on, the full-data Newton iterations start from the fit of the first block
/// (the rows are in a pseudo-random canonical order, so it is a random sample of [`BLOCK_ROWS`]).
const WARM_START_ROWS: usize = 4 * BLOCK_ROWS;

/// ln L, its gradient and the observed information X'WX at `beta` over the rows (row-major:
/// `dim` features, then the label); the flag says whether every row is fitted to within
/// [`SEPARATED`] (the features separate the labels). Blocks of [`BLOCK_ROWS`] rows are spread
/// over the machine's cores (scoped threads; one block runs on the caller's thread).
fn pass(rows: &[f64], dim: usize, beta: &[f64]) -> (f64, Vec<f64>, Vec<f64>, bool) {
    let q = dim + 1;
    let blocks: Vec<&[f64]> = rows.chunks(BLOCK_ROWS * q).collect();
    let threads = std::thread::available_parallelism().map_or(1, usize::from).min(blocks.len()).max(1);
    let partials: Vec<Partial> = if threads == 1 {
        blocks.iter().map(|block| Partial::of(block, dim, beta)).collect()
    } else {
        let mut indexed: Vec<(usize, Partial)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let blocks = &blocks;
                    scope.spawn(move || {
                        (t..blocks.len())
                            .step_by(threads)
                            .map(|i| (i, Partial::of(blocks[i], dim, beta)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
        });
        indexed.sort_by_key(|(i, _)| *i);
        indexed.into_iter().map(|(_, p)| p).collect()
    };
    let mut total = Partial::new(q);
    for partial in &partials {
        total.log_likelihood += partial.log_likelihood;
        total.largest_residual = total.largest_residual.max(partial.largest_residual);
        total.gradient.iter_mut().zip(&partial.gradient).for_each(|(t, p)| *t += p);
        total.information.iter_mut().zip(&partial.information).for_each(|(t, p)| *t += p);
    }
    let Partial { log_likelihood, gradient, mut information, largest_residual } = total;
    for i in 0..q {
        for j in 0..i {
            information[i * q + j] = information[j * q + i];
        }
    }
    (log_likelihood, gradient, information, largest_residual < SEPARATED)
}

/// One block's share of a likelihood pass (the information's upper triangle only).
#[derive(Debug, Default)]
struct Partial {
    log_likelihood: f64,
    gradient: Vec<f64>,
    information: Vec<f64>,
    largest_residual: f64,
}

impl Partial {
    fn new(q: usize) -> Self {
        Self { gradient: vec![0.0; q], information: vec![0.0; q * q], ..Self::default() }
    }

    /// A block of rows, row-major: `dim` features, then the label. The rows are taken
    /// [`CHUNK_ROWS`] at a time and laid out column by column in a scratch buffer, so the chunk's
    /// columns stay in cache while the information's products are summed.
    fn of(block: &[f64], dim: usize, beta: &[f64]) -> Self {
        let q = dim + 1;
        let mut out = Self::new(q);
        let capacity = CHUNK_ROWS.min(block.len() / q);
        let mut columns = vec![0.0; q * capacity];
        let mut scratch = vec![0.0; 4 * capacity];
        for chunk in block.chunks(CHUNK_ROWS * q) {
            let rows = chunk.len() / q;
            for (i, row) in chunk.chunks_exact(q).enumerate() {
                for (j, v) in row.iter().enumerate() {
                    columns[j * rows + i] = *v;
                }
            }
            let column = |j: usize| &columns[j * rows..(j + 1) * rows];
            let labels = column(dim);
            let (eta, rest) = scratch.split_at_mut(rows);
            let (residual, rest) = rest.split_at_mut(rows);
            let (weight, rest) = rest.split_at_mut(rows);
            let weighted = &mut rest[..rows];
            eta.fill(beta[0]);
            for j in 0..dim {
                let b = beta[j + 1];
                eta.iter_mut().zip(column(j)).for_each(|(e, x)| *e += b * x);
            }
            for (((eta, y), r), w) in eta.iter().zip(labels).zip(residual.iter_mut()).zip(weight.iter_mut()) {
                // with e = exp(−|η|): ln σ(η) = −softplus(−η), ln(1 − σ(η)) = −softplus(η),
                // softplus(η) = max(η, 0) + ln(1 + e), σ(η) = 1 / (1 + e) or e / (1 + e)
                let e = (-eta.abs()).exp();
                out.log_likelihood += y * eta - (eta.max(0.0) + e.ln_1p());
                let p = if *eta >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
                (*r, *w) = (y - p, p * (1.0 - p));
                out.largest_residual = out.largest_residual.max(r.abs());
            }
            // column 0 of the design is the intercept's ones
            out.gradient[0] += residual.iter().sum::<f64>();
            out.information[0] += weight.iter().sum::<f64>();
            for i in 0..dim {
                let x = column(i);
                out.gradient[i + 1] += dot(residual, x);
                out.information[i + 1] += dot(weight, x);
                weighted.iter_mut().zip(weight.iter()).zip(x).for_each(|((wx, w), x)| *wx = w * x);
                for j in i..dim {
                    out.information[(i + 1) * q + j + 1] += dot(weighted, column(j));
                }
            }
        }
        out
    }
}

/// Σ a·b with eight running sums (so the loop vectorises).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut sums = [0.0; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = a8.remainder().iter().zip(b8.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a8.zip(b8) {
        for k in 0..8 {
            sums[k] += x[k] * y[k];
        }
    }
    sums.iter().sum::<f64>() + tail
}

/// The penalised objective's value, gradient and Hessian (negated) at `beta`.
fn penalised(rows: &[f64], dim: usize, beta: &[f64], l2: f64) -> (f64, Vec<f64>, Vec<f64>, bool) {
    let (mut value, mut gradient, mut information, separated) = pass(rows, dim, beta);
    let q = dim + 1;
    for j in 1..q {
        value -= 0.5 * l2 * beta[j] * beta[j];
        gradient[j] -= l2 * beta[j];
        information[j * q + j] += l2;
    }
    (value, gradient, information, separated)
}

fn collinear(column: usize) -> String {
    format!("feature {column} is constant or a linear combination of the other features (and the intercept)")
}

/// Newton's method over the rows (row-major, in the canonical order).
fn fit(rows: &[f64], dim: usize, params: Params) -> Fit {
    let q = dim + 1;
    let n = if dim == 0 { 0 } else { rows.len() / q };
    if n == 0 {
        return Fit::unidentified(0, 0, "no rows".to_string());
    }
    let ones = rows.chunks_exact(q).filter(|row| row[dim] == 1.0).count();
    if ones == 0 || ones == n {
        let label = if ones == 0 { 0 } else { 1 };
        return Fit::unidentified(n, 0, format!("every label is {label}: the intercept has no finite estimate"));
    }
    if params.l2 == 0.0 && n < q {
        return Fit::unidentified(n, 0, format!("fewer rows ({n}) than coefficients ({q})"));
    }
    let mut beta = vec![0.0; q];
    if n >= WARM_START_ROWS {
        // the sample's fit is only a start: any failure there starts from zero as below
        let sample = Params { l2: params.l2 * BLOCK_ROWS as f64 / n as f64, max_iter: params.max_iter };
        if let Fit { converged: true, coefficients: Some(start), .. } = fit(&rows[..BLOCK_ROWS * q], dim, sample) {
            beta = start;
        }
    }
    let mut current = penalised(rows, dim, &beta, params.l2);
    let mut iterations = 0;
    let mut converged = false;
    while iterations < params.max_iter {
        let (value, gradient, information, separated) = &current;
        if *separated && params.l2 == 0.0 {
            return Fit::unidentified(
                n,
                iterations,
                "the features separate the labels perfectly: the coefficients have no finite estimate".to_string(),
            );
        }
        let cholesky = match Cholesky::factor(information, q) {
            Ok(c) => c,
            Err(column) => return Fit::unidentified(n, iterations, collinear(column)),
        };
        let step = cholesky.solve(gradient);
        let decrement: f64 = step.iter().zip(gradient).map(|(s, g)| s * g).sum();
        iterations += 1;
        // a Newton step that lowers the objective is halved until it does not
        let mut scale = 1.0;
        let next = loop {
            let candidate: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + scale * s).collect();
            let evaluated = penalised(rows, dim, &candidate, params.l2);
            if evaluated.0 >= *value - 1e-12 * value.abs() || scale < 1e-10 {
                break (candidate, evaluated);
            }
            scale *= 0.5;
        };
        (beta, current) = next;
        if !decrement.is_finite() || !current.0.is_finite() {
            return Fit::unidentified(n, iterations, "the likelihood is not finite at the estimate".to_string());
        }
        if decrement < 1e-12 {
            converged = true;
            break;
        }
    }
    let (_, _, information, separated) = &current;
    if *separated && params.l2 == 0.0 {
        return Fit::unidentified(
            n,
            iterations,
            "the features separate the labels perfectly: the coefficients have no finite estimate".to_string(),
        );
    }
    let log_likelihood = if params.l2 == 0.0 { current.0 } else { pass(rows, dim, &beta).0 };
    let std_errors = if params.l2 == 0.0 {
        match Cholesky::factor(information, q) {
            Ok(c) => {
                let inverse = c.inverse();
                Some((0..q).map(|j| inverse[j * q + j].sqrt()).collect())
            }
            Err(column) => return Fit::unidentified(n, iterations, collinear(column)),
        }
    } else {
        None
    };
    let reason = (!converged).then(|| format!("no convergence in {} iterations", params.max_iter));
    Fit { coefficients: Some(beta), std_errors, log_likelihood: Some(log_likelihood), n, iterations, converged, reason }
}

#[cfg(test)]
mod tests {
    use super::{fit, Params, BLOCK_ROWS};

    fn fit_in_place(values: &mut [f64], dim: usize, params: Params) -> super::Fit {
        fit(values, dim, params)
    }

    fn rows(data: &[(f64, f64)]) -> Vec<f64> {
        data.iter().flat_map(|&(x, y)| [x, y]).collect()
    }

    #[test]
    fn separation_constant_columns_and_one_class_are_named() {
        let params = Params { l2: 0.0, max_iter: 100 };
        let separated = fit_in_place(&mut rows(&[(1.0, 0.0), (2.0, 0.0), (3.0, 1.0), (4.0, 1.0)]), 1, params);
        assert!(separated.coefficients.is_none() && !separated.converged);
        assert!(separated.reason.as_deref().is_some_and(|r| r.contains("separate")), "{separated:?}");
        let constant = fit_in_place(&mut rows(&[(1.0, 0.0), (1.0, 1.0), (1.0, 1.0), (1.0, 0.0)]), 1, params);
        assert_eq!(constant.reason.as_deref(), Some(super::collinear(1).as_str()));
        let one_class = fit_in_place(&mut rows(&[(1.0, 1.0), (2.0, 1.0)]), 1, params);
        assert!(one_class.reason.as_deref().is_some_and(|r| r.contains("every label is 1")));
        // a penalty makes a separated problem finite
        let penalised = fit_in_place(
            &mut rows(&[(1.0, 0.0), (2.0, 0.0), (3.0, 1.0), (4.0, 1.0)]),
            1,
            Params { l2: 1.0, max_iter: 100 },
        );
        assert!(penalised.converged && penalised.std_errors.is_none(), "{penalised:?}");
    }

    #[test]
    fn fits_over_several_blocks_leave_the_rows_alone() {
        // two features, more rows than a block: the fit reads the rows where they are and leaves them alone
        let n = BLOCK_ROWS + 1000;
        let mut values = Vec::with_capacity(n * 3);
        for i in 0..n {
            let (a, b) = ((i % 97) as f64 / 10.0, (i % 13) as f64);
            let y = f64::from(u8::from((i * 7919) % 11 < 4 + (i % 97) / 20));
            values.extend_from_slice(&[a, b, y]);
        }
        let before = values.clone();
        let params = Params { l2: 0.0, max_iter: 100 };
        let fitted = fit_in_place(&mut values, 2, params);
        assert_eq!(values, before);
        assert!(fitted.converged, "{fitted:?}");
        assert_eq!(fitted.n, n);
    }
}

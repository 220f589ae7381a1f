//! `als_fit(user, item, feedback, factors, regularization, iterations [, alpha [, seed]])`:
//! implicit-feedback matrix factorisation per group.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float64Array, Float64Builder, Int64Builder, ListBuilder, StringBuilder, StructArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::als::{half_step, initial, loss, Rows, Settings};
use super::cooccurrence::by_user;
use crate::common::item_pairs::{self, HasItemPairs, ItemPairs};
use crate::common::{literal_arg, LiteralArg};
use crate::group_state::{GroupState, GroupsOf};

const NAME: &str = "als_fit";

/// At most this many user-factor values (users × factors) per group: 800 MB of f64.
const MAX_USER_VALUES: usize = 100_000_000;

/// The hash seed of user ids.
const SEED: u64 = 0x414c_5346;

#[user_doc(
    doc_section(label = "Recommendation Functions"),
    description = "Implicit-feedback matrix factorisation of a group by alternating least squares (Hu, Koren & Volinsky 2008, the model of Spark MLlib's implicit ALS and of the implicit library). \
r_ui is the sum of `feedback` over the user's rows of the item (purchases, spend); a cell with r > 0 has preference 1 and confidence c = 1 + alpha · r, every other cell preference 0 and confidence 1. \
The fit minimises Σ c (p − x_uᵀ y_i)² + regularization · (Σ ‖x_u‖² + Σ ‖y_i‖²) over user factors x_u and item factors y_i of length `factors`: \
each iteration solves every user's factors exactly given the items' (a Cholesky solve), then every item's given the users'. \
The item factors start at y_ik = 0.01 · u(seed, i, k), i the item's place in name order and u a SplitMix64 uniform (see the source), so a fit is the same for the same rows and seed on any machine. \
Returns the model struct {items (by name), item_factors (one list per item), factors, regularization, alpha, iterations, users, loss (the objective after the last iteration)}: \
the item side only — a user's factors are recomputed from their items when als_score scores them (the same solve), so the model stays small with millions of users. \
Rows with a NULL user, item or feedback, or a NaN feedback, are ignored; a negative or infinite feedback is an error; cells whose feedback sums to 0 are not preferences. \
A group without feedback gives NULL. factors (1 to 256), regularization (>= 0), iterations (0 to 1000), alpha (> 0, default 1) and seed (default 0) are literals. \
Memory: the group's rows (about 20 bytes each), the user factors during the fit (users × factors × 8 bytes; more than 100,000,000 values is an error) and the item factors.",
    syntax_example = "als_fit(user, item, feedback, factors, regularization, iterations [, alpha [, seed]])",
    sql_example = r#"```sql
> SELECT m['items'] AS items, m['users'] AS users, round(m['loss'], 4) AS loss
  FROM (SELECT als_fit(u, i, n, 2, 0.1, 10, 2.0, 7) AS m
        FROM (VALUES (1, 'a', 1), (1, 'b', 2), (2, 'a', 1), (2, 'c', 1), (3, 'b', 3), (3, 'c', 1)) t(u, i, n));
+-----------+-------+--------+
| items     | users | loss   |
+-----------+-------+--------+
| [a, b, c] | 3     | 2.1884 |
+-----------+-------+--------+
```"#,
    argument(name = "user", description = "User (customer) identifier of any type."),
    argument(name = "item", description = "Item (product): a string or an integer."),
    argument(
        name = "feedback",
        description = "Implicit feedback of the row, a number >= 0 (a purchase count, spend)."
    ),
    argument(name = "factors", description = "Number of latent factors, a literal from 1 to 256."),
    argument(name = "regularization", description = "The L2 penalty λ, a literal >= 0."),
    argument(name = "iterations", description = "Number of alternating iterations, a literal from 0 to 1000."),
    argument(name = "alpha", description = "Optional literal > 0 (default 1): the confidence per unit of feedback."),
    argument(name = "seed", description = "Optional literal integer (default 0) for the initial item factors.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AlsFit {
    signature: Signature,
}

impl Default for AlsFit {
    fn default() -> Self {
        Self::new()
    }
}

impl AlsFit {
    #[must_use]
    pub fn new() -> Self {
        let base = vec![
            DataType::Int64,
            DataType::Utf8,
            DataType::Float64,
            DataType::Int64,
            DataType::Float64,
            DataType::Int64,
        ];
        let with = |extra: &[DataType]| TypeSignature::Exact([base.clone(), extra.to_vec()].concat());
        Self {
            signature: Signature::one_of(
                vec![TypeSignature::UserDefined, with(&[]), with(&[DataType::Float64, DataType::Int64])],
                Volatility::Immutable,
            ),
        }
    }
}

/// The fields of the model struct als_fit returns and als_score reads.
pub(super) fn model_fields() -> Fields {
    Fields::from(vec![
        Field::new("items", DataType::new_list(DataType::Utf8, true), true),
        Field::new("item_factors", DataType::new_list(DataType::new_list(DataType::Float64, true), true), true),
        Field::new("factors", DataType::Int64, true),
        Field::new("regularization", DataType::Float64, true),
        Field::new("alpha", DataType::Float64, true),
        Field::new("iterations", DataType::Int64, true),
        Field::new("users", DataType::Int64, true),
        Field::new("loss", DataType::Float64, true),
    ])
}

impl AggregateUDFImpl for AlsFit {
    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(6..=8).contains(&arg_types.len()) {
            return plan_err!(
                "{NAME} takes 6 to 8 arguments (user, item, feedback, factors, regularization, iterations [, alpha [, seed]]), got {}",
                arg_types.len()
            );
        }
        let feedback = &arg_types[2];
        if !(feedback.is_numeric() || feedback.is_null()) {
            return plan_err!("{NAME}: feedback must be a number, got {feedback}");
        }
        let mut coerced = vec![arg_types[0].clone(), item_pairs::coerce_item(NAME, &arg_types[1])?, DataType::Float64];
        for (at, (what, integer)) in
            [("factors", true), ("regularization", false), ("iterations", true), ("alpha", false), ("seed", true)]
                .into_iter()
                .enumerate()
        {
            let Some(t) = arg_types.get(at + 3) else { break };
            let ok = if integer { t.is_integer() } else { t.is_numeric() };
            if !(ok || t.is_null()) {
                return plan_err!(
                    "{NAME}: {what} must be {}, got {t}",
                    if integer { "an integer" } else { "a number" }
                );
            }
            coerced.push(if integer { DataType::Int64 } else { DataType::Float64 });
        }
        Ok(coerced)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(model_fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(item_pairs::state_fields(args.name, true))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(GroupsOf::<Feedback>::new(Params::from_args(&args)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<Feedback>::new(Params::from_args(&args)?)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[derive(Debug, Clone, Copy)]
struct Params {
    settings: Settings,
    iterations: usize,
    seed: u64,
}

impl Params {
    fn from_args(args: &AccumulatorArgs) -> Result<Self> {
        let int = |at: usize, what: &str, range: std::ops::RangeInclusive<i64>, default: Option<i64>| -> Result<i64> {
            match (literal_arg(args.exprs, at), default) {
                (LiteralArg::Absent, Some(d)) => Ok(d),
                (LiteralArg::Value(ScalarValue::Int64(Some(v))), _) if range.contains(v) => Ok(*v),
                (LiteralArg::Value(v), _) => {
                    plan_err!("{NAME}: {what} must be from {} to {}, got {v}", range.start(), range.end())
                }
                _ => plan_err!("{NAME}: {what} must be a literal"),
            }
        };
        let float = |at: usize, what: &str, positive: bool, default: Option<f64>| -> Result<f64> {
            match (literal_arg(args.exprs, at), default) {
                (LiteralArg::Absent, Some(d)) => Ok(d),
                (LiteralArg::Value(ScalarValue::Float64(Some(v))), _)
                    if v.is_finite() && (*v > 0.0 || (!positive && *v == 0.0)) =>
                {
                    Ok(*v)
                }
                (LiteralArg::Value(v), _) => {
                    plan_err!(
                        "{NAME}: {what} must be a finite number {}, got {v}",
                        if positive { "> 0" } else { ">= 0" }
                    )
                }
                _ => plan_err!("{NAME}: {what} must be a literal"),
            }
        };
        let factors = int(3, "factors", 1..=256, None)? as usize;
        let regularization = float(4, "regularization", false, None)?;
        let iterations = int(5, "iterations", 0..=1000, None)? as usize;
        let alpha = float(6, "alpha", true, Some(1.0))?;
        let seed = int(7, "seed", i64::MIN..=i64::MAX, Some(0))? as u64;
        Ok(Self { settings: Settings { factors, regularization, alpha }, iterations, seed })
    }
}

/// The (user, item, feedback) rows of one group.
#[derive(Debug, Default)]
struct Feedback(ItemPairs);

impl HasItemPairs for Feedback {
    fn pairs(&self) -> &ItemPairs {
        &self.0
    }

    fn pairs_mut(&mut self) -> &mut ItemPairs {
        &mut self.0
    }
}

impl GroupState for Feedback {
    type Params = Params;

    fn update(
        _: &Params,
        groups: &mut [Self],
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> Result<()> {
        let Some(feedback) = values[2].as_any().downcast_ref::<Float64Array>() else {
            return exec_err!("{NAME}: feedback must be Float64");
        };
        let keep = |r: f64| {
            if r < 0.0 || r.is_infinite() {
                return exec_err!("{NAME}: feedback must be a finite number >= 0, got {r}");
            }
            Ok(!r.is_nan())
        };
        item_pairs::update(values, Some(feedback), SEED, groups, group_of, keep)
    }

    fn state(_: &Params, groups: &mut [Self]) -> Result<Vec<ArrayRef>> {
        item_pairs::state(NAME, groups, true)
    }

    fn merge(_: &Params, groups: &mut [Self], states: &[ArrayRef], group_of: impl Fn(usize) -> usize) -> Result<()> {
        item_pairs::merge(NAME, states, groups, group_of)
    }

    fn evaluate(params: &Params, groups: &mut [Self]) -> Result<ArrayRef> {
        let mut out = Output::default();
        for group in groups.iter() {
            match fit(params, &group.0)? {
                Some(model) => out.push(params, &model),
                None => out.push_null(),
            }
        }
        out.finish()
    }

    fn size(&self) -> usize {
        self.0.size()
    }
}

/// A fitted group: item names in name order, their factors (row-major), users and loss.
struct Model<'a> {
    items: Vec<&'a str>,
    factors: Vec<f64>,
    users: usize,
    loss: Option<f64>,
}

fn fit<'a>(params: &Params, pairs: &'a ItemPairs) -> Result<Option<Model<'a>>> {
    let settings = params.settings;
    let f = settings.factors;
    let cells = by_user(pairs);
    // items in name order; cells with a positive sum only
    let mut by_name: Vec<u32> = (0..pairs.names.len() as u32).collect();
    by_name.sort_unstable_by(|&a, &b| pairs.name(a).cmp(pairs.name(b)));
    let mut place = vec![0u32; by_name.len()];
    for (at, &id) in by_name.iter().enumerate() {
        place[id as usize] = at as u32;
    }
    let mut users = Rows { from: vec![0], ..Rows::default() };
    for u in 0..cells.from.len().saturating_sub(1) {
        for cell in cells.from[u]..cells.from[u + 1] {
            if cells.weights[cell] > 0.0 {
                users.cols.push(place[cells.items[cell] as usize]);
                users.values.push(cells.weights[cell]);
            }
        }
        if users.cols.len() > *users.from.last().unwrap_or(&0) {
            users.from.push(users.cols.len());
        }
    }
    let n_users = users.len();
    if n_users == 0 {
        return Ok(None);
    }
    if n_users.saturating_mul(f) > MAX_USER_VALUES {
        return exec_err!(
            "{NAME}: {n_users} users × {f} factors is more than {MAX_USER_VALUES} values; fit on a sample of users or with fewer factors"
        );
    }
    let n_items = by_name.len();
    let items = users.transpose(n_items);
    let mut y: Vec<f64> = (0..n_items * f).map(|at| 0.01 * initial(params.seed, at / f, at % f, f)).collect();
    let mut x = vec![0.0; n_users * f];
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let singular = |side: &str, row: usize| {
        exec_err!("{NAME}: the least-squares system of {side} {row} is singular; use regularization > 0")
    };
    for _ in 0..params.iterations {
        if let Err(u) = half_step(settings, &users, &y, &mut x, threads) {
            return singular("user", u);
        }
        if let Err(i) = half_step(settings, &items, &x, &mut y, threads) {
            return singular("item", i);
        }
    }
    let loss = (params.iterations > 0).then(|| loss(settings, &users, &x, &y));
    Ok(Some(Model { items: by_name.iter().map(|&id| pairs.name(id)).collect(), factors: y, users: n_users, loss }))
}

/// The model column under construction.
#[derive(Default)]
struct Output {
    valid: Vec<bool>,
    items: ListBuilder<StringBuilder>,
    item_factors: ListBuilder<ListBuilder<Float64Builder>>,
    factors: Int64Builder,
    regularization: Float64Builder,
    alpha: Float64Builder,
    iterations: Int64Builder,
    users: Int64Builder,
    loss: Float64Builder,
}

impl Output {
    fn push(&mut self, params: &Params, model: &Model<'_>) {
        let f = params.settings.factors;
        self.valid.push(true);
        for item in &model.items {
            self.items.values().append_value(item);
        }
        self.items.append(true);
        for row in model.factors.chunks_exact(f) {
            self.item_factors.values().values().append_slice(row);
            self.item_factors.values().append(true);
        }
        self.item_factors.append(true);
        self.factors.append_value(f as i64);
        self.regularization.append_value(params.settings.regularization);
        self.alpha.append_value(params.settings.alpha);
        self.iterations.append_value(params.iterations as i64);
        self.users.append_value(model.users as i64);
        self.loss.append_option(model.loss);
    }

    fn push_null(&mut self) {
        self.valid.push(false);
        self.items.append_null();
        self.item_factors.append_null();
        self.factors.append_null();
        self.regularization.append_null();
        self.alpha.append_null();
        self.iterations.append_null();
        self.users.append_null();
        self.loss.append_null();
    }

    fn finish(mut self) -> Result<ArrayRef> {
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.items.finish()),
            Arc::new(self.item_factors.finish()),
            Arc::new(self.factors.finish()),
            Arc::new(self.regularization.finish()),
            Arc::new(self.alpha.finish()),
            Arc::new(self.iterations.finish()),
            Arc::new(self.users.finish()),
            Arc::new(self.loss.finish()),
        ];
        let nulls = NullBuffer::from(self.valid);
        let nulls = (nulls.null_count() > 0).then_some(nulls);
        Ok(Arc::new(StructArray::try_new(model_fields(), children, nulls)?))
    }
}

//! `item_similarity_weighted(user, item, weight [, min_co_users])`: weighted cosine similarities per group.

use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::cooccurrence::{pairs_type, Params, Users};
use crate::common::item_pairs;
use crate::group_state::GroupsOf;

const NAME: &str = "item_similarity_weighted";

#[user_doc(
    doc_section(label = "Recommendation Functions"),
    description = "Item-item cosine similarities of a group from weighted (user, item, weight) rows, e.g. spend or quantity: w_ua is the sum of the weights on user u's rows of item a, and score = Σ_u w_ua · w_ub / sqrt(Σ_u w_ua² · Σ_u w_ub²), the cosine of the items' weight vectors. Returns the list item_similarity returns — {item_a, item_b, co_users, score} for every ordered pair a ≠ b with at least min_co_users users holding both, ordered by item_a, then score descending, then item_b. Rows with a NULL user, item or weight, or a NaN weight, are ignored; an infinite weight is an error; a pair whose items have only zero weights has a NULL score. Users, items and memory as in item_similarity (8 more bytes per row for the weight).",
    syntax_example = "item_similarity_weighted(user, item, weight [, min_co_users])",
    sql_example = r#"```sql
> SELECT s['item_a'] AS a, s['item_b'] AS b, s['co_users'] AS co, round(s['score'], 4) AS score
  FROM (SELECT unnest(item_similarity_weighted(u, i, w)) AS s
        FROM (VALUES (1, 'a', 1.0), (1, 'a', 1.0), (1, 'b', 1.0), (2, 'a', 1.0), (2, 'b', 3.0), (3, 'c', 5.0), (3, 'a', 1.0)) t(u, i, w));
+---+---+----+--------+
| a | b | co | score  |
+---+---+----+--------+
| a | b | 2  | 0.6455 |
| a | c | 1  | 0.4082 |
| b | a | 2  | 0.6455 |
| c | a | 1  | 0.4082 |
+---+---+----+--------+
```"#,
    argument(name = "user", description = "User (customer) identifier of any type."),
    argument(name = "item", description = "Item (product): a string or an integer."),
    argument(name = "weight", description = "The row's weight, a number (spend, quantity, rating)."),
    argument(
        name = "min_co_users",
        description = "Optional literal >= 1 (default 1): pairs with fewer common users are left out."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ItemSimilarityWeighted {
    signature: Signature,
}

impl Default for ItemSimilarityWeighted {
    fn default() -> Self {
        Self::new()
    }
}

impl ItemSimilarityWeighted {
    #[must_use]
    pub fn new() -> Self {
        // UserDefined coerces; the Exact variants document the argument types for SHOW FUNCTIONS
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::Int64, DataType::Utf8, DataType::Float64]),
                    TypeSignature::Exact(vec![DataType::Int64, DataType::Utf8, DataType::Float64, DataType::Int64]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl AggregateUDFImpl for ItemSimilarityWeighted {
    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(3..=4).contains(&arg_types.len()) {
            return plan_err!(
                "{NAME} takes 3 or 4 arguments (user, item, weight [, min_co_users]), got {}",
                arg_types.len()
            );
        }
        let weight = &arg_types[2];
        if !(weight.is_numeric() || weight.is_null()) {
            return plan_err!("{NAME}: weight must be a number, got {weight}");
        }
        let mut coerced = vec![arg_types[0].clone(), item_pairs::coerce_item(NAME, &arg_types[1])?, DataType::Float64];
        if let Some(min) = arg_types.get(3) {
            if !min.is_integer() {
                return plan_err!("{NAME}: min_co_users must be an integer, got {min}");
            }
            coerced.push(DataType::Int64);
        }
        Ok(coerced)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(pairs_type())
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(item_pairs::state_fields(args.name, true))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(GroupsOf::<Users>::new(Params::from_args(NAME, &args, true)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<Users>::new(Params::from_args(NAME, &args, true)?)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

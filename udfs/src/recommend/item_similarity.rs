//! `item_similarity(user, item [, measure [, min_co_users]])`: item-item similarities per group.

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

const NAME: &str = "item_similarity";

#[user_doc(
    doc_section(label = "Recommendation Functions"),
    description = "Item-item similarities of a group from implicit (user, item) rows, for item-based collaborative filtering. \
Each user is the set of items on their rows (a repeated row counts once); for two items a and b, c is the number of users holding both, n_a and n_b the users holding each, \
N the users of the group. Returns a list of structs {item_a, item_b, co_users = c, score} for every ordered pair a ≠ b with c >= min_co_users, \
ordered by item_a, then score descending, then item_b (both directions are listed, so the neighbours of an item are one contiguous run). \
measure: 'cosine' (default) c / sqrt(n_a · n_b), the cosine of the binary user vectors; 'jaccard' c / (n_a + n_b − c); 'lift' c · N / (n_a · n_b); \
'conditional' c / n_a, the share of a's users who also hold b (asymmetric). \
Rows with a NULL user or item are ignored. Items are compared as strings (integers as their decimal text); users of any type are compared by a 64-bit hash \
(two different ids collide with probability about 2^-64 per pair). The group's rows are kept in memory (about 12 bytes each plus the distinct item names, counted in the memory pool); \
evaluation adds two indexes of the distinct cells and counts co-occurrences one item at a time (time Σ k_u² over users with k_u items), and more than 20,000,000 pairs in a group is an error. \
recommend_items scores users from the list; get rows with `unnest`. An empty group gives an empty list.",
    syntax_example = "item_similarity(user, item [, measure [, min_co_users]])",
    sql_example = r#"```sql
> SELECT s['item_a'] AS a, s['item_b'] AS b, s['co_users'] AS co, round(s['score'], 4) AS score
  FROM (SELECT unnest(item_similarity(u, i)) AS s
        FROM (VALUES (1, 'a'), (1, 'b'), (1, 'a'), (2, 'a'), (2, 'b'), (3, 'a'), (3, 'c'), (4, 'b')) t(u, i));
+---+---+----+--------+
| a | b | co | score  |
+---+---+----+--------+
| a | b | 2  | 0.6667 |
| a | c | 1  | 0.5774 |
| b | a | 2  | 0.6667 |
| c | a | 1  | 0.5774 |
+---+---+----+--------+
```"#,
    argument(name = "user", description = "User (customer) identifier of any type."),
    argument(name = "item", description = "Item (product) the user holds or bought: a string or an integer."),
    argument(
        name = "measure",
        description = "Optional literal: 'cosine' (default), 'jaccard', 'lift' or 'conditional'."
    ),
    argument(
        name = "min_co_users",
        description = "Optional literal >= 1 (default 1): pairs with fewer common users are left out."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ItemSimilarity {
    signature: Signature,
}

impl Default for ItemSimilarity {
    fn default() -> Self {
        Self::new()
    }
}

impl ItemSimilarity {
    #[must_use]
    pub fn new() -> Self {
        // UserDefined coerces; the Exact variants document the argument types for SHOW FUNCTIONS
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::Int64, DataType::Utf8]),
                    TypeSignature::Exact(vec![DataType::Int64, DataType::Utf8, DataType::Utf8, DataType::Int64]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl AggregateUDFImpl for ItemSimilarity {
    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(2..=4).contains(&arg_types.len()) {
            return plan_err!(
                "{NAME} takes 2 to 4 arguments (user, item [, measure [, min_co_users]]), got {}",
                arg_types.len()
            );
        }
        let mut coerced = vec![arg_types[0].clone(), item_pairs::coerce_item(NAME, &arg_types[1])?];
        if let Some(measure) = arg_types.get(2) {
            if !matches!(measure, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
                return plan_err!("{NAME}: measure must be a string, got {measure}");
            }
            coerced.push(DataType::Utf8);
        }
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
        Ok(item_pairs::state_fields(args.name, false))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(GroupsOf::<Users>::new(Params::from_args(NAME, &args, false)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<Users>::new(Params::from_args(NAME, &args, false)?)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

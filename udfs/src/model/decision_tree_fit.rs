//! `decision_tree_fit(label, features [, max_depth [, min_samples_leaf [, criterion]]])`: a
//! classification tree per group.

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::cart::{grow, tree_array, tree_fields, Criterion, Growth};
use super::labelled_rows_state::{self, LabelledRows, RowsModel};
use super::regression_args::{self, literal_f64};
use crate::common::{aggregate_reading_columns, literal_arg, LiteralArg};
use crate::group_state::GroupsOf;

const NAME: &str = "decision_tree_fit";
const USAGE: &str = "label, features [, max_depth [, min_samples_leaf [, criterion]]]";

#[user_doc(
    doc_section(label = "Model Functions"),
    description = "Grows a classification tree (CART) on the rows of a group, as scikit-learn's DecisionTreeClassifier with the best splitter: \
a node is split at the threshold that most lowers the weighted impurity of its children — over every feature and every midpoint x_lo / 2 + x_hi / 2 between consecutive distinct values — \
rows with x <= threshold go left; it stays a leaf at max_depth, with fewer than 2 · min_samples_leaf rows, when pure, or when no split leaves min_samples_leaf rows on each side. \
Ties between equally good splits keep the lower feature, then the lower threshold (scikit-learn breaks them by a random feature order). \
criterion: 'gini' (default, 1 − p² − (1 − p)²) or 'entropy' (in bits). \
Returns {nodes, depth, leaves, criterion, n}: nodes numbered from 0 depth first, left before right (as scikit-learn's tree_), each {feature (1-based place in the feature list, NULL for a leaf), \
threshold, left, right (child node numbers), samples, positives (rows with label 1), probability = positives / samples, impurity}. \
decision_tree_predict scores rows with it, decision_tree_rules prints it. The label is boolean or 0/1 (another value is an error); rows with a NULL or NaN label or feature are left out; \
a group without rows gives NULL. The rows are kept in memory (8 bytes per feature and label, counted in the pool). max_depth (1 to 30, default 5) and min_samples_leaf (>= 1, default 1) are literals.",
    syntax_example = "decision_tree_fit(label, features [, max_depth [, min_samples_leaf [, criterion]]])",
    sql_example = r#"```sql
> SELECT t['depth'] AS depth, t['leaves'] AS leaves, t['nodes'][1]['feature'] AS feature, t['nodes'][1]['threshold'] AS threshold
  FROM (SELECT decision_tree_fit(y, [x, z], 2) AS t
        FROM (VALUES (1, 5, 0), (2, 3, 0), (3, 8, 0), (10, 1, 1), (11, 9, 1), (12, 4, 0)) v(x, z, y));
+-------+--------+---------+-----------+
| depth | leaves | feature | threshold |
+-------+--------+---------+-----------+
| 2     | 3      | 1       | 6.5       |
+-------+--------+---------+-----------+
```"#,
    argument(name = "label", description = "The class: a boolean or 0/1."),
    argument(
        name = "features",
        description = "Array of numbers, the same length on every row. A struct of numbers (struct(x1, x2), a struct column) is read the same way, field by field; an array literal [x1, x2] is read column by column, without building the arrays."
    ),
    argument(
        name = "max_depth",
        description = "Optional literal from 1 to 30 (default 5): the deepest level of a split."
    ),
    argument(name = "min_samples_leaf", description = "Optional literal >= 1 (default 1): the fewest rows of a leaf."),
    argument(name = "criterion", description = "Optional literal 'gini' (default) or 'entropy'.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DecisionTreeFit {
    signature: Signature,
}

impl Default for DecisionTreeFit {
    fn default() -> Self {
        Self::new()
    }
}

impl DecisionTreeFit {
    #[must_use]
    pub fn new() -> Self {
        let features = DataType::new_list(DataType::Float64, true);
        let with = |extra: &[DataType]| {
            TypeSignature::Exact([vec![DataType::Boolean, features.clone()], extra.to_vec()].concat())
        };
        Self {
            signature: Signature::one_of(
                vec![TypeSignature::UserDefined, with(&[]), with(&[DataType::Int64, DataType::Int64, DataType::Utf8])],
                Volatility::Immutable,
            ),
        }
    }
}

impl AggregateUDFImpl for DecisionTreeFit {
    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() > 5 {
            return plan_err!("{NAME} takes 2 to 5 arguments ({USAGE}), got {}", arg_types.len());
        }
        let numeric = &arg_types[..arg_types.len().min(4)];
        let mut coerced = regression_args::coerce(NAME, USAGE, numeric, &[DataType::Int64, DataType::Int64])?;
        if let Some(criterion) = arg_types.get(4) {
            if !matches!(criterion, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
                return plan_err!("{NAME}: criterion must be a string, got {criterion}");
            }
            coerced.push(DataType::Utf8);
        }
        Ok(coerced)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(tree_fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(labelled_rows_state::state_fields(args.name))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(GroupsOf::<LabelledRows<Tree>>::new(growth(&args)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsOf::<LabelledRows<Tree>>::new(growth(&args)?)))
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        Some(aggregate_reading_columns(1))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn growth(args: &AccumulatorArgs) -> Result<Growth> {
    let max_depth = literal_f64(NAME, args, 2, "max_depth", 5.0)?;
    if !(1.0..=30.0).contains(&max_depth) || max_depth.fract() != 0.0 {
        return plan_err!("{NAME}: max_depth must be a whole number from 1 to 30, got {max_depth}");
    }
    let min_samples_leaf = literal_f64(NAME, args, 3, "min_samples_leaf", 1.0)?;
    if min_samples_leaf < 1.0 || min_samples_leaf.fract() != 0.0 || min_samples_leaf > 1e15 {
        return plan_err!("{NAME}: min_samples_leaf must be a whole number >= 1, got {min_samples_leaf}");
    }
    let criterion = match literal_arg(args.exprs, 4) {
        LiteralArg::Absent => Criterion::Gini,
        LiteralArg::Value(ScalarValue::Utf8(Some(c))) => match c.to_ascii_lowercase().as_str() {
            "gini" => Criterion::Gini,
            "entropy" => Criterion::Entropy,
            other => return plan_err!("{NAME}: criterion must be 'gini' or 'entropy', got '{other}'"),
        },
        LiteralArg::Value(other) => return plan_err!("{NAME}: criterion must be 'gini' or 'entropy', got {other}"),
        LiteralArg::NotLiteral => return plan_err!("{NAME}: criterion must be a literal"),
    };
    Ok(Growth { max_depth: max_depth as usize, min_samples_leaf: min_samples_leaf as usize, criterion })
}

/// The rows of a group and their tree.
#[derive(Debug)]
struct Tree;

impl RowsModel for Tree {
    const NAME: &'static str = NAME;
    type Params = Growth;

    fn evaluate(growth: &Growth, groups: &mut [LabelledRows<Self>]) -> Result<ArrayRef> {
        let trees: Vec<_> = groups
            .iter_mut()
            .map(|g| match g.dim {
                Some(dim) if g.len() > 0 => Some((grow(g.rows(), dim, *growth), growth.criterion)),
                _ => None,
            })
            .collect();
        tree_array(NAME, &trees)
    }
}

//! `category_novelty(category) OVER (PARTITION BY customer ORDER BY ts)`: how new a merchant
//! category (a channel, a device) is for the customer — 1 at its first use.

use std::collections::HashMap;
use std::ops::Range;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type, Int64Type};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Documentation, PartitionEvaluator, Signature, TypeSignature, Volatility, WindowUDFImpl,
};
use datafusion_macros::user_doc;

use super::running::{RowScorer, Running};

#[user_doc(
    doc_section(label = "Fraud Functions"),
    description = "How new each row's value is against the earlier rows of its partition in the window's ORDER BY: \
novelty = 1 − c / N, where N is the number of earlier rows with a non-NULL value and c the number of those equal to this row's value. \
1 is a first use (a merchant category, channel or device the customer never used before), 0 a customer who only ever used this one. \
NULL when the value is NULL (NULL rows are not counted in N) or when N = 0 (the partition's first row: nothing to be new against). \
Ties in the ORDER BY are taken in the order DataFusion delivers them: order by a unique key as well (a transaction id) for a reproducible answer. \
The window frame is ignored (as for lag); it streams over sorted input holding one count per distinct value of the current partition.",
    syntax_example = "category_novelty(category) OVER (PARTITION BY customer ORDER BY ts)",
    sql_example = r#"```sql
> SELECT t, category, round(category_novelty(category) OVER (ORDER BY t), 3) AS novelty
  FROM (VALUES (1, 'food'), (2, 'food'), (3, 'travel'), (4, 'food'), (5, 'jewellery')) v(t, category);
+---+-----------+---------+
| t | category  | novelty |
+---+-----------+---------+
| 1 | food      | NULL    |
| 2 | food      | 0.0     |
| 3 | travel    | 1.0     |
| 4 | food      | 0.333   |
| 5 | jewellery | 1.0     |
+---+-----------+---------+
```"#,
    argument(
        name = "category",
        description = "A string or an integer: a merchant category, a channel, a device id (any other type — a float, a date — is compared as its text)."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CategoryNovelty {
    signature: Signature,
}

impl Default for CategoryNovelty {
    fn default() -> Self {
        Self::new()
    }
}

impl CategoryNovelty {
    #[must_use]
    pub fn new() -> Self {
        // the Exact form names an argument type for SHOW FUNCTIONS (an Int64 form would also let floats
        // through, truncated); coerce_types keeps a string's layout and takes integers as Int64
        Self {
            signature: Signature::one_of(
                vec![TypeSignature::UserDefined, TypeSignature::Exact(vec![DataType::Utf8])],
                Volatility::Immutable,
            ),
        }
    }
}

impl WindowUDFImpl for CategoryNovelty {
    fn name(&self) -> &'static str {
        "category_novelty"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [t] => match key_type(t) {
                Some(key) => Ok(vec![key]),
                None => plan_err!("category_novelty: category must be a string or an integer, got {t}"),
            },
            _ => plan_err!("category_novelty takes 1 argument (category), got {}", arg_types.len()),
        }
    }

    fn partition_evaluator(&self, _args: PartitionEvaluatorArgs) -> Result<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(Running::new(Seen::default(), 0)))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Field::new(field_args.name(), DataType::Float64, true).into())
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// The type a category is compared in: strings in their own layout (a dictionary as its values),
/// integers (and NULL) as Int64.
fn key_type(t: &DataType) -> Option<DataType> {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(t.clone()),
        DataType::Dictionary(_, value) => key_type(value),
        t if t.is_integer() || t.is_null() => Some(DataType::Int64),
        _ => None,
    }
}

/// The values of the partition so far, with their counts.
#[derive(Debug, Default)]
struct Seen {
    text: HashMap<Box<str>, u64>,
    integers: HashMap<i64, u64>,
    total: u64,
}

impl Seen {
    fn novelty(&self, count: u64) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        (self.total > 0).then(|| 1.0 - count as f64 / self.total as f64)
    }
}

impl RowScorer for Seen {
    type Output = Float64Type;

    fn score(&mut self, values: &[ArrayRef], _history: Range<usize>, row: usize) -> Result<Option<f64>> {
        let column = &values[0];
        if column.is_null(row) {
            return Ok(None);
        }
        let text = match column.data_type() {
            DataType::Utf8 => Some(column.as_string::<i32>().value(row)),
            DataType::LargeUtf8 => Some(column.as_string::<i64>().value(row)),
            DataType::Utf8View => Some(column.as_string_view().value(row)),
            _ => None,
        };
        let seen = if let Some(value) = text {
            if let Some(count) = self.text.get_mut(value) {
                *count += 1;
                *count - 1
            } else {
                self.text.insert(value.into(), 1);
                0
            }
        } else if let Some(integers) = column.as_primitive_opt::<Int64Type>() {
            let count = self.integers.entry(integers.value(row)).or_insert(0);
            *count += 1;
            *count - 1
        } else {
            return exec_err!("category_novelty: category must be a string or an integer, got {}", column.data_type());
        };
        let score = self.novelty(seen);
        self.total += 1;
        Ok(score)
    }
}

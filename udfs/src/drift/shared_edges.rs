//! `shared_edges(edges)`: cut points dictionary-encoded, so a list that is the same on every row
//! is held once per batch.

use std::sync::Arc;

use arrow::array::{Array, DictionaryArray, Int32Array};
use arrow::datatypes::{DataType, Int32Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

/// The type `shared_edges` returns and `psi_histogram` reads without copying a list per row.
pub(crate) fn shared_edges_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::new_list(DataType::Float64, true)))
}

#[user_doc(
    doc_section(label = "Drift Functions"),
    description = "The cut points unchanged, dictionary-encoded (Dictionary(Int32, List(Float64))): a list that is the same on every row is then \
held once per batch instead of copied to every row. Use it on the one row of baseline cut points that a wide table is cross-joined with \
(SELECT shared_edges(psi_edges(age, 10)) AS age ... ; psi_histogram(c.age, e.age) FROM features c CROSS JOIN edges e, as in \
sql/drift_monitor.sql): the join repeats a dictionary key for each row, where a plain list would be copied to every row. psi_histogram wraps \
edges from a scalar subquery or a literal itself (the optimizer rewrites psi_histogram(v, e) to psi_histogram(v, shared_edges(e))). A column \
of lists is wrapped as it is (one dictionary entry per row, no copy); NULL stays NULL. On a Ballista cluster use it inside a query, not as a \
result column: the cluster returns a dictionary of lists as a plain list, which does not match the planned result type.",
    syntax_example = "shared_edges(edges)",
    sql_example = r#"```sql
> SELECT shared_edges([1, 2.5]) AS edges, arrow_typeof(shared_edges([1, 2.5])) = 'Dictionary(Int32, List(Float64))' AS encoded;
+------------+---------+
| edges      | encoded |
+------------+---------+
| [1.0, 2.5] | true    |
+------------+---------+
```"#,
    argument(name = "edges", description = "A list of numbers (cut points).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SharedEdges {
    signature: Signature,
}

impl Default for SharedEdges {
    fn default() -> Self {
        Self::new()
    }
}

impl SharedEdges {
    #[must_use]
    pub fn new() -> Self {
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![DataType::new_list(DataType::Float64, true)]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for SharedEdges {
    fn name(&self) -> &'static str {
        "shared_edges"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)]
                if f.data_type().is_numeric() || f.data_type().is_null() =>
            {
                Ok(vec![DataType::new_list(DataType::Float64, true)])
            }
            [DataType::Null] => Ok(vec![DataType::new_list(DataType::Float64, true)]),
            _ => plan_err!("shared_edges takes one list of numbers, got {arg_types:?}"),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(shared_edges_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [edges] = args.args.as_slice() else {
            return exec_err!("shared_edges takes one argument, got {}", args.args.len());
        };
        match edges {
            ColumnarValue::Scalar(value) => {
                // a NULL list of the right type, so the dictionary's values have the list type
                let value = if value.is_null() {
                    ScalarValue::try_from(&DataType::new_list(DataType::Float64, true))?
                } else {
                    value.clone()
                };
                Ok(ColumnarValue::Scalar(ScalarValue::Dictionary(Box::new(DataType::Int32), Box::new(value))))
            }
            ColumnarValue::Array(values) => {
                let Ok(n) = i32::try_from(values.len()) else {
                    return exec_err!("shared_edges: a batch of {} rows is more than 2^31 - 1", values.len());
                };
                // key i is row i; a NULL row is a NULL key
                let keys = Int32Array::new((0..n).collect(), values.logical_nulls());
                let dictionary: DictionaryArray<Int32Type> = DictionaryArray::try_new(keys, Arc::clone(values))?;
                Ok(ColumnarValue::Array(Arc::new(dictionary)))
            }
        }
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

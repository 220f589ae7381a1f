//! `woe(value, table)`: the weight of evidence of a value's bin in a woe_table result.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Builder, StructArray};
use arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::woe_table::woe_fields;

const NAME: &str = "woe";

#[user_doc(
    doc_section(label = "Evaluation Functions"),
    description = "The weight of evidence of the bin a value falls in, from a table that woe_table returned (usually a scalar subquery), \
so a model can be trained on WoE-coded features and a lake scored with them. A number falls in the first numeric bin of the table whose \
interval holds it ([lower, upper), or (lower, upper] for a table made with right_closed = true, as its bin labels show); a string or boolean \
in the bin of that category or of the group that lists it (a bin labelled 'a%,%b' holds a and b); NULL and NaN in the 'missing' bin. A value whose bin is not in the table (no training row fell there) or a NULL table gives NULL. \
A table read from a scalar subquery is read once, not per row.",
    syntax_example = "woe(value, table)",
    sql_example = r#"```sql
> WITH t AS (SELECT * FROM (VALUES (5, 0), (10, 1), (20, 1), (7, 0), (12, 0)) t(x, y))
  SELECT x, round(woe(x, (SELECT woe_table(x, y, [10]) FROM t)), 4) AS woe FROM t ORDER BY x;
+----+---------+
| x  | woe     |
+----+---------+
| 5  | -0.7646 |
| 7  | -0.7646 |
| 10 | 0.727   |
| 12 | 0.727   |
| 20 | 0.727   |
+----+---------+
```"#,
    argument(
        name = "value",
        description = "The value to code: a number, a string or a boolean, as the table was made from."
    ),
    argument(name = "table", description = "A woe_table result: a list of {bin, lower, upper, …, woe} structs.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Woe {
    signature: Signature,
}

impl Default for Woe {
    fn default() -> Self {
        Self::new()
    }
}

impl Woe {
    #[must_use]
    pub fn new() -> Self {
        let table = DataType::new_list(DataType::Struct(woe_fields()), true);
        Self {
            signature: Signature::one_of(
                vec![TypeSignature::UserDefined, TypeSignature::Exact(vec![DataType::Float64, table])],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for Woe {
    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [value, table] = arg_types else {
            return plan_err!("{NAME} takes 2 arguments (value, table), got {}", arg_types.len());
        };
        let value = match value {
            t if t.is_numeric() || t.is_null() => DataType::Float64,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
            DataType::Boolean => DataType::Boolean,
            t => return plan_err!("{NAME}: value must be a number, a string or a boolean, got {t}"),
        };
        let ok = matches!(table, DataType::List(f) if matches!(f.data_type(), DataType::Struct(fs)
            if ["bin", "lower", "upper", "woe"].iter().all(|n| fs.iter().any(|x| x.name() == n))));
        if !ok {
            return plan_err!("{NAME}: table must be a woe_table result (a list of structs with bin, lower, upper and woe), got {table}");
        }
        Ok(vec![value, table.clone()])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = crate::common::evaluated_rows(&args.args, args.number_rows);
        let values = args.args[0].to_array(rows)?;
        let constant = match &args.args[1] {
            ColumnarValue::Scalar(table) => Some(Bins::of(&table.to_array_of_size(1)?, 0)?),
            ColumnarValue::Array(_) => None,
        };
        let tables = match &args.args[1] {
            ColumnarValue::Array(a) => Some(Arc::clone(a)),
            ColumnarValue::Scalar(_) => None,
        };
        let text = |i: usize| -> Option<String> {
            if values.is_null(i) {
                return None;
            }
            match values.data_type() {
                DataType::Utf8 => Some(values.as_string::<i32>().value(i).to_string()),
                DataType::Boolean => Some(values.as_boolean().value(i).to_string()),
                _ => None,
            }
        };
        let mut out = Float64Builder::with_capacity(rows);
        // a table column from a join repeats a few tables over many rows: each distinct table
        // of the batch is parsed once (up to 64 kept, compared by value)
        let mut seen: Vec<(ArrayRef, Bins)> = Vec::new();
        for i in 0..rows {
            let bins = match (&constant, &tables) {
                (Some(bins), _) => bins,
                (None, Some(tables)) => {
                    let list = tables.as_list::<i32>();
                    if list.is_null(i) {
                        out.append_null();
                        continue;
                    }
                    let entry = list.value(i);
                    let at = match seen.iter().position(|(table, _)| table.as_ref() == entry.as_ref()) {
                        Some(at) => at,
                        None => {
                            if seen.len() == 64 {
                                seen.remove(0);
                            }
                            seen.push((Arc::clone(&entry), Bins::of(tables, i)?));
                            seen.len() - 1
                        }
                    };
                    &seen[at].1
                }
                (None, None) => return exec_err!("{NAME}: no table"),
            };
            let woe = if values.data_type() == &DataType::Float64 {
                let v = values.as_primitive::<Float64Type>();
                bins.number(v.is_valid(i).then(|| v.value(i)))
            } else {
                bins.category(text(i).as_deref())
            };
            out.append_option(woe);
        }
        let result: ArrayRef = Arc::new(out.finish());
        if args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
        }
        Ok(ColumnarValue::Array(result))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// One bin of a table: (label, lower, upper, woe).
type Bin = (String, Option<f64>, Option<f64>, Option<f64>);

/// One table's bins, in the table's order.
struct Bins(Vec<Bin>);

impl Bins {
    fn of(tables: &ArrayRef, row: usize) -> Result<Self> {
        let list = tables.as_list::<i32>();
        if list.is_null(row) {
            return Ok(Self(Vec::new()));
        }
        let entries = list.value(row);
        let Some(structs) = entries.as_any().downcast_ref::<StructArray>() else {
            return exec_err!("{NAME}: the table must be a list of structs");
        };
        let column = |name: &str| -> Result<ArrayRef> {
            match structs.column_by_name(name) {
                Some(c) => {
                    Ok(arrow::compute::cast(c, if name == "bin" { &DataType::Utf8 } else { &DataType::Float64 })?)
                }
                None => exec_err!("{NAME}: the table has no field '{name}'"),
            }
        };
        let (bin, lower, upper, woe) = (column("bin")?, column("lower")?, column("upper")?, column("woe")?);
        let (bin, lower, upper, woe) = (
            bin.as_string::<i32>(),
            lower.as_primitive::<Float64Type>(),
            upper.as_primitive::<Float64Type>(),
            woe.as_primitive::<Float64Type>(),
        );
        let float = |a: &arrow::array::Float64Array, i: usize| a.is_valid(i).then(|| a.value(i));
        Ok(Self(
            (0..structs.len())
                .filter(|&i| structs.is_valid(i) && bin.is_valid(i))
                .map(|i| (bin.value(i).to_string(), float(lower, i), float(upper, i), float(woe, i)))
                .collect(),
        ))
    }

    fn missing(&self) -> Option<f64> {
        // the missing bin is the table's last; a category named "missing" sorts before it
        self.0.iter().rev().find(|(label, lower, _, _)| label == "missing" && lower.is_none()).and_then(|b| b.3)
    }

    fn number(&self, value: Option<f64>) -> Option<f64> {
        let Some(v) = value.filter(|v| !v.is_nan()) else { return self.missing() };
        self.0
            .iter()
            .find(|(label, lower, upper, _)| match (lower, upper) {
                (Some(lo), Some(hi)) if label.ends_with(']') => *lo < v && v <= *hi,
                (Some(lo), Some(hi)) => *lo <= v && v < *hi,
                _ => false,
            })
            .and_then(|b| b.3)
    }

    fn category(&self, value: Option<&str>) -> Option<f64> {
        let Some(v) = value else { return self.missing() };
        // a group's label lists its categories joined by '%,%'; a single category is its own label
        let holds = |label: &str| label.split("%,%").any(|c| c == v);
        self.0.iter().find(|(label, lower, _, _)| lower.is_none() && holds(label)).and_then(|b| b.3)
    }
}

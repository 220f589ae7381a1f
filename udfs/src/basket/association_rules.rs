//! `association_rules(itemsets, min_confidence [, min_lift])`: rules from frequent itemsets.

use datafusion::common::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, ListArray, StringArray, StructArray};
use arrow::datatypes::{DataType, Field, Fields, Float64Type};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::frequent_itemsets::itemsets_type;
use super::rule_metrics::rule_metrics;
use crate::common::ListOffsets;

/// Itemsets longer than this are not split into rules (2^20 splits each).
const MAX_RULE_ITEMS: usize = 20;

#[user_doc(
    doc_section(label = "Basket Functions"),
    description = "Association rules A -> C from the output of frequent_itemsets: for every itemset of two or more items, every split into a non-empty \
antecedent A and consequent C, with the supports of A, C and A ∪ C looked up in the same list, as mlxtend's association_rules. \
Returns a list of structs {antecedents, consequents, antecedent_support, consequent_support, support, confidence, lift, leverage, conviction, zhangs_metric} \
with the definitions of rule_stats (confidence = support / antecedent_support; lift = confidence / consequent_support; leverage = support - antecedent_support * consequent_support; \
conviction = (1 - consequent_support) / (1 - confidence), +infinity when confidence is 1; zhangs_metric = leverage / max(support (1 - antecedent_support), antecedent_support (consequent_support - support)), 0 when that is 0), \
keeping rules with confidence >= min_confidence and, if given, lift >= min_lift; ordered by antecedents, then consequents. \
Splits whose parts are missing from the list are skipped; itemsets of more than 20 items are an error. NULL itemsets give NULL. \
Get rows with `SELECT unnest(association_rules(...))`.",
    syntax_example = "association_rules(itemsets, min_confidence [, min_lift])",
    sql_example = r#"```sql
> SELECT r['antecedents'] AS a, r['consequents'] AS c, r['confidence'] AS confidence, r['lift'] AS lift, r['conviction'] AS conviction
  FROM (SELECT unnest(association_rules(frequent_itemsets(basket, item, 0.5), 0.6)) AS r
        FROM (VALUES (1, 'milk'), (1, 'bread'), (2, 'milk'), (2, 'bread'), (3, 'milk'), (4, 'eggs')) t(basket, item));
+---------+---------+--------------------+--------------------+--------------------+
| a       | c       | confidence         | lift               | conviction         |
+---------+---------+--------------------+--------------------+--------------------+
| [bread] | [milk]  | 1.0                | 1.3333333333333333 | inf                |
| [milk]  | [bread] | 0.6666666666666666 | 1.3333333333333333 | 1.4999999999999998 |
+---------+---------+--------------------+--------------------+--------------------+
```"#,
    argument(name = "itemsets", description = "The list returned by frequent_itemsets."),
    argument(name = "min_confidence", description = "Minimum confidence (0 keeps every rule)."),
    argument(name = "min_lift", description = "Optional minimum lift.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AssociationRules {
    signature: Signature,
}

impl Default for AssociationRules {
    fn default() -> Self {
        Self::new()
    }
}

impl AssociationRules {
    #[must_use]
    pub fn new() -> Self {
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::Exact(vec![itemsets_type(), DataType::Float64]),
                    TypeSignature::Exact(vec![itemsets_type(), DataType::Float64, DataType::Float64]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

fn rule_fields() -> Fields {
    let mut fields = vec![
        Field::new("antecedents", DataType::new_list(DataType::Utf8, true), true),
        Field::new("consequents", DataType::new_list(DataType::Utf8, true), true),
    ];
    for name in [
        "antecedent_support",
        "consequent_support",
        "support",
        "confidence",
        "lift",
        "leverage",
        "conviction",
        "zhangs_metric",
    ] {
        fields.push(Field::new(name, DataType::Float64, true));
    }
    Fields::from(fields)
}

struct Rule {
    antecedents: Vec<String>,
    consequents: Vec<String>,
    metrics: [Option<f64>; 8],
}

impl ScalarUDFImpl for AssociationRules {
    fn name(&self) -> &'static str {
        "association_rules"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::Struct(rule_fields()), true))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let threshold = |i: usize, name: &str| -> Result<Option<f64>> {
            match args.args.get(i) {
                None => Ok(None),
                Some(ColumnarValue::Scalar(ScalarValue::Float64(Some(v)))) if v.is_finite() => Ok(Some(*v)),
                Some(_) => exec_err!("association_rules: {name} must be a constant number"),
            }
        };
        let min_confidence = threshold(1, "min_confidence")?.unwrap_or(0.0);
        let min_lift = threshold(2, "min_lift")?;
        let lists = args.args[0].to_array(args.number_rows)?;
        let lists = lists.as_list::<i32>();
        let mut rows: Vec<Option<Vec<Rule>>> = Vec::with_capacity(lists.len());
        for row in 0..lists.len() {
            if lists.is_null(row) {
                rows.push(None);
                continue;
            }
            rows.push(Some(rules_of(lists.value(row).as_struct(), min_confidence, min_lift)?));
        }
        Ok(ColumnarValue::Array(build(&rows)?))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn rules_of(itemsets: &StructArray, min_confidence: f64, min_lift: Option<f64>) -> Result<Vec<Rule>> {
    let items = itemsets.column(0).as_list::<i32>();
    let supports = itemsets.column(2).as_primitive::<Float64Type>();
    let mut sets: Vec<(Vec<String>, f64)> = Vec::with_capacity(items.len());
    for i in 0..items.len() {
        if items.is_null(i) || supports.is_null(i) {
            continue;
        }
        let names = items.value(i);
        let mut names: Vec<String> = names.as_string::<i32>().iter().flatten().map(str::to_string).collect();
        names.sort_unstable();
        sets.push((names, supports.value(i)));
    }
    let support_of: HashMap<&[String], f64> = sets.iter().map(|(names, s)| (names.as_slice(), *s)).collect();
    let mut rules = Vec::new();
    for (names, s_ac) in &sets {
        let k = names.len();
        if k < 2 {
            continue;
        }
        if k > MAX_RULE_ITEMS {
            return exec_err!(
                "association_rules: an itemset of {k} items is too large to split (at most {MAX_RULE_ITEMS})"
            );
        }
        for mask in 1..(1u32 << k) - 1 {
            let (mut a, mut c) = (Vec::new(), Vec::new());
            for (i, name) in names.iter().enumerate() {
                if (mask >> i) & 1 == 1 {
                    a.push(name.clone())
                } else {
                    c.push(name.clone())
                }
            }
            let (Some(&s_a), Some(&s_c)) = (support_of.get(a.as_slice()), support_of.get(c.as_slice())) else {
                continue;
            };
            let m = rule_metrics(s_a, s_c, *s_ac);
            let keep = m.confidence.is_some_and(|conf| conf >= min_confidence)
                && min_lift.is_none_or(|min| m.lift.is_some_and(|lift| lift >= min));
            if keep {
                rules.push(Rule {
                    antecedents: a,
                    consequents: c,
                    metrics: [
                        Some(s_a),
                        Some(s_c),
                        Some(*s_ac),
                        m.confidence,
                        m.lift,
                        Some(m.leverage),
                        m.conviction,
                        Some(m.zhangs_metric),
                    ],
                });
            }
        }
    }
    rules.sort_by(|x, y| x.antecedents.cmp(&y.antecedents).then_with(|| x.consequents.cmp(&y.consequents)));
    Ok(rules)
}

fn build(rows: &[Option<Vec<Rule>>]) -> Result<ArrayRef> {
    let mut row_offsets = ListOffsets::new("association_rules");
    let (mut a_offsets, mut c_offsets) = (ListOffsets::new("association_rules"), ListOffsets::new("association_rules"));
    let (mut a_names, mut c_names): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    let mut metrics: Vec<Vec<Option<f64>>> = vec![Vec::new(); 8];
    for rules in rows.iter().flatten() {
        for rule in rules {
            a_names.extend(rule.antecedents.iter().map(String::as_str));
            a_offsets.push(a_names.len())?;
            c_names.extend(rule.consequents.iter().map(String::as_str));
            c_offsets.push(c_names.len())?;
            for (column, value) in metrics.iter_mut().zip(rule.metrics) {
                column.push(value);
            }
        }
    }
    let mut count = 0usize;
    for rules in rows {
        count += rules.as_ref().map_or(0, Vec::len);
        row_offsets.push(count)?;
    }
    let list = |offsets: ListOffsets, names: Vec<&str>| -> ArrayRef {
        Arc::new(ListArray::new(
            Arc::new(Field::new_list_field(DataType::Utf8, true)),
            offsets.finish(),
            Arc::new(StringArray::from(names)),
            None,
        ))
    };
    let mut columns = vec![list(a_offsets, a_names), list(c_offsets, c_names)];
    columns.extend(metrics.into_iter().map(|m| Arc::new(Float64Array::from(m)) as ArrayRef));
    let rules = StructArray::new(rule_fields(), columns, None);
    let nulls = arrow::buffer::NullBuffer::from(rows.iter().map(Option::is_some).collect::<Vec<_>>());
    Ok(Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(DataType::Struct(rule_fields()), true)),
        row_offsets.finish(),
        Arc::new(rules),
        Some(nulls),
    )))
}

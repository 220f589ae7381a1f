//! `recommend_items(items, similarities, k)`: a user's top k items by item-based collaborative
//! filtering.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{exec_err, plan_err, HashMap, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::cooccurrence::pairs_type;
use super::top_items::{recommend_rows, recommendations_type, top_k};

const NAME: &str = "recommend_items";

#[user_doc(
    doc_section(label = "Recommendation Functions"),
    description = "The top k items to recommend to a user who holds `items`, scored from an item_similarity (or item_similarity_weighted) list: \
score(b) = Σ over the distinct items a the user holds of the similarity of the entry (item_a = a, item_b = b), for every item b the user does not hold that is a neighbour of one of theirs. \
Returns a list of up to k structs {item, score}, by score descending, ties by item name ascending (deterministic); items the user already holds are never recommended. \
Entries with a NULL item or score are ignored, and so are held items the list does not know. A NULL items list, similarity list or k gives NULL; k must be at least 1. \
The list usually comes from a scalar subquery and is indexed once per call; per segment, join each customer to their segment's list: each distinct list of a batch is indexed once.",
    syntax_example = "recommend_items(items, similarities, k)",
    sql_example = r#"```sql
> WITH t AS (SELECT * FROM (VALUES (1, 'a'), (1, 'b'), (2, 'a'), (2, 'b'), (3, 'a'), (3, 'c'), (4, 'a'), (4, 'b'), (4, 'c')) v(u, i))
  SELECT recommend_items(['c'], (SELECT item_similarity(u, i, 'conditional') FROM t), 2) AS r;
+------------------------------------------------+
| r                                              |
+------------------------------------------------+
| [{item: a, score: 1.0}, {item: b, score: 0.5}] |
+------------------------------------------------+
```"#,
    argument(name = "items", description = "The items the user holds: a list of strings or integers."),
    argument(
        name = "similarities",
        description = "A list of {item_a, item_b, score} structs, e.g. an item_similarity result."
    ),
    argument(name = "k", description = "How many items to recommend, an integer >= 1.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RecommendItems {
    signature: Signature,
}

impl Default for RecommendItems {
    fn default() -> Self {
        Self::new()
    }
}

impl RecommendItems {
    #[must_use]
    pub fn new() -> Self {
        let items = DataType::new_list(DataType::Utf8, true);
        Self {
            signature: Signature::one_of(
                vec![TypeSignature::UserDefined, TypeSignature::Exact(vec![items, pairs_type(), DataType::Int64])],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for RecommendItems {
    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [items, similarities, k] = arg_types else {
            return plan_err!("{NAME} takes 3 arguments (items, similarities, k), got {}", arg_types.len());
        };
        match items {
            DataType::Null => {}
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)
                if f.data_type().is_integer()
                    || f.data_type().is_null()
                    || matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => {}
            other => return plan_err!("{NAME}: items must be a list of strings or integers, got {other}"),
        }
        let ok = matches!(similarities, DataType::List(f) if matches!(f.data_type(), DataType::Struct(fs)
            if ["item_a", "item_b", "score"].iter().all(|n| fs.iter().any(|x| x.name() == n))));
        if !ok {
            return plan_err!(
                "{NAME}: similarities must be a list of structs with item_a, item_b and score (an item_similarity result), got {similarities}"
            );
        }
        if !(k.is_integer() || k.is_null()) {
            return plan_err!("{NAME}: k must be an integer, got {k}");
        }
        Ok(vec![DataType::new_list(DataType::Utf8, true), similarities.clone(), DataType::Int64])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(recommendations_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let mut scratch = Scratch::default();
        recommend_rows(NAME, &args, (1, 0, 2), Neighbours::of, |_, held, neighbours, k, out| {
            for &(item, score) in scratch.top(neighbours, held.iter().flatten(), k) {
                out.push(&neighbours.names[item as usize], score);
            }
            Ok(())
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// One similarity list, indexed: the neighbours (item_b, score) of every item_a.
#[derive(Debug, Default)]
struct Neighbours {
    index: HashMap<String, u32>,
    names: Vec<String>,
    of: Vec<Vec<(u32, f64)>>,
}

impl Neighbours {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.index.insert(name.to_string(), id);
        self.names.push(name.to_string());
        self.of.push(Vec::new());
        id
    }

    fn of(lists: &ArrayRef, row: usize) -> Result<Self> {
        let entries = lists.as_list::<i32>().value(row);
        let Some(structs) = entries.as_struct_opt() else {
            return exec_err!("{NAME}: similarities must be a list of structs");
        };
        let column = |name: &str, t: &DataType| -> Result<ArrayRef> {
            match structs.column_by_name(name) {
                Some(c) => Ok(arrow::compute::cast(c, t)?),
                None => exec_err!("{NAME}: the similarity list has no field '{name}'"),
            }
        };
        let (a, b) = (column("item_a", &DataType::Utf8)?, column("item_b", &DataType::Utf8)?);
        let score = column("score", &DataType::Float64)?;
        let (a, b, score) = (a.as_string::<i32>(), b.as_string::<i32>(), score.as_primitive::<Float64Type>());
        let mut index = Self::default();
        for i in 0..structs.len() {
            if structs.is_null(i) || a.is_null(i) || b.is_null(i) || score.is_null(i) || score.value(i).is_nan() {
                continue;
            }
            let (from, to) = (index.id(a.value(i)), index.id(b.value(i)));
            index.of[from as usize].push((to, score.value(i)));
        }
        Ok(index)
    }
}

/// Per-call buffers: a dense score row over the list's items and the items touched.
#[derive(Debug, Default)]
struct Scratch {
    score: Vec<f64>,
    marked: Vec<bool>,
    touched: Vec<u32>,
    held: Vec<u32>,
    top: Vec<(u32, f64)>,
}

impl Scratch {
    fn top<'h>(&mut self, n: &Neighbours, held: impl Iterator<Item = &'h str>, k: usize) -> &[(u32, f64)] {
        if self.score.len() < n.names.len() {
            self.score.resize(n.names.len(), 0.0);
            self.marked.resize(n.names.len(), false);
        }
        self.held.clear();
        self.held.extend(held.filter_map(|name| n.index.get(name).copied()));
        self.held.sort_unstable();
        self.held.dedup();
        for &a in &self.held {
            for &(b, s) in &n.of[a as usize] {
                if !std::mem::replace(&mut self.marked[b as usize], true) {
                    self.touched.push(b);
                }
                self.score[b as usize] += s;
            }
        }
        self.top.clear();
        for &b in &self.touched {
            if self.held.binary_search(&b).is_err() {
                self.top.push((b, self.score[b as usize]));
            }
            self.score[b as usize] = 0.0;
            self.marked[b as usize] = false;
        }
        self.touched.clear();
        top_k(&mut self.top, &n.names, k);
        &self.top
    }
}

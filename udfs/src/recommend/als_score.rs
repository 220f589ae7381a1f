//! `als_score(model, items, k [, feedback])`: a user's top k items from an als_fit model.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{exec_err, plan_err, HashMap, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::als::{gram, solve_row, Settings};
use super::als_fit::model_fields;
use super::top_items::{recommend_rows, recommendations_type, top_k};

const NAME: &str = "als_score";

#[user_doc(
    doc_section(label = "Recommendation Functions"),
    description = "The top k items for a user who holds `items`, from an als_fit model: the user's factors are solved from their items exactly as in the fit \
(x = (YᵀY + λI + Σ (c − 1) y yᵀ)⁻¹ Σ c y with c = 1 + alpha · r over the held items the model knows, r = the item's `feedback`, 1 without it), \
each item's score is xᵀ y_i, and the k best items the user does not hold are returned as a list of {item, score} structs, by score descending, ties by item name. \
For a training user this is the user step of one more iteration. Held items the model does not know are ignored (a user with none gets the items with score 0, by name); \
items given twice add their feedback. A NULL model, items list or k gives NULL; a NULL or NaN feedback leaves its item out; k must be at least 1. \
The model usually comes from a scalar subquery and is read once per call (per segment, each distinct model of a batch once).",
    syntax_example = "als_score(model, items, k [, feedback])",
    sql_example = r#"```sql
> WITH t AS (SELECT * FROM (VALUES (1, 'a', 1), (1, 'b', 2), (2, 'a', 1), (2, 'c', 1), (3, 'b', 3), (3, 'c', 1)) v(u, i, n))
  SELECT r[1]['item'] AS item, round(r[1]['score'], 4) AS score
  FROM (SELECT als_score((SELECT als_fit(u, i, n, 2, 0.1, 10, 2.0, 7) FROM t), ['a'], 1) AS r);
+------+--------+
| item | score  |
+------+--------+
| c    | 0.7284 |
+------+--------+
```"#,
    argument(name = "model", description = "An als_fit result."),
    argument(name = "items", description = "The items the user holds: a list of strings or integers."),
    argument(name = "k", description = "How many items to recommend, an integer >= 1."),
    argument(
        name = "feedback",
        description = "Optional list of numbers, the feedback r of each held item in the order of `items` (default 1 each)."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AlsScore {
    signature: Signature,
}

impl Default for AlsScore {
    fn default() -> Self {
        Self::new()
    }
}

impl AlsScore {
    #[must_use]
    pub fn new() -> Self {
        let model = DataType::Struct(model_fields());
        let items = DataType::new_list(DataType::Utf8, true);
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![model.clone(), items.clone(), DataType::Int64]),
                    TypeSignature::Exact(vec![
                        model,
                        items,
                        DataType::Int64,
                        DataType::new_list(DataType::Float64, true),
                    ]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for AlsScore {
    fn name(&self) -> &'static str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(3..=4).contains(&arg_types.len()) {
            return plan_err!("{NAME} takes 3 or 4 arguments (model, items, k [, feedback]), got {}", arg_types.len());
        }
        let model = &arg_types[0];
        let ok = model.is_null()
            || matches!(model, DataType::Struct(fs)
                if ["items", "item_factors", "regularization", "alpha"].iter().all(|n| fs.iter().any(|x| x.name() == n)));
        if !ok {
            return plan_err!("{NAME}: model must be an als_fit result, got {model}");
        }
        let list_of = |t: &DataType, what: &str, strings: bool| -> Result<()> {
            match t {
                DataType::Null => Ok(()),
                DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)
                    if f.data_type().is_null()
                        || if strings {
                            f.data_type().is_integer()
                                || matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
                        } else {
                            f.data_type().is_numeric()
                        } =>
                {
                    Ok(())
                }
                other => plan_err!("{NAME}: {what}, got {other}"),
            }
        };
        list_of(&arg_types[1], "items must be a list of strings or integers", true)?;
        if !(arg_types[2].is_integer() || arg_types[2].is_null()) {
            return plan_err!("{NAME}: k must be an integer, got {}", arg_types[2]);
        }
        let mut coerced = vec![
            if model.is_null() { DataType::Struct(model_fields()) } else { model.clone() },
            DataType::new_list(DataType::Utf8, true),
            DataType::Int64,
        ];
        if let Some(feedback) = arg_types.get(3) {
            list_of(feedback, "feedback must be a list of numbers", false)?;
            coerced.push(DataType::new_list(DataType::Float64, true));
        }
        Ok(coerced)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(recommendations_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let feedback = args.args.get(3).map(|f| f.to_array(args.number_rows)).transpose()?;
        let feedback = feedback.as_ref().map(|f| f.as_list::<i32>());
        let (mut a, mut b, mut held, mut scored) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        recommend_rows(NAME, &args, (0, 1, 2), Model::of, |row, names, model, k, out| {
            let weights = feedback.filter(|f| f.is_valid(row)).map(|f| f.value(row));
            let weights = weights.as_ref().map(|w| w.as_primitive::<Float64Type>());
            if weights.is_some_and(|w| w.len() != names.len()) {
                return exec_err!(
                    "{NAME}: feedback has {} values for {} items",
                    weights.map_or(0, Array::len),
                    names.len()
                );
            }
            // the held items the model knows, with their summed feedback
            held.clear();
            for at in 0..names.len() {
                let r = match weights {
                    None => 1.0,
                    Some(w) if w.is_valid(at) && !w.value(at).is_nan() => w.value(at),
                    Some(_) => continue,
                };
                if r < 0.0 || r.is_infinite() {
                    return exec_err!("{NAME}: feedback must be a finite number >= 0, got {r}");
                }
                if let Some(&id) = names.is_valid(at).then(|| model.index.get(names.value(at))).flatten() {
                    held.push((id as usize, r));
                }
            }
            held.sort_unstable_by_key(|&(id, _)| id);
            held.dedup_by(|later, first| {
                let same = later.0 == first.0;
                if same {
                    first.1 += later.1;
                }
                same
            });
            let cells = held.iter().copied().filter(|&(_, r)| r > 0.0);
            let Some(x) = solve_row(model.settings, &model.yty, &model.y, cells, &mut a, &mut b) else {
                return exec_err!("{NAME}: the user's least-squares system is singular; fit with regularization > 0");
            };
            let f = model.settings.factors;
            scored.clear();
            for (i, y) in model.y.chunks_exact(f).enumerate() {
                if held.binary_search_by_key(&i, |&(id, _)| id).is_err() {
                    scored.push((i as u32, x.iter().zip(y).map(|(p, q)| p * q).sum::<f64>()));
                }
            }
            top_k(&mut scored, &model.names, k);
            for &(i, score) in &scored {
                out.push(&model.names[i as usize], score);
            }
            Ok(())
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// A model read for scoring: item names and index, factors Y (row-major) and YᵀY.
struct Model {
    settings: Settings,
    names: Vec<String>,
    index: HashMap<String, u32>,
    y: Vec<f64>,
    yty: Vec<f64>,
}

impl Model {
    fn of(models: &ArrayRef, row: usize) -> Result<Self> {
        let structs = models.as_struct();
        let field = |name: &str, t: &DataType| -> Result<ArrayRef> {
            match structs.column_by_name(name) {
                Some(c) => Ok(arrow::compute::cast(&c.slice(row, 1), t)?),
                None => exec_err!("{NAME}: the model has no field '{name}'"),
            }
        };
        let number = |name: &str| -> Result<f64> {
            let v = field(name, &DataType::Float64)?;
            let v = v.as_primitive::<Float64Type>();
            if v.is_null(0) || !v.value(0).is_finite() {
                return exec_err!("{NAME}: the model's {name} must be a finite number");
            }
            Ok(v.value(0))
        };
        let (regularization, alpha) = (number("regularization")?, number("alpha")?);
        let items = field("items", &DataType::new_list(DataType::Utf8, true))?;
        let factors = field("item_factors", &DataType::new_list(DataType::new_list(DataType::Float64, true), true))?;
        let (items, factors) = (items.as_list::<i32>(), factors.as_list::<i32>());
        if items.is_null(0) || factors.is_null(0) {
            return exec_err!("{NAME}: the model has no items");
        }
        let (items, factors) = (items.value(0), factors.value(0));
        let (items, factors) = (items.as_string::<i32>(), factors.as_list::<i32>());
        if items.len() != factors.len() || items.null_count() > 0 || factors.null_count() > 0 {
            return exec_err!("{NAME}: the model needs one factor list per item, without NULLs");
        }
        let f = if factors.is_empty() { 1 } else { factors.value_length(0) as usize };
        let values = factors.values().as_primitive::<Float64Type>();
        let consistent = f > 0
            && (0..factors.len()).all(|i| factors.value_length(i) as usize == f)
            && values.null_count() == 0
            && values.values().iter().all(|v| v.is_finite());
        if !consistent {
            return exec_err!("{NAME}: every item needs the same number of finite factors");
        }
        let start = factors.value_offsets()[0] as usize;
        let y = values.values()[start..start + f * factors.len()].to_vec();
        let names: Vec<String> = items.iter().map(|n| n.unwrap_or_default().to_string()).collect();
        let index = names.iter().enumerate().map(|(i, n)| (n.clone(), i as u32)).collect();
        Ok(Self { settings: Settings { factors: f, regularization, alpha }, yty: gram(&y, f), names, index, y })
    }
}

//! `psi_bins(value, is_actual [, bins [, epsilon]])`: the per-bin table behind `psi`.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, ListArray, StringArray, StructArray};
use arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature};
use datafusion_macros::user_doc;

use super::binning::{psi_term, shares, totals, Bin};
use super::sample_state::{
    coerce_sample_args, sample_accumulator, sample_signature, sample_state_fields, SampleMeasure,
};
use crate::common::ListOffsets;

#[user_doc(
    doc_section(label = "Drift Functions"),
    description = "The PSI drill-down: the bins of psi(value, is_actual [, bins [, epsilon]]) (same arguments, same binning and smoothing) as a list of structs \
{bin (label such as '(30, 35.5]', the category, or 'NULL' for the missing bin), lower, upper (numeric bounds; NULL for categories and the missing bin), \
expected_count, actual_count, expected_share, actual_share (count / rows of that side, before smoothing), psi (the bin's term (a - e) ln(a / e) after smoothing)}, \
ordered by bin (numeric bins from low to high, categories by name), the missing bin last and only when either side has a NULL or NaN. \
The sum of the psi fields is psi(...). Get rows with `SELECT unnest(psi_bins(...))`. Either side empty gives NULL shares and terms.",
    syntax_example = "psi_bins(value, is_actual [, bins [, epsilon]])",
    sql_example = r#"```sql
> SELECT b['bin'] AS bin, b['expected_count'] AS e, b['actual_count'] AS a, round(b['psi'], 6) AS psi
  FROM (SELECT unnest(psi_bins(x, is_actual, 2)) AS b
        FROM (VALUES (1, false), (2, false), (3, false), (4, false), (3, true), (4, true), (4, true), (5, true)) t(x, is_actual));
+-------------+---+---+----------+
| bin         | e | a | psi      |
+-------------+---+---+----------+
| (-inf, 2.5] | 2 | 0 | 4.257745 |
| (2.5, inf)  | 2 | 4 | 0.346574 |
+-------------+---+---+----------+
```"#,
    argument(name = "value", description = "Number (binned) or string/boolean (categories)."),
    argument(
        name = "is_actual",
        description = "Boolean: false for the expected (baseline) sample, true for the actual one."
    ),
    argument(
        name = "bins",
        description = "Optional: the number of quantile bins (literal, default 10) or a list of cut points."
    ),
    argument(
        name = "epsilon",
        description = "Optional literal in [0, 1): the share that replaces an empty bin's 0 (default 1e-4; 0 = no smoothing)."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PsiBins {
    signature: Signature,
}

impl Default for PsiBins {
    fn default() -> Self {
        Self::new()
    }
}

impl PsiBins {
    #[must_use]
    pub fn new() -> Self {
        Self { signature: sample_signature() }
    }
}

impl AggregateUDFImpl for PsiBins {
    fn name(&self) -> &'static str {
        "psi_bins"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_sample_args(self.name(), arg_types, 4)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(bins_type())
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(sample_state_fields(args.name))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(sample_accumulator(BinsOf, &args)?))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(sample_accumulator(BinsOf, &args)?))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn bin_fields() -> Fields {
    Fields::from(vec![
        Field::new("bin", DataType::Utf8, true),
        Field::new("lower", DataType::Float64, true),
        Field::new("upper", DataType::Float64, true),
        Field::new("expected_count", DataType::Int64, true),
        Field::new("actual_count", DataType::Int64, true),
        Field::new("expected_share", DataType::Float64, true),
        Field::new("actual_share", DataType::Float64, true),
        Field::new("psi", DataType::Float64, true),
    ])
}

fn bins_type() -> DataType {
    DataType::new_list(DataType::Struct(bin_fields()), true)
}

/// One list of bin structs per group.
fn bins_array(groups: &[Vec<Bin>], epsilon: f64) -> Result<ArrayRef> {
    let mut offsets = ListOffsets::new("psi_bins");
    let mut labels: Vec<&str> = Vec::new();
    let (mut lower, mut upper) = (Vec::new(), Vec::new());
    let (mut expected_count, mut actual_count) = (Vec::new(), Vec::new());
    let (mut expected_share, mut actual_share, mut terms) = (Vec::new(), Vec::new(), Vec::new());
    for bins in groups {
        let sides = totals(bins);
        let defined = sides[0] > 0 && sides[1] > 0;
        for bin in bins {
            labels.push(&bin.label);
            lower.push(bin.lower);
            upper.push(bin.upper);
            expected_count.push(bin.counts[0] as i64);
            actual_count.push(bin.counts[1] as i64);
            let [e, a] = shares(bin, sides);
            expected_share.push((sides[0] > 0).then_some(e));
            actual_share.push((sides[1] > 0).then_some(a));
            terms.push(defined.then(|| psi_term(e, a, epsilon)));
        }
        offsets.push(labels.len())?;
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(labels)),
        Arc::new(Float64Array::from(lower)),
        Arc::new(Float64Array::from(upper)),
        Arc::new(Int64Array::from(expected_count)),
        Arc::new(Int64Array::from(actual_count)),
        Arc::new(Float64Array::from(expected_share)),
        Arc::new(Float64Array::from(actual_share)),
        Arc::new(Float64Array::from(terms)),
    ];
    Ok(Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(DataType::Struct(bin_fields()), true)),
        offsets.finish(),
        Arc::new(StructArray::new(bin_fields(), columns, None)),
        None,
    )))
}

/// Evaluates `psi_bins` from the bins.
#[derive(Debug)]
struct BinsOf;

impl SampleMeasure for BinsOf {
    fn name(&self) -> &'static str {
        "psi_bins"
    }

    fn evaluate(&self, groups: &[Vec<Bin>], epsilon: f64) -> Result<ArrayRef> {
        bins_array(groups, epsilon)
    }
}

//! `psi_from_counts(expected_counts, actual_counts [, epsilon])`: PSI of two histograms.

use std::sync::Arc;

use arrow::array::{Array, AsArray, Float64Array};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::binning::{psi, Bin, DEFAULT_EPSILON};

#[user_doc(
    doc_section(label = "Drift Functions"),
    description = "PSI of two histograms over the same bins (for example two psi_histogram results on the same cut points, or category counts ordered \
the same way): with e_i = expected_counts[i] / Σ expected_counts and a_i = actual_counts[i] / Σ actual_counts, \
PSI = Σ_i (a_i - e_i) ln(a_i / e_i), a share of 0 replaced by epsilon (default 1e-4; 0 turns smoothing off, and a bin empty on one side only then gives +inf; \
a bin empty on both sides adds 0). NULL when either list is NULL or sums to 0; lists of different lengths, NULL or negative counts are errors.",
    syntax_example = "psi_from_counts(expected_counts, actual_counts [, epsilon])",
    sql_example = r#"```sql
> SELECT round(psi_from_counts([50, 30, 20], [30, 30, 40]), 6) AS psi;
+----------+
| psi      |
+----------+
| 0.240795 |
+----------+
```"#,
    argument(name = "expected_counts", description = "List of counts of the expected (baseline) sample per bin."),
    argument(name = "actual_counts", description = "List of counts of the actual sample per bin."),
    argument(
        name = "epsilon",
        description = "Optional constant in [0, 1): the share that replaces an empty bin's 0 (default 1e-4)."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PsiFromCounts {
    signature: Signature,
}

impl Default for PsiFromCounts {
    fn default() -> Self {
        Self::new()
    }
}

impl PsiFromCounts {
    #[must_use]
    pub fn new() -> Self {
        let counts = DataType::new_list(DataType::Int64, true);
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::UserDefined,
                    TypeSignature::Exact(vec![counts.clone(), counts.clone()]),
                    TypeSignature::Exact(vec![counts.clone(), counts, DataType::Float64]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for PsiFromCounts {
    fn name(&self) -> &'static str {
        "psi_from_counts"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(2..=3).contains(&arg_types.len()) {
            return plan_err!("psi_from_counts takes 2 or 3 arguments, got {}", arg_types.len());
        }
        let mut coerced = Vec::with_capacity(3);
        for t in &arg_types[..2] {
            match t {
                DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)
                    if f.data_type().is_integer() || f.data_type().is_null() =>
                {
                    coerced.push(DataType::new_list(DataType::Int64, true));
                }
                DataType::Null => coerced.push(DataType::new_list(DataType::Int64, true)),
                other => return plan_err!("psi_from_counts: counts must be lists of integers, got {other}"),
            }
        }
        if let Some(epsilon) = arg_types.get(2) {
            if !epsilon.is_numeric() {
                return plan_err!("psi_from_counts: epsilon must be a number, got {epsilon}");
            }
            coerced.push(DataType::Float64);
        }
        Ok(coerced)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let epsilon = match args.args.get(2) {
            None => DEFAULT_EPSILON,
            Some(ColumnarValue::Scalar(ScalarValue::Float64(Some(e)))) if (0.0..1.0).contains(e) => *e,
            Some(_) => return exec_err!("psi_from_counts: epsilon must be a constant in [0, 1)"),
        };
        let expected = args.args[0].to_array(args.number_rows)?;
        let actual = args.args[1].to_array(args.number_rows)?;
        let (expected, actual) = (expected.as_list::<i32>(), actual.as_list::<i32>());
        let mut out = Vec::with_capacity(args.number_rows);
        for row in 0..args.number_rows {
            if expected.is_null(row) || actual.is_null(row) {
                out.push(None);
                continue;
            }
            let (e, a) = (expected.value(row), actual.value(row));
            let (e, a) = (e.as_primitive::<Int64Type>(), a.as_primitive::<Int64Type>());
            if e.len() != a.len() {
                return exec_err!(
                    "psi_from_counts: the count lists have different lengths ({} and {})",
                    e.len(),
                    a.len()
                );
            }
            if e.null_count() + a.null_count() > 0 {
                return exec_err!("psi_from_counts: counts must not be NULL");
            }
            let mut bins = Vec::with_capacity(e.len());
            for (&ce, &ca) in e.values().iter().zip(a.values()) {
                let (Ok(ce), Ok(ca)) = (u64::try_from(ce), u64::try_from(ca)) else {
                    return exec_err!("psi_from_counts: counts must not be negative, got {ce} and {ca}");
                };
                bins.push(Bin { label: String::new(), lower: None, upper: None, counts: [ce, ca] });
            }
            out.push(psi(&bins, epsilon));
        }
        Ok(ColumnarValue::Array(Arc::new(Float64Array::from(out))))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

//! `clv(bgnbd_model, gamma_gamma_model, frequency, recency, T, monetary_value, months,
//! monthly_discount_rate [, unit])`: discounted customer lifetime value.

use arrow::datatypes::DataType;
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature};
use datafusion_macros::user_doc;

use super::model_args::{check_customer, coerce, fixed, invoke, signature};
use super::{bgnbd, gamma_gamma};

#[user_doc(
    doc_section(label = "Customer Lifetime Functions"),
    description = "The discounted value of a customer's purchases over the next `months` months, as lifetimes' \
`GammaGammaFitter.customer_lifetime_value` with a BG/NBD transaction model: \
Σₖ₌₁..months S · (E(k·f) − E((k − 1)·f)) / (1 + d)^k, where E(t) is bgnbd_expected_purchases(bgnbd_model, t, frequency, recency, T), \
S is gamma_gamma_expected_spend(gamma_gamma_model, frequency, monetary_value), d = monthly_discount_rate and f the length of a month in the \
time unit of frequency, recency and T: unit 'day' (default, f = 30), 'week' (f = 4.345), 'month' (f = 1) or 'hour' (f = 720) — lifetimes' \
factors for freq 'D', 'W', 'M', 'H'. months is a whole number from 0 to 1200; d > −1. \
NULL or NaN in frequency, recency, T, monetary_value, months, the rate or a model gives NULL; unit must be a constant string. \
Invalid parameters or customers are errors as in the functions it combines, and so is a horizon at which ₂F₁ does not settle \
within 20,000 terms (t beyond roughly 700 × (α + T)).",
    syntax_example = "clv(bgnbd_model, gamma_gamma_model, frequency, recency, T, monetary_value, months, monthly_discount_rate [, unit])",
    sql_example = r#"```sql
> SELECT round(clv(named_struct('r', 0.243, 'alpha', 4.414, 'a', 0.793, 'b', 2.426),
                   named_struct('p', 6.25, 'q', 3.74, 'v', 15.44),
                   2, 30.43, 38.86, 22.35, 12, 0.01, 'week'), 6) AS clv;
+-----------+
| clv       |
+-----------+
| 36.289211 |
+-----------+
```"#,
    argument(name = "bgnbd_model", description = "Struct with fields r, alpha, a, b, e.g. the output of bgnbd_fit."),
    argument(
        name = "gamma_gamma_model",
        description = "Struct with fields p, q, v, e.g. the output of gamma_gamma_fit."
    ),
    argument(name = "frequency", description = "Repeat purchases (a whole number >= 0)."),
    argument(name = "recency", description = "Time from the first to the last purchase."),
    argument(name = "T", description = "Time from the first purchase to the end of the observation period."),
    argument(name = "monetary_value", description = "Mean value of the repeat purchases."),
    argument(name = "months", description = "Horizon in months (a whole number, 0 to 1200)."),
    argument(name = "monthly_discount_rate", description = "Discount rate per month, e.g. 0.01."),
    argument(
        name = "unit",
        description = "Constant time unit of frequency, recency and T: 'day' (default), 'week', 'month' or 'hour'."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Clv {
    signature: Signature,
}

impl Default for Clv {
    fn default() -> Self {
        Self::new()
    }
}

impl Clv {
    #[must_use]
    pub fn new() -> Self {
        Self { signature: signature(&[bgnbd::PARAMS, gamma_gamma::PARAMS], 6, &[]) }
    }
}

const USAGE: &str =
    "bgnbd_model, gamma_gamma_model, frequency, recency, T, monetary_value, months, monthly_discount_rate [, unit]";

/// Length of a month in `unit` (lifetimes' factors).
fn month_length(unit: &str) -> Option<f64> {
    match unit {
        "day" => Some(30.0),
        "week" => Some(4.345),
        "month" => Some(1.0),
        "hour" => Some(720.0),
        _ => None,
    }
}

impl ScalarUDFImpl for Clv {
    fn name(&self) -> &'static str {
        "clv"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let coerced = coerce("clv", arg_types, &[bgnbd::PARAMS, gamma_gamma::PARAMS], 6, 1, USAGE)?;
        if let Some(unit) = arg_types.get(8) {
            if !matches!(unit, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null) {
                return plan_err!("clv: unit must be a string such as 'day' or 'week', got {unit}");
            }
        }
        Ok(coerced)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let factor = match args.args.get(8) {
            None => 30.0,
            Some(ColumnarValue::Scalar(
                ScalarValue::Utf8(Some(unit)) | ScalarValue::LargeUtf8(Some(unit)) | ScalarValue::Utf8View(Some(unit)),
            )) => match month_length(unit) {
                Some(f) => f,
                None => return exec_err!("clv: unit must be 'day', 'week', 'month' or 'hour', got '{unit}'"),
            },
            Some(_) => return exec_err!("clv: unit must be a constant string such as 'day' or 'week'"),
        };
        invoke("clv", &args, &[bgnbd::PARAMS, gamma_gamma::PARAMS], 6, |m, v| {
            let (x, t_x, age, spend_mean, months, rate) = (v[0], v[1], v[2], v[3], v[4], v[5]);
            check_customer("clv", x, t_x, age)?;
            if !(0.0..=1200.0).contains(&months) || months.fract() != 0.0 {
                return exec_err!("clv: months must be a whole number from 0 to 1200, got {months}");
            }
            if rate <= -1.0 || rate.is_infinite() {
                return exec_err!("clv: monthly_discount_rate must be a finite number > -1, got {rate}");
            }
            let bg: [f64; 4] = fixed("clv", &m[0])?;
            let gg: [f64; 3] = fixed("clv", &m[1])?;
            if gg[1] <= 1.0 {
                return exec_err!("clv: gamma_gamma_model q must be > 1 for a finite mean spend, got {}", gg[1]);
            }
            let spend = gamma_gamma::expected_spend(&gg, x, spend_mean);
            let expected = |t: f64| match bgnbd::expected_purchases(&bg, t, x, t_x, age) {
                Some(e) => Ok(e),
                None => exec_err!("clv: the hypergeometric series does not converge for t {t}, frequency {x}, T {age}"),
            };
            let mut value = 0.0;
            let mut previous = expected(0.0)?;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked: a whole number in 0..=1200
            for step in 1..=months as u32 {
                let t = f64::from(step) * factor;
                let current = expected(t)?;
                value += spend * (current - previous) / (1.0 + rate).powf(t / factor);
                previous = current;
            }
            Ok(Some(value))
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

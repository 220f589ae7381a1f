//! Declaring a family's functions in one line each, in the manner of DataFusion's
//! `make_udaf_expr_and_func!`: [`functions!`] gives every function a shared instance
//! (`rfm_udaf()`), an expression builder for DataFrame users (`expr_fn::rfm(args)`) and puts it
//! in the family's registration list (`functions()`).

/// In a family's `mod.rs`, one line per function:
///
/// ```text
/// functions! {
///     scalar RfmCell => rfm_cell, rfm_cell_udf;
///     aggregate Rfm => rfm, rfm_udaf;
///     window QuantileScore => quantile_score, quantile_score_udwf;
/// }
/// ```
///
/// `Type => expr_fn, singleton`: the implementing struct (with a `new()` constructor), the name of
/// its expression builder and of its shared-instance accessor.
macro_rules! functions {
    ($($kind:ident $udf:ident => $expr_fn:ident, $singleton:ident;)*) => {
        $( $crate::macros::singleton!($kind $udf, $expr_fn, $singleton); )*

        /// Expression builders for the DataFrame API: `expr_fn::name(args)` is the call `name(args…)`.
        pub mod expr_fn {
            $( $crate::macros::expr_fn!($expr_fn, $singleton); )*
        }

        /// Every function of this family, for registration.
        #[must_use]
        pub fn functions() -> $crate::Functions {
            let mut functions = $crate::Functions::default();
            $( $crate::macros::push!(functions, $kind $singleton); )*
            functions
        }
    };
}

macro_rules! singleton {
    (scalar $udf:ident, $expr_fn:ident, $singleton:ident) => {
        #[doc = concat!("The shared `", stringify!($expr_fn), "` scalar function.")]
        #[must_use]
        pub fn $singleton() -> std::sync::Arc<datafusion::logical_expr::ScalarUDF> {
            static INSTANCE: std::sync::LazyLock<std::sync::Arc<datafusion::logical_expr::ScalarUDF>> =
                std::sync::LazyLock::new(|| {
                    std::sync::Arc::new(datafusion::logical_expr::ScalarUDF::from(<$udf>::new()))
                });
            std::sync::Arc::clone(&INSTANCE)
        }
    };
    (aggregate $udf:ident, $expr_fn:ident, $singleton:ident) => {
        #[doc = concat!("The shared `", stringify!($expr_fn), "` aggregate function.")]
        #[must_use]
        pub fn $singleton() -> std::sync::Arc<datafusion::logical_expr::AggregateUDF> {
            static INSTANCE: std::sync::LazyLock<std::sync::Arc<datafusion::logical_expr::AggregateUDF>> =
                std::sync::LazyLock::new(|| {
                    std::sync::Arc::new(datafusion::logical_expr::AggregateUDF::from(<$udf>::new()))
                });
            std::sync::Arc::clone(&INSTANCE)
        }
    };
    (window $udf:ident, $expr_fn:ident, $singleton:ident) => {
        #[doc = concat!("The shared `", stringify!($expr_fn), "` window function.")]
        #[must_use]
        pub fn $singleton() -> std::sync::Arc<datafusion::logical_expr::WindowUDF> {
            static INSTANCE: std::sync::LazyLock<std::sync::Arc<datafusion::logical_expr::WindowUDF>> =
                std::sync::LazyLock::new(|| {
                    std::sync::Arc::new(datafusion::logical_expr::WindowUDF::from(<$udf>::new()))
                });
            std::sync::Arc::clone(&INSTANCE)
        }
    };
}

macro_rules! expr_fn {
    ($expr_fn:ident, $singleton:ident) => {
        #[doc = concat!("`", stringify!($expr_fn), "(args…)` as an expression; see the function's documentation.")]
        #[must_use]
        pub fn $expr_fn(args: Vec<datafusion::logical_expr::Expr>) -> datafusion::logical_expr::Expr {
            super::$singleton().call(args)
        }
    };
}

macro_rules! push {
    ($functions:ident, scalar $singleton:ident) => {
        $functions.scalar.push($singleton())
    };
    ($functions:ident, aggregate $singleton:ident) => {
        $functions.aggregate.push($singleton())
    };
    ($functions:ident, window $singleton:ident) => {
        $functions.window.push($singleton())
    };
}

/// A scalar function whose struct holds only its signature: the documented struct
/// (`#[user_doc]` first), `new()`, `Default` and its `ScalarUDFImpl`, from the parts that differ.
/// Families with several such functions (predictions, ranking metrics) keep the shared argument
/// handling in one module and declare each function in a few lines:
///
/// ```text
/// scalar_udf! {
///     #[user_doc(...)]
///     LogisticPredict, "logistic_predict",
///     signature: predict_args::signature(),
///     coerce: predict_args::coerce,
///     returns: DataType::Float64,
///     invoke: |name, args| predict_args::linear_predictor(name, args, logistic),
/// }
/// ```
macro_rules! scalar_udf {
    (
        $(#[$doc:meta])* $name:ident, $sql_name:literal,
        signature: $signature:expr,
        coerce: $coerce:expr,
        returns: $returns:expr,
        invoke: $invoke:expr
        $(, features_at: $features:expr)? $(,)?
    ) => {
        $(#[$doc])*
        #[derive(Debug, PartialEq, Eq, Hash)]
        pub struct $name {
            signature: datafusion::logical_expr::Signature,
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $name {
            #[must_use]
            pub fn new() -> Self {
                Self { signature: $signature }
            }
        }

        impl datafusion::logical_expr::ScalarUDFImpl for $name {
            fn name(&self) -> &'static str {
                $sql_name
            }

            fn signature(&self) -> &datafusion::logical_expr::Signature {
                &self.signature
            }

            fn coerce_types(
                &self,
                arg_types: &[arrow::datatypes::DataType],
            ) -> datafusion::common::Result<Vec<arrow::datatypes::DataType>> {
                ($coerce)($sql_name, arg_types)
            }

            fn return_type(
                &self,
                _arg_types: &[arrow::datatypes::DataType],
            ) -> datafusion::common::Result<arrow::datatypes::DataType> {
                Ok($returns)
            }

            fn invoke_with_args(
                &self,
                args: datafusion::logical_expr::ScalarFunctionArgs,
            ) -> datafusion::common::Result<datafusion::logical_expr::ColumnarValue> {
                ($invoke)($sql_name, args)
            }

            $(
            /// An array literal of features is read column by column (see `common::features`).
            fn simplify(
                &self,
                args: Vec<datafusion::logical_expr::Expr>,
                _info: &datafusion::logical_expr::simplify::SimplifyContext,
            ) -> datafusion::common::Result<datafusion::logical_expr::simplify::ExprSimplifyResult> {
                Ok($crate::common::scalar_reading_columns(Self::new(), args, $features))
            }
            )?

            fn documentation(&self) -> Option<&datafusion::logical_expr::Documentation> {
                self.doc()
            }
        }
    };
}

pub(crate) use {expr_fn, functions, push, scalar_udf, singleton};

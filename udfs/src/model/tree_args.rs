//! What the tree functions share: the model argument (a decision_tree_fit struct), read once
//! per distinct model.

use arrow::datatypes::DataType;
use datafusion::common::{plan_err, Result};

use super::cart::tree_fields;

/// Checks that `model` is a struct with a `nodes` list; a NULL model is typed as a tree.
pub(super) fn coerce_model(name: &str, model: &DataType) -> Result<DataType> {
    match model {
        DataType::Null => Ok(DataType::Struct(tree_fields())),
        DataType::Struct(fields) if fields.iter().any(|f| f.name() == "nodes") => Ok(model.clone()),
        other => plan_err!("{name}: the model must be a decision_tree_fit result, got {other}"),
    }
}

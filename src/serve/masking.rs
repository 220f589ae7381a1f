//! Plan-level PII masking: a lake table seen through a projection that masks its PII columns.
//!
//! A role without the `pii` permission gets, in place of each lake table with PII columns, a
//! [`MaskedTable`]: the logical plan `SELECT <mask>(col) AS col, other… FROM table`. DataFusion
//! inlines that plan wherever the table is named, so every query path — `SELECT *`, joins,
//! subqueries, views, functions or filters over the column, `information_schema` — sees only
//! masked values: the raw column is not reachable from the role's catalog at all. Filters on a
//! masked column compare masked values (the optimizer may push them below the projection only
//! as filters on the mask expression).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Column, Result, ScalarValue};
use datafusion::datasource::{provider_as_source, TableType, ViewTable};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{cast, Expr, LogicalPlan, LogicalPlanBuilder, ScalarUDF, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use persona_udfs::privacy::{MaskEmail, MaskIdNumber, MaskName, MaskPhone};

use super::config::Mask;

/// A table whose PII columns are replaced by their masks (see the module docs). Reported as a
/// base table, so clients browsing metadata see the same table types with or without `pii`.
#[derive(Debug)]
pub struct MaskedTable {
    view: ViewTable,
}

impl MaskedTable {
    /// Wraps `table` (registered as `name`) with the masks of `masks` (column → mask); columns
    /// of `masks` the table does not have are ignored.
    ///
    /// # Errors
    /// Planning errors of the projection.
    pub fn try_new(
        name: &str,
        table: Arc<dyn TableProvider>,
        masks: &BTreeMap<String, Mask>,
        pseudonym: &Arc<ScalarUDF>,
    ) -> Result<Self> {
        let schema = table.schema();
        let exprs = schema
            .fields()
            .iter()
            .map(|field| {
                let column = Expr::Column(Column::new_unqualified(field.name()));
                match masks.get(field.name()) {
                    None => Ok(column),
                    Some(mask) => Ok(mask_expr(*mask, column, field.data_type(), pseudonym)?.alias(field.name())),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let plan = LogicalPlanBuilder::scan(name, provider_as_source(table), None)?.project(exprs)?.build()?;
        Ok(Self { view: ViewTable::new(plan, None) })
    }
}

fn mask_expr(mask: Mask, column: Expr, data_type: &DataType, pseudonym: &Arc<ScalarUDF>) -> Result<Expr> {
    let text = match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => column,
        _ => cast(column, DataType::Utf8),
    };
    let call = |udf: ScalarUDF| Expr::ScalarFunction(ScalarFunction::new_udf(Arc::new(udf), vec![text.clone()]));
    Ok(match mask {
        Mask::MaskPhone => call(ScalarUDF::from(MaskPhone::new())),
        Mask::MaskIdNumber => call(ScalarUDF::from(MaskIdNumber::new())),
        Mask::MaskEmail => call(ScalarUDF::from(MaskEmail::new())),
        Mask::MaskName => call(ScalarUDF::from(MaskName::new())),
        Mask::Pseudonym => Expr::ScalarFunction(ScalarFunction::new_udf(Arc::clone(pseudonym), vec![text.clone()])),
        Mask::Redact => Expr::Literal(ScalarValue::try_from(data_type)?, None),
    })
}

#[async_trait]
impl TableProvider for MaskedTable {
    fn schema(&self) -> SchemaRef {
        self.view.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn get_logical_plan(&'_ self) -> Option<Cow<'_, LogicalPlan>> {
        self.view.get_logical_plan()
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        self.view.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.view.scan(state, projection, filters, limit).await
    }
}

//! Data-quality profiles of lake tables: every column of a table profiled by `column_profile` in
//! one query (one pass over the table), plus an exact duplicate count per declared key (a grouped
//! query over the key columns that spills under the memory pool). `persona profile` prints the
//! result and the report's data-quality section draws it.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, StructArray};
use arrow::compute::concat;
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::prelude::SessionContext;

/// The keys of the demo lake's tables, checked for duplicates when a table has these columns.
pub const DEMO_KEYS: &[(&str, &[&str])] = &[
    ("customers", &["customer_id"]),
    ("transactions", &["txn_id"]),
    ("campaigns", &["campaign_id"]),
    ("campaign_contacts", &["campaign_id", "customer_id"]),
    ("credit_scores", &["customer_id", "snapshot_month"]),
    ("fraud_labels", &["txn_id"]),
    ("planted_churn", &["customer_id"]),
];

/// What to profile beyond the columns themselves.
#[derive(Debug, Clone, Default)]
pub struct ProfileOptions {
    /// Key columns per table (duplicate keys are counted exactly); [`DEMO_KEYS`] apply to
    /// tables not named here.
    pub keys: Vec<(String, Vec<String>)>,
    /// SQL expression for `future` dates (default `now()`).
    pub as_of: Option<String>,
}

/// The check `column_profile` runs on a column, from its name: resident identity numbers,
/// mobile numbers, e-mail addresses, and personal names (no check, top values withheld).
#[must_use]
pub fn domain_of(column: &str) -> Option<&'static str> {
    let c = column.to_ascii_lowercase();
    if c.contains("id_number") || c.contains("id_card") || c.contains("resident_id") || column.contains("身份证") {
        Some("cn_id")
    } else if c.contains("phone") || c.contains("mobile") || column.contains("手机") {
        Some("cn_mobile")
    } else if c.contains("email") || c.contains("e_mail") || column.contains("邮箱") {
        Some("email")
    } else if ["name", "full_name", "customer_name", "real_name"].contains(&c.as_str()) || column == "姓名" {
        Some("name")
    } else {
        None
    }
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// The columns of the profile result, one row per profiled column.
const COLUMNS: &[&str] = &[
    "data_type",
    "rows",
    "nulls",
    "null_share",
    "distinct",
    "distinct_exact",
    "min",
    "max",
    "mean",
    "std_dev",
    "p05",
    "p25",
    "p50",
    "p75",
    "p95",
    "top_values",
    "invalid",
    "negative",
    "non_finite",
    "future",
];

/// The check of a column: [`domain_of`] its name, for string columns only.
fn column_domain(field: &Field) -> Option<&'static str> {
    matches!(field.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
        .then(|| domain_of(field.name()))
        .flatten()
}

async fn table_schema(ctx: &SessionContext, table: &str) -> Result<Schema> {
    Ok(ctx.table(quote(table).as_str()).await?.schema().as_arrow().clone())
}

/// The one-pass profile query of `table` (with columns `schema`): one `column_profile` per column.
///
/// # Errors
/// A table without columns.
pub fn profile_sql(table: &str, schema: &Schema, options: &ProfileOptions) -> Result<String> {
    let as_of = options.as_of.as_deref().unwrap_or("now()");
    let calls: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| {
            let column = quote(f.name());
            let domain = column_domain(f).map_or_else(|| "NULL".to_string(), |d| format!("'{d}'"));
            let temporal = matches!(f.data_type(), DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _));
            let call = if temporal {
                format!("column_profile({column}, {domain}, {as_of})")
            } else {
                format!("column_profile({column}, {domain})")
            };
            format!("{call} AS {column}")
        })
        .collect();
    if calls.is_empty() {
        return plan_err!("profile: table {table} has no columns");
    }
    Ok(format!("SELECT {} FROM {}", calls.join(", "), quote(table)))
}

/// The key columns of `table` under `options` (its own, else the demo lake's when the table has
/// those columns), or none.
fn keys_of(table: &str, schema: &Schema, options: &ProfileOptions) -> Vec<String> {
    if let Some((_, keys)) = options.keys.iter().find(|(t, _)| t == table) {
        return keys.clone();
    }
    DEMO_KEYS
        .iter()
        .find(|(t, keys)| *t == table && keys.iter().all(|k| schema.field_with_name(k).is_ok()))
        .map(|(_, keys)| keys.iter().map(|k| (*k).to_string()).collect())
        .unwrap_or_default()
}

/// The duplicate-key query of `table`: rows whose key occurred before.
#[must_use]
pub fn duplicate_keys_sql(table: &str, keys: &[String]) -> String {
    let keys = keys.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", ");
    format!(
        "SELECT CAST(coalesce(sum(n - 1), 0) AS BIGINT) AS duplicates FROM (SELECT count(*) AS n FROM {} GROUP BY {keys} HAVING count(*) > 1)",
        quote(table)
    )
}

/// The profile of one table and the queries that made it.
#[derive(Debug, Clone)]
pub struct TableProfile {
    /// One row per column: see [`profile_table`].
    pub batch: RecordBatch,
    /// The profile query, then the duplicate-key query when the table has keys.
    pub sql: Vec<String>,
}

/// Profiles `table`: one row per column with `table`, `column`, the fields of `column_profile`
/// (top values as text `value (share %)`, comma-separated), `check` (the domain checked) and
/// `duplicate_keys` (on the first key column only, NULL elsewhere).
///
/// # Errors
/// An unknown table or a failing query (memory limit, unreadable files).
pub async fn profile_table(ctx: &SessionContext, table: &str, options: &ProfileOptions) -> Result<TableProfile> {
    let schema = table_schema(ctx, table).await?;
    let mut sql = vec![profile_sql(table, &schema, options)?];
    let batches = ctx.sql(&sql[0]).await?.collect().await?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() == 1) else {
        return exec_err!("profile: the profile query of {table} returned no row");
    };
    let keys = keys_of(table, &schema, options);
    let duplicates = if keys.is_empty() {
        None
    } else {
        sql.push(duplicate_keys_sql(table, &keys));
        let result = ctx.sql(&sql[1]).await?.collect().await?;
        result
            .iter()
            .find(|b| b.num_rows() > 0)
            .and_then(|b| b.column(0).as_primitive_opt::<arrow::datatypes::Int64Type>().map(|a| a.value(0)))
    };
    let n = batch.num_columns();
    let mut per_field: Vec<Vec<ArrayRef>> = vec![Vec::with_capacity(n); COLUMNS.len()];
    let mut names = Vec::with_capacity(n);
    let mut checks = Vec::with_capacity(n);
    let mut top_texts = Vec::with_capacity(n);
    let mut duplicate_keys = Vec::with_capacity(n);
    for (i, field) in schema.fields().iter().enumerate() {
        let profile = batch.column(i).as_struct();
        for (slot, name) in per_field.iter_mut().zip(COLUMNS) {
            if *name == "top_values" {
                continue;
            }
            let Some(column) = profile.column_by_name(name) else {
                return exec_err!("profile: column_profile returned no {name}");
            };
            slot.push(column.clone());
        }
        top_texts.push(top_values_text(profile));
        names.push(field.name().clone());
        checks.push(column_domain(field));
        duplicate_keys.push(keys.first().filter(|k| *k == field.name()).and(duplicates));
    }
    let mut fields = vec![Field::new("table", DataType::Utf8, false), Field::new("column", DataType::Utf8, false)];
    let mut arrays: Vec<ArrayRef> =
        vec![Arc::new(StringArray::from(vec![table; n])), Arc::new(StringArray::from(names))];
    for (slot, name) in per_field.iter().zip(COLUMNS) {
        if *name == "top_values" {
            fields.push(Field::new("top_values", DataType::Utf8, true));
            arrays.push(Arc::new(StringArray::from(top_texts.clone())));
            continue;
        }
        let parts: Vec<&dyn Array> = slot.iter().map(AsRef::as_ref).collect();
        let column = concat(&parts)?;
        fields.push(Field::new(*name, column.data_type().clone(), true));
        arrays.push(column);
    }
    fields.push(Field::new("check", DataType::Utf8, true));
    arrays.push(Arc::new(StringArray::from(checks)));
    fields.push(Field::new("duplicate_keys", DataType::Int64, true));
    arrays.push(Arc::new(Int64Array::from(duplicate_keys)));
    Ok(TableProfile { batch: RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?, sql })
}

/// `value (12.3%), value (4.5%)` from the `top_values` list of a one-row profile.
fn top_values_text(profile: &StructArray) -> Option<String> {
    let list = profile.column_by_name("top_values")?.as_list_opt::<i32>()?;
    if list.is_null(0) {
        return None;
    }
    let items = list.value(0);
    let items = items.as_struct();
    let values = items.column_by_name("value")?.as_string_opt::<i32>()?;
    let shares = items.column_by_name("share")?.as_primitive_opt::<arrow::datatypes::Float64Type>()?;
    Some(
        (0..items.len())
            .map(|i| format!("{} ({:.1}%)", values.value(i), shares.value(i) * 100.0))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// Profiles every table of `tables` (all tables of the default schema when empty), in order,
/// calling `progress` with each table's name before it runs.
///
/// # Errors
/// The first failing table.
pub async fn profile_tables(
    ctx: &SessionContext,
    tables: &[String],
    options: &ProfileOptions,
    mut progress: impl FnMut(&str),
) -> Result<Vec<TableProfile>> {
    let tables = if tables.is_empty() { lake_tables(ctx)? } else { tables.to_vec() };
    let mut out = Vec::with_capacity(tables.len());
    for table in &tables {
        progress(table);
        out.push(profile_table(ctx, table, options).await?);
    }
    Ok(out)
}

/// The tables of the session's default schema, sorted.
///
/// # Errors
/// No default catalog or schema.
pub fn lake_tables(ctx: &SessionContext) -> Result<Vec<String>> {
    let state = ctx.state();
    let options = state.config().options();
    let Some(catalog) = ctx.catalog(&options.catalog.default_catalog) else {
        return plan_err!("profile: no default catalog");
    };
    let Some(schema) = catalog.schema(&options.catalog.default_schema) else {
        return plan_err!("profile: no default schema");
    };
    let mut names = schema.table_names();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_follow_column_names() {
        assert_eq!(domain_of("id_number"), Some("cn_id"));
        assert_eq!(domain_of("phone"), Some("cn_mobile"));
        assert_eq!(domain_of("contact_email"), Some("email"));
        assert_eq!(domain_of("name"), Some("name"));
        assert_eq!(domain_of("product_name"), None);
        assert_eq!(domain_of("amount"), None);
    }

    #[test]
    fn duplicate_key_query_groups_by_every_key_column() {
        assert_eq!(
            duplicate_keys_sql("t", &["a".into(), "b\"c".into()]),
            "SELECT CAST(coalesce(sum(n - 1), 0) AS BIGINT) AS duplicates FROM (SELECT count(*) AS n FROM \"t\" GROUP BY \"a\", \"b\"\"c\" HAVING count(*) > 1)"
        );
    }
}

//! Static server metadata: `GetSqlInfo` and `GetXdbcTypeInfo` answers.

use arrow_flight::sql::metadata::{
    SqlInfoData, SqlInfoDataBuilder, XdbcTypeInfo, XdbcTypeInfoData, XdbcTypeInfoDataBuilder,
};
use arrow_flight::sql::{Nullable, Searchable, SqlInfo, SqlNullOrdering, XdbcDataType};
use datafusion::common::{DataFusionError, Result};

/// Server name and versions, SQL dialect facts clients use to quote and browse.
///
/// # Errors
/// Never in practice (the builder's Arrow errors are passed on).
pub fn sql_info() -> Result<SqlInfoData> {
    let mut builder = SqlInfoDataBuilder::new();
    builder.append(SqlInfo::FlightSqlServerName, "Persona");
    builder.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
    builder.append(SqlInfo::FlightSqlServerArrowVersion, "1.5");
    builder.append(SqlInfo::FlightSqlServerReadOnly, false);
    builder.append(SqlInfo::FlightSqlServerSql, true);
    builder.append(SqlInfo::FlightSqlServerSubstrait, false);
    builder.append(SqlInfo::FlightSqlServerTransaction, 0_i32);
    builder.append(SqlInfo::FlightSqlServerCancel, true);
    builder.append(SqlInfo::SqlDdlCatalog, false);
    builder.append(SqlInfo::SqlDdlSchema, false);
    builder.append(SqlInfo::SqlDdlTable, true);
    builder.append(SqlInfo::SqlIdentifierCase, 1_i32);
    builder.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
    builder.append(SqlInfo::SqlQuotedIdentifierCase, 2_i32);
    builder.append(SqlInfo::SqlNullOrdering, SqlNullOrdering::SqlNullsSortedAtEnd as i32);
    builder.append(SqlInfo::SqlSearchStringEscape, "\\");
    builder.build().map_err(|e| DataFusionError::External(Box::new(e)))
}

fn type_info(name: &str, data_type: XdbcDataType, column_size: Option<i32>, quoted: bool) -> XdbcTypeInfo {
    let numeric = matches!(
        data_type,
        XdbcDataType::XdbcBigint
            | XdbcDataType::XdbcInteger
            | XdbcDataType::XdbcSmallint
            | XdbcDataType::XdbcTinyint
            | XdbcDataType::XdbcDouble
            | XdbcDataType::XdbcFloat
            | XdbcDataType::XdbcDecimal
    );
    XdbcTypeInfo {
        type_name: name.into(),
        data_type,
        column_size,
        literal_prefix: quoted.then(|| "'".into()),
        literal_suffix: quoted.then(|| "'".into()),
        create_params: None,
        nullable: Nullable::NullabilityNullable,
        case_sensitive: quoted,
        searchable: Searchable::Full,
        unsigned_attribute: numeric.then_some(false),
        fixed_prec_scale: false,
        auto_increment: numeric.then_some(false),
        local_type_name: Some(name.into()),
        minimum_scale: None,
        maximum_scale: None,
        sql_data_type: data_type,
        datetime_subcode: None,
        num_prec_radix: numeric.then_some(10),
        interval_precision: None,
    }
}

/// The SQL types DataFusion accepts in casts and DDL, as XDBC (JDBC/ODBC) types.
///
/// # Errors
/// Never in practice (the builder's Arrow errors are passed on).
pub fn xdbc_type_info() -> Result<XdbcTypeInfoData> {
    let mut builder = XdbcTypeInfoDataBuilder::new();
    for info in [
        type_info("BOOLEAN", XdbcDataType::XdbcBit, Some(1), false),
        type_info("TINYINT", XdbcDataType::XdbcTinyint, Some(3), false),
        type_info("SMALLINT", XdbcDataType::XdbcSmallint, Some(5), false),
        type_info("INTEGER", XdbcDataType::XdbcInteger, Some(10), false),
        type_info("BIGINT", XdbcDataType::XdbcBigint, Some(19), false),
        type_info("FLOAT", XdbcDataType::XdbcFloat, Some(7), false),
        type_info("DOUBLE", XdbcDataType::XdbcDouble, Some(15), false),
        type_info("DECIMAL", XdbcDataType::XdbcDecimal, Some(38), false),
        type_info("VARCHAR", XdbcDataType::XdbcVarchar, None, true),
        type_info("BYTEA", XdbcDataType::XdbcVarbinary, None, true),
        type_info("DATE", XdbcDataType::XdbcDate, Some(10), true),
        type_info("TIMESTAMP", XdbcDataType::XdbcTimestamp, Some(29), true),
    ] {
        builder.append(info);
    }
    builder.build().map_err(|e| DataFusionError::External(Box::new(e)))
}

//! Statements from PostgreSQL clients: parsed with PostgreSQL's grammar (and the rewrites BI
//! tools' catalog queries need), answered locally when they are session commands (`SET`,
//! `SHOW`, `BEGIN`, …), otherwise planned through [`Policy::plan`] in the role's PostgreSQL
//! context and run with the role's limits. `COPY … TO STDOUT` streams a query's rows in
//! PostgreSQL's text or CSV format. Struct, list and map values travel as JSON text.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Instant;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::common::{DataFusionError, ParamValues, ScalarValue};
use datafusion::logical_expr::{DdlStatement, LogicalPlan};
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{
    CloseCursor, CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopySource, CopyTarget, DeclareType, Expr,
    FetchDirection, Set, Statement, Value, ValueWithSpan,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion_pg_catalog::sql::PostgresCompatibilityParser;
use futures::{stream, Sink, StreamExt};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{send_describe_response, ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{
    CopyCsvOptions, CopyEncoder, CopyResponse, CopyTextOptions, DescribePortalResponse, FieldInfo, QueryResponse,
    Response, Tag,
};
use pgwire::api::stmt::QueryParser;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::extendedquery::{Describe, TARGET_TYPE_BYTE_PORTAL};
use pgwire::messages::PgWireBackendMessage;
use pgwire::types::format::FormatOptions;

use super::auth::CancelKey;
use super::cursor::{Batches, Cursor, FetchError};
use super::{pg_error, settings, Session, Shared};
use crate::serve::guard::{self, Audit, Stop};
use crate::serve::policy::Refusal;
use crate::serve::statement::{check_text, redacted_text};

/// A statement as parsed for a client: what runs, and the audit log's text of it.
#[derive(Debug, Clone)]
pub(super) enum Prepared {
    Query {
        plan: LogicalPlan,
        redacted: String,
    },
    Copy {
        plan: LogicalPlan,
        redacted: String,
        copy: CopyFormat,
    },
    Declare {
        name: String,
        plan: LogicalPlan,
        redacted: String,
        hold: bool,
    },
    /// `FETCH`: the cursor, how many rows (`None`: all), its columns when it was parsed.
    Fetch {
        name: String,
        count: Option<usize>,
        schema: Option<SchemaRef>,
    },
    Close(Option<String>),
    /// `PREPARE name [(types)] AS statement`: kept for this connection's `EXECUTE`.
    Prepare {
        name: String,
        statement: PreparedStatement,
    },
    /// `EXECUTE name (values)`: the values evaluated already, and the columns it returns (for
    /// a Describe in the extended protocol).
    Execute {
        name: String,
        values: Vec<ScalarValue>,
        schema: Option<SchemaRef>,
    },
    Deallocate(String),
    /// `DISCARD …` (connection pools send it when a connection is handed back): closes the
    /// connection's cursors and forgets its prepared statements.
    Discard,
    Set {
        name: String,
        value: String,
    },
    Show(String),
    Begin,
    Commit,
    Rollback,
    /// Acknowledged with this tag and nothing done (savepoints, `DISCARD`, `SET TRANSACTION` …).
    Ignored(&'static str),
}

/// `COPY … TO STDOUT` options.
#[derive(Debug, Clone, Default)]
pub(super) struct CopyFormat {
    csv: bool,
    header: bool,
    delimiter: Option<char>,
    null: Option<String>,
}

/// Parses and plans for the connection's role.
pub(super) struct PgParser {
    shared: Arc<Shared>,
    sql: PostgresCompatibilityParser,
}

/// Every handler of the PostgreSQL endpoint.
pub(super) struct PgService {
    pub(super) shared: Arc<Shared>,
    parser: Arc<PgParser>,
}

impl PgService {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        let parser = Arc::new(PgParser { shared: Arc::clone(&shared), sql: PostgresCompatibilityParser::new() });
        Self { shared, parser }
    }
}

fn session<C: ClientInfo>(client: &C) -> PgWireResult<Arc<Session>> {
    client.session_extensions().get::<Session>().ok_or_else(|| pg_error("08P01", "not logged in"))
}

/// A DataFusion error as PostgreSQL reports it: its SQLSTATE class and Persona's message
/// (object-store messages redacted).
fn engine_error(error: &DataFusionError) -> PgWireError {
    let message = crate::store::redact(&error.to_string());
    let code = match error.find_root() {
        DataFusionError::SQL(..) => "42601",
        DataFusionError::SchemaError(..) => "42703",
        DataFusionError::Plan(m) if m.contains("not found") => "42P01",
        DataFusionError::Plan(_) => "42000",
        DataFusionError::ResourcesExhausted(_) => "53200",
        DataFusionError::NotImplemented(_) => "0A000",
        DataFusionError::Execution(_) | DataFusionError::ArrowError(..) => "22023",
        DataFusionError::ObjectStore(_) => "58030",
        _ => "XX000",
    };
    pg_error(code, message)
}

fn refusal_error(refusal: Refusal) -> PgWireError {
    match refusal {
        Refusal::Denied(message) => pg_error("42501", message),
        Refusal::Engine(e) => engine_error(&e),
    }
}

fn stop_error(stop: &Stop) -> PgWireError {
    match stop {
        Stop::Cancelled => pg_error("57014", "canceling statement due to user request"),
        Stop::Timeout => pg_error("57014", "canceling statement due to statement timeout"),
        Stop::Engine(e) => engine_error(e),
    }
}

/// The schema clients see: nested values as JSON text.
fn wire_schema(schema: &Schema) -> Schema {
    Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| {
                if f.data_type().is_nested() {
                    Arc::new(Field::new(f.name(), DataType::Utf8, true))
                } else {
                    Arc::clone(f)
                }
            })
            .collect::<Vec<_>>(),
    )
}

fn pg_fields(schema: &Schema, format: &Format, options: Option<Arc<FormatOptions>>) -> PgWireResult<Vec<FieldInfo>> {
    arrow_pg::datatypes::arrow_schema_to_pg_fields(&wire_schema(schema), format, options)
}

/// The text of a `COPY` option list.
fn copy_format(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> PgWireResult<CopyFormat> {
    let mut format = CopyFormat::default();
    for option in options {
        match option {
            CopyOption::Format(name) => match name.value.to_ascii_lowercase().as_str() {
                "csv" => format.csv = true,
                "text" => format.csv = false,
                other => return Err(pg_error("0A000", format!("COPY format {other} is not supported (text, csv)"))),
            },
            CopyOption::Header(header) => format.header = *header,
            CopyOption::Delimiter(c) => format.delimiter = Some(*c),
            CopyOption::Null(null) => format.null = Some(null.clone()),
            CopyOption::Encoding(encoding) if encoding.eq_ignore_ascii_case("utf8") => {}
            other => return Err(pg_error("0A000", format!("COPY option {other} is not supported"))),
        }
    }
    for option in legacy {
        match option {
            CopyLegacyOption::Csv(csv) => {
                format.csv = true;
                for option in csv {
                    match option {
                        CopyLegacyCsvOption::Header => format.header = true,
                        other => return Err(pg_error("0A000", format!("COPY option {other} is not supported"))),
                    }
                }
            }
            CopyLegacyOption::Delimiter(c) => format.delimiter = Some(*c),
            CopyLegacyOption::Null(null) => format.null = Some(null.clone()),
            other => return Err(pg_error("0A000", format!("COPY option {other} is not supported"))),
        }
    }
    Ok(format)
}

impl PgParser {
    /// Plans an ordinary statement in the role's context.
    async fn plan(&self, session: &Session, statement: Statement) -> PgWireResult<(LogicalPlan, String)> {
        let statement = DfStatement::Statement(Box::new(statement));
        let redacted = redacted_text(&statement);
        let state = session.ctx.state();
        let plan = self.shared.policy.plan(&session.role, &state, statement).await.map_err(refusal_error)?;
        Ok((plan, redacted))
    }

    /// What a statement is for this connection.
    async fn prepare(&self, session: &Session, statement: Statement) -> PgWireResult<Prepared> {
        Ok(match statement {
            Statement::Set(set) => match set {
                Set::SingleAssignment { variable, values, .. } => {
                    Prepared::Set { name: variable.to_string(), value: settings::value_text(&values) }
                }
                Set::SetTimeZone { value, .. } => {
                    Prepared::Set { name: "timezone".into(), value: settings::value_text(&[value]) }
                }
                Set::SetNames { charset_name, .. } => {
                    Prepared::Set { name: "client_encoding".into(), value: charset_name.value }
                }
                Set::SetRole { .. } | Set::SetSessionAuthorization(_) => {
                    return Err(pg_error("42501", "the role is the login's; connect as another user instead"));
                }
                _ => Prepared::Ignored("SET"),
            },
            Statement::ShowVariable { variable } => {
                let words: Vec<String> = variable.iter().map(|ident| ident.value.to_ascii_lowercase()).collect();
                Prepared::Show(match words.join(" ").as_str() {
                    "transaction isolation level" => "transaction_isolation".into(),
                    "time zone" => "timezone".into(),
                    _ => words.join("."),
                })
            }
            Statement::StartTransaction { .. } => Prepared::Begin,
            Statement::Commit { .. } => Prepared::Commit,
            Statement::Rollback { savepoint: None, .. } => Prepared::Rollback,
            Statement::Rollback { savepoint: Some(_), .. } => Prepared::Ignored("ROLLBACK"),
            Statement::Savepoint { .. } => Prepared::Ignored("SAVEPOINT"),
            Statement::ReleaseSavepoint { .. } => Prepared::Ignored("RELEASE"),
            Statement::Discard { .. } => Prepared::Discard,
            Statement::Deallocate { name, .. } => Prepared::Deallocate(name.value),
            Statement::Prepare { name, data_types, statement } => {
                let (plan, redacted) = self.plan(session, *statement).await?;
                let types = data_types.iter().map(ToString::to_string).collect();
                Prepared::Prepare { name: name.value, statement: PreparedStatement { plan, redacted, types } }
            }
            Statement::Execute { name: Some(name), parameters, using, .. } if using.is_empty() => {
                let name = name.to_string();
                let statement = session.statement(&name)?;
                let schema =
                    returns_rows(&statement.plan).then(|| Arc::new(statement.plan.schema().as_arrow().clone()));
                Prepared::Execute { values: literal_values(&parameters, &statement.types).await?, name, schema }
            }
            Statement::Copy { source, to: true, target: CopyTarget::Stdout, options, legacy_options, .. } => {
                let copy = copy_format(&options, &legacy_options)?;
                let sql = match source {
                    CopySource::Query(query) => query.to_string(),
                    CopySource::Table { table_name, columns } if columns.is_empty() => {
                        format!("SELECT * FROM {table_name}")
                    }
                    CopySource::Table { table_name, columns } => format!(
                        "SELECT {} FROM {table_name}",
                        columns.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                    ),
                };
                let mut parsed = self.sql.parse(&sql).map_err(|e| pg_error("42601", e.to_string()))?;
                let query = parsed.pop().ok_or_else(|| pg_error("42601", "COPY needs a query"))?;
                let (plan, redacted) = self.plan(session, query).await?;
                Prepared::Copy { plan, redacted: format!("COPY ({redacted}) TO STDOUT"), copy }
            }
            Statement::Declare { stmts } => {
                let [declare] = stmts.as_slice() else {
                    return Err(pg_error("0A000", "declare one cursor at a time"));
                };
                let (Some(DeclareType::Cursor), Some(query), [name]) =
                    (&declare.declare_type, &declare.for_query, declare.names.as_slice())
                else {
                    return Err(pg_error("0A000", "only DECLARE name CURSOR FOR a query is supported"));
                };
                let (plan, redacted) = self.plan(session, Statement::Query(query.clone())).await?;
                if !returns_rows(&plan) {
                    return Err(pg_error("42601", "a cursor needs a query"));
                }
                Prepared::Declare { name: name.value.clone(), plan, redacted, hold: declare.hold.unwrap_or(false) }
            }
            Statement::Fetch { name, direction, .. } => {
                let number = |limit: &ValueWithSpan| match &limit.value {
                    Value::Number(n, _) => {
                        n.parse::<usize>().map_err(|_| pg_error("22023", format!("bad FETCH count {n}")))
                    }
                    other => Err(pg_error("22023", format!("bad FETCH count {other}"))),
                };
                let count = match &direction {
                    FetchDirection::Count { limit } | FetchDirection::Forward { limit: Some(limit) } => {
                        Some(number(limit)?)
                    }
                    FetchDirection::Next | FetchDirection::Forward { limit: None } => Some(1),
                    FetchDirection::All | FetchDirection::ForwardAll => None,
                    _ => return Err(pg_error("0A000", "cursors are forward only (FETCH [FORWARD] n | ALL)")),
                };
                let schema = session.cursors.schema(&name.value).await;
                Prepared::Fetch { name: name.value, count, schema }
            }
            Statement::Close { cursor } => Prepared::Close(match cursor {
                CloseCursor::All => None,
                CloseCursor::Specific { name } => Some(name.value),
            }),
            Statement::Copy { .. } => {
                return Err(pg_error(
                    "42501",
                    "only COPY … TO STDOUT is served: the server's files are not the client's to read or write",
                ));
            }
            statement => {
                let (plan, redacted) = self.plan(session, statement).await?;
                Prepared::Query { plan, redacted }
            }
        })
    }
}

#[async_trait]
impl QueryParser for PgParser {
    type Statement = Prepared;

    async fn parse_sql<C>(&self, client: &C, sql: &str, _types: &[Option<Type>]) -> PgWireResult<Option<Prepared>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let session = session(client)?;
        check_text(&PostgreSqlDialect {}, sql).map_err(|e| pg_error("54001", e))?;
        let mut statements = self.sql.parse(sql).map_err(|e| pg_error("42601", e.to_string()))?;
        if statements.len() > 1 {
            return Err(pg_error("42601", "cannot insert multiple commands into a prepared statement"));
        }
        match statements.pop() {
            None => Ok(None),
            Some(statement) => self.prepare(&session, statement).await.map(Some),
        }
    }

    fn get_parameter_types(&self, statement: &Prepared) -> PgWireResult<Vec<Type>> {
        let (Prepared::Query { plan, .. } | Prepared::Copy { plan, .. }) = statement else {
            return Ok(Vec::new());
        };
        parameter_types(plan)?
            .iter()
            .map(|t| match t {
                Some(t) => arrow_pg::datatypes::into_pg_type(t),
                None => Ok(Type::UNKNOWN),
            })
            .collect()
    }

    fn get_result_schema(&self, statement: &Prepared, format: Option<&Format>) -> PgWireResult<Vec<FieldInfo>> {
        match statement {
            Prepared::Query { plan, .. } if returns_rows(plan) => {
                pg_fields(plan.schema().as_arrow(), format.unwrap_or(&Format::UnifiedText), None)
            }
            Prepared::Fetch { schema: Some(schema), .. } | Prepared::Execute { schema: Some(schema), .. } => {
                pg_fields(schema, format.unwrap_or(&Format::UnifiedText), None)
            }
            Prepared::Show(name) => {
                let name = if name.eq_ignore_ascii_case("all") { "name" } else { name.as_str() };
                Ok(vec![FieldInfo::new(name.into(), None, None, Type::TEXT, pgwire::api::results::FieldFormat::Text)])
            }
            _ => Ok(Vec::new()),
        }
    }
}

/// A statement kept by `PREPARE`.
#[derive(Debug, Clone)]
pub(super) struct PreparedStatement {
    plan: LogicalPlan,
    redacted: String,
    /// The declared parameter types, as SQL.
    types: Vec<String>,
}

impl Session {
    fn prepare(&self, name: String, statement: PreparedStatement) -> PgWireResult<()> {
        let mut statements = self.statements.lock().map_err(|_| pg_error("XX000", "session state poisoned"))?;
        if statements.contains_key(&name) {
            return Err(pg_error("42P05", format!("prepared statement \"{name}\" already exists")));
        }
        statements.insert(name, statement);
        Ok(())
    }

    fn statement(&self, name: &str) -> PgWireResult<PreparedStatement> {
        let statements = self.statements.lock().map_err(|_| pg_error("XX000", "session state poisoned"))?;
        statements
            .get(name)
            .cloned()
            .ok_or_else(|| pg_error("26000", format!("prepared statement \"{name}\" does not exist")))
    }

    fn deallocate(&self, name: &str) -> PgWireResult<()> {
        let mut statements = self.statements.lock().map_err(|_| pg_error("XX000", "session state poisoned"))?;
        if name.eq_ignore_ascii_case("all") {
            statements.clear();
        } else if statements.remove(name).is_none() {
            return Err(pg_error("26000", format!("prepared statement \"{name}\" does not exist")));
        }
        Ok(())
    }
}

/// The values of `EXECUTE`'s parameters, cast to the declared types: constant expressions
/// only, evaluated in a context without tables.
async fn literal_values(parameters: &[Expr], types: &[String]) -> PgWireResult<Vec<ScalarValue>> {
    if parameters.is_empty() {
        return Ok(Vec::new());
    }
    let columns: Vec<String> = parameters
        .iter()
        .enumerate()
        .map(|(i, p)| match types.get(i) {
            Some(t) => format!("CAST({p} AS {t})"),
            None => p.to_string(),
        })
        .collect();
    let sql = format!("SELECT {}", columns.join(", "));
    let batches = SessionContext::new()
        .sql(&sql)
        .await
        .map_err(|e| engine_error(&e))?
        .collect()
        .await
        .map_err(|e| engine_error(&e))?;
    let batch = batches
        .first()
        .filter(|b| b.num_rows() == 1)
        .ok_or_else(|| pg_error("22023", "EXECUTE takes constant values"))?;
    batch.columns().iter().map(|column| ScalarValue::try_from_array(column, 0).map_err(|e| engine_error(&e))).collect()
}

/// Whether running the plan yields rows (not DDL or DML).
fn returns_rows(plan: &LogicalPlan) -> bool {
    !matches!(plan, LogicalPlan::Ddl(_) | LogicalPlan::Dml(_))
}

/// The placeholders' types in `$n` order (`None` where the planner could not tell).
fn parameter_types(plan: &LogicalPlan) -> PgWireResult<Vec<Option<DataType>>> {
    let types = plan.get_parameter_types().map_err(|e| engine_error(&e))?;
    let mut numbered: Vec<(usize, Option<DataType>)> = types
        .into_iter()
        .filter_map(|(name, t)| name.trim_start_matches('$').parse::<usize>().ok().map(|n| (n, t)))
        .collect();
    numbered.sort_by_key(|(n, _)| *n);
    Ok(numbered.into_iter().map(|(_, t)| t).collect())
}

fn ddl_tag(ddl: &DdlStatement) -> &'static str {
    match ddl {
        DdlStatement::CreateExternalTable(_) | DdlStatement::CreateMemoryTable(_) => "CREATE TABLE",
        DdlStatement::CreateView(_) => "CREATE VIEW",
        DdlStatement::CreateCatalogSchema(_) => "CREATE SCHEMA",
        DdlStatement::DropTable(_) => "DROP TABLE",
        DdlStatement::DropView(_) => "DROP VIEW",
        DdlStatement::DropCatalogSchema(_) => "DROP SCHEMA",
        DdlStatement::CreateFunction(_) => "CREATE FUNCTION",
        DdlStatement::DropFunction(_) => "DROP FUNCTION",
        _ => "OK",
    }
}

impl PgService {
    /// Runs a session command or a planned statement.
    async fn respond<C>(&self, client: &mut C, prepared: Prepared, format: &Format) -> PgWireResult<Response>
    where
        C: ClientInfo + Send + Sync,
    {
        match prepared {
            Prepared::Set { name, value } => settings::set(client, &name, value),
            Prepared::Show(name) => settings::show(client, &name),
            Prepared::Begin => Ok(Response::TransactionStart(Tag::new("BEGIN"))),
            Prepared::Commit => {
                session(client)?.cursors.end_transaction().await;
                Ok(Response::TransactionEnd(Tag::new("COMMIT")))
            }
            Prepared::Rollback => {
                session(client)?.cursors.end_transaction().await;
                Ok(Response::TransactionEnd(Tag::new("ROLLBACK")))
            }
            Prepared::Declare { name, plan, redacted, hold } => match self.execute(client, plan, redacted).await? {
                Execution::Rows { schema, batches } => {
                    session(client)?.cursors.declare(name, Cursor::new(schema, batches, hold)).await?;
                    Ok(Response::Execution(Tag::new("DECLARE CURSOR")))
                }
                Execution::Done(_) => Err(pg_error("42601", "a cursor needs a query")),
            },
            Prepared::Fetch { name, count, .. } => {
                let session = session(client)?;
                let schema = session
                    .cursors
                    .schema(&name)
                    .await
                    .ok_or_else(|| pg_error("34000", format!("cursor \"{name}\" does not exist")))?;
                let batches = session.cursors.fetch(&name, count).await.map_err(|e| match e {
                    FetchError::Unknown(name) => pg_error("34000", format!("cursor \"{name}\" does not exist")),
                    FetchError::Stopped(stop) => stop_error(&stop),
                })?;
                let options = Arc::new(FormatOptions::from_client_metadata(client.metadata()));
                let fields = Arc::new(pg_fields(&schema, format, Some(options))?);
                let rows: Vec<_> = batches
                    .into_iter()
                    .flat_map(|batch| arrow_pg::datatypes::encode_recordbatch(Arc::clone(&fields), batch))
                    .collect();
                let mut response = QueryResponse::new(fields, stream::iter(rows));
                response.set_command_tag("FETCH");
                Ok(Response::Query(response))
            }
            Prepared::Prepare { name, statement } => {
                session(client)?.prepare(name, statement)?;
                Ok(Response::Execution(Tag::new("PREPARE")))
            }
            Prepared::Execute { name, values, .. } => {
                let statement = session(client)?.statement(&name)?;
                let plan = statement.plan.with_param_values(values).map_err(|e| engine_error(&e))?;
                self.run(client, plan, format!("EXECUTE {name} ({})", statement.redacted), Some(format), None).await
            }
            Prepared::Discard => {
                let session = session(client)?;
                session.cursors.close(None).await?;
                session.deallocate("all")?;
                Ok(Response::Execution(Tag::new("DISCARD ALL")))
            }
            Prepared::Deallocate(name) => {
                session(client)?.deallocate(&name)?;
                Ok(Response::Execution(Tag::new("DEALLOCATE")))
            }
            Prepared::Close(name) => {
                session(client)?.cursors.close(name.as_deref()).await?;
                Ok(Response::Execution(Tag::new("CLOSE CURSOR")))
            }
            Prepared::Ignored(tag) => Ok(Response::Execution(Tag::new(tag))),
            Prepared::Query { plan, redacted } => self.run(client, plan, redacted, Some(format), None).await,
            Prepared::Copy { plan, redacted, copy } => self.run(client, plan, redacted, None, Some(copy)).await,
        }
    }

    /// Plans physically and runs `plan` with the role's memory budget and the shorter of the
    /// role's and the connection's time limits; rows stream under the same limit, cancellable.
    async fn run<C>(
        &self,
        client: &C,
        plan: LogicalPlan,
        redacted: String,
        format: Option<&Format>,
        copy: Option<CopyFormat>,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + Send + Sync,
    {
        match self.execute(client, plan, redacted).await? {
            Execution::Done(response) => Ok(response),
            Execution::Rows { schema, batches } => match copy {
                None => {
                    let options = Arc::new(FormatOptions::from_client_metadata(client.metadata()));
                    let fields = Arc::new(pg_fields(&schema, format.unwrap_or(&Format::UnifiedText), Some(options))?);
                    Ok(Response::Query(QueryResponse::new(Arc::clone(&fields), data_rows(batches, fields))))
                }
                Some(copy) => copy_out(&schema, batches, &copy),
            },
        }
    }

    /// Runs DDL and DML to completion; starts a query, whose rows are then read from the
    /// returned stream.
    async fn execute<C>(&self, client: &C, plan: LogicalPlan, redacted: String) -> PgWireResult<Execution>
    where
        C: ClientInfo + Send + Sync,
    {
        let session = session(client)?;
        let started = Instant::now();
        let role_limit = session.role.config.timeout_secs.map(std::time::Duration::from_secs);
        let timeout = match (role_limit, settings::statement_timeout(client)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut audit = Audit {
            user: session.identity.user.clone(),
            query: uuid::Uuid::new_v4().to_string(),
            sql: redacted,
            started,
            rows: 0,
            outcome: "failed",
            on_end: None,
        };
        let state = self.shared.policy.query_state(&session.role, &session.ctx);
        let ctx = SessionContext::new_with_state(state);
        let shape = match &plan {
            LogicalPlan::Ddl(ddl) => Some(ddl_tag(ddl)),
            LogicalPlan::Dml(_) => Some("INSERT"),
            _ => None,
        };
        let frame = match guard::within(timeout, ctx.execute_logical_plan(plan)).await {
            Ok(frame) => frame,
            Err(stop) => {
                let error = stop_error(&stop);
                audit.note::<()>(Some(&Err(stop)));
                return Err(error);
            }
        };
        if let Some(tag) = shape {
            // DDL ran while planning; DML runs now and reports its row count
            let batches = guard::within(timeout, frame.collect()).await.map_err(|stop| stop_error(&stop))?;
            let count = batches
                .first()
                .and_then(|b| b.column(0).as_any().downcast_ref::<arrow::array::UInt64Array>())
                .map_or(0, |counts| counts.value(0));
            audit.outcome = "ok";
            audit.rows = count;
            return Ok(Execution::Done(Response::Execution(if tag == "INSERT" {
                Tag::new(tag).with_oid(0).with_rows(usize::try_from(count).unwrap_or(usize::MAX))
            } else {
                Tag::new(tag)
            })));
        }
        let frame = crate::json_text::nested_columns_as_json(frame).map_err(|e| engine_error(&e))?;
        let deadline = timeout.and_then(|t| started.checked_add(t)).map(tokio::time::Instant::from_std);
        let cancel = client
            .session_extensions()
            .get::<CancelKey>()
            .map(|key| key.cancelled())
            .ok_or_else(|| pg_error("08P01", "not logged in"))?;
        let schema = Arc::new(frame.schema().as_arrow().clone());
        audit.outcome = "abandoned";
        Ok(Execution::Rows {
            schema,
            batches: Box::pin(guard::guarded(frame, &self.shared.policy.compute, deadline, cancel, audit)),
        })
    }
}

/// A started statement.
enum Execution {
    Done(Response),
    /// A query's batches, audited as they are read.
    Rows {
        schema: SchemaRef,
        batches: Batches,
    },
}

/// The query's batches as data rows.
fn data_rows(
    batches: Batches,
    fields: Arc<Vec<FieldInfo>>,
) -> impl futures::Stream<Item = PgWireResult<pgwire::messages::data::DataRow>> + Send + 'static {
    batches.flat_map(move |item| {
        let rows: Vec<_> = match item {
            Ok(batch) => arrow_pg::datatypes::encode_recordbatch(Arc::clone(&fields), batch).collect(),
            Err(stop) => vec![Err(stop_error(&stop))],
        };
        stream::iter(rows)
    })
}

/// Sets a COPY option (a delimiter or a NULL string) when the statement gave one.
fn copy_option<T: for<'a> From<&'a str>>(option: &mut T, given: Option<&str>) {
    if let Some(given) = given {
        *option = given.into();
    }
}

/// `COPY … TO STDOUT`: one CopyData message per row in text or CSV format (the header, if
/// asked for, travels with the first row).
fn copy_out(schema: &Arc<Schema>, batches: Batches, copy: &CopyFormat) -> PgWireResult<Response> {
    let fields = Arc::new(pg_fields(schema, &Format::UnifiedText, None)?);
    let columns = fields.len();
    let delimiter = copy.delimiter.map(String::from);
    let mut encoder = if copy.csv {
        let mut options = CopyCsvOptions::default();
        copy_option(&mut options.delimiter, delimiter.as_deref());
        copy_option(&mut options.null_string, copy.null.as_deref());
        CopyEncoder::new_csv(Arc::clone(&fields), options)
    } else {
        let mut options = CopyTextOptions::default();
        copy_option(&mut options.delimiter, delimiter.as_deref());
        copy_option(&mut options.null_string, copy.null.as_deref());
        CopyEncoder::new_text(Arc::clone(&fields), options)
    };
    let mut header = copy.header.then(|| {
        let separator = delimiter.clone().unwrap_or_else(|| if copy.csv { ",".into() } else { "\t".into() });
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        format!("{}\n", names.join(&separator))
    });
    let schema = Arc::clone(schema);
    let data = batches.flat_map(move |item| {
        let batch = match item {
            Ok(batch) => batch,
            Err(stop) => return stream::iter(vec![Err(stop_error(&stop))]),
        };
        let mut messages = Vec::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            for (column, field) in fields.iter().enumerate() {
                let encoded = arrow_pg::encoder::encode_value(
                    &mut encoder,
                    batch.column(column),
                    row,
                    schema.field(column),
                    field,
                );
                if let Err(e) = encoded {
                    messages.push(Err(e));
                    return stream::iter(messages);
                }
            }
            let mut data = encoder.take_copy();
            if let Some(header) = header.take() {
                let mut joined = bytes::BytesMut::from(header.as_bytes());
                joined.extend_from_slice(&data.data);
                data.data = joined.freeze();
            }
            messages.push(Ok(data));
        }
        stream::iter(messages)
    });
    Ok(Response::CopyOut(CopyResponse::new(0, columns, data)))
}

#[async_trait]
impl SimpleQueryHandler for PgService {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = session(client)?;
        check_text(&PostgreSqlDialect {}, query).map_err(|e| pg_error("54001", e))?;
        let statements = self.parser.sql.parse(query).map_err(|e| pg_error("42601", e.to_string()))?;
        if statements.is_empty() {
            return Ok(vec![Response::EmptyQuery]);
        }
        let mut responses = Vec::with_capacity(statements.len());
        for statement in statements {
            let answered = match self.parser.prepare(&session, statement).await {
                Ok(prepared) => self.respond(client, prepared, &Format::UnifiedText).await,
                Err(e) => Err(e),
            };
            match answered {
                Ok(response) => responses.push(response),
                Err(e) => {
                    // PostgreSQL stops at the first failing statement of a query string
                    responses.push(Response::Error(Box::new(ErrorInfo::from(e))));
                    break;
                }
            }
        }
        Ok(responses)
    }
}

#[async_trait]
impl ExtendedQueryHandler for PgService {
    type Statement = Prepared;
    type QueryParser = PgParser;

    fn query_parser(&self) -> Arc<PgParser> {
        Arc::clone(&self.parser)
    }

    /// Describes an open cursor as a portal (psycopg asks for its columns that way).
    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let (TARGET_TYPE_BYTE_PORTAL, Some(name)) = (message.target_type, message.name.as_deref()) {
            if client.portal_store().get_portal(name).is_none() {
                if let Some(schema) = session(client)?.cursors.schema(name).await {
                    let fields = pg_fields(&schema, &Format::UnifiedText, None)?;
                    return send_describe_response(client, &DescribePortalResponse::new(fields)).await;
                }
            }
        }
        self._on_describe(client, message).await
    }

    async fn do_query<C>(&self, client: &mut C, portal: &Portal<Prepared>, _max_rows: usize) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let prepared = portal.statement.statement.clone();
        let prepared = match prepared {
            Prepared::Query { plan, redacted } => Prepared::Query { plan: bind(portal, plan)?, redacted },
            Prepared::Copy { plan, redacted, copy } => Prepared::Copy { plan: bind(portal, plan)?, redacted, copy },
            other => other,
        };
        self.respond(client, prepared, &portal.result_column_format).await
    }
}

/// The Arrow type of a parameter the planner could not type, from the type the client sent
/// it with (text when none).
fn hinted_type(hint: Option<&Type>) -> DataType {
    match hint {
        Some(t) if *t == Type::BOOL => DataType::Boolean,
        Some(t) if *t == Type::INT2 => DataType::Int16,
        Some(t) if *t == Type::INT4 => DataType::Int32,
        Some(t) if *t == Type::INT8 => DataType::Int64,
        Some(t) if *t == Type::FLOAT4 => DataType::Float32,
        Some(t) if *t == Type::FLOAT8 || *t == Type::NUMERIC => DataType::Float64,
        Some(t) if *t == Type::DATE => DataType::Date32,
        _ => DataType::Utf8,
    }
}

/// The plan with the portal's parameter values in place of its placeholders. A parameter the
/// planner could not type takes the client's type for it (text when the client sent none).
fn bind(portal: &Portal<Prepared>, plan: LogicalPlan) -> PgWireResult<LogicalPlan> {
    let types = parameter_types(&plan)?;
    if types.is_empty() && portal.parameter_len() == 0 {
        return Ok(plan);
    }
    let hints = &portal.statement.parameter_types;
    let types: Vec<DataType> = types
        .into_iter()
        .enumerate()
        .map(|(i, t)| t.unwrap_or_else(|| hinted_type(hints.get(i).cloned().flatten().as_ref())))
        .collect();
    let refs: Vec<Option<&DataType>> = types.iter().map(Some).collect();
    let values: ParamValues = arrow_pg::datatypes::df::deserialize_parameters(portal, &refs)?;
    plan.replace_params_with_values(&values).map_err(|e| engine_error(&e))
}

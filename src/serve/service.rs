//! The Flight SQL service: authentication on every call, role catalogs, per-query limits,
//! statements, prepared statements, metadata and cancellation.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow::datatypes::{DataType, Field, Schema};
use arrow::ipc::writer::IpcWriteOptions;
use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::metadata::{SqlInfoData, XdbcTypeInfoData};
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionCancelQueryRequest, ActionCancelQueryResult, ActionClosePreparedStatementRequest,
    ActionCreatePreparedStatementRequest, ActionCreatePreparedStatementResult, Any, CommandGetCatalogs,
    CommandGetDbSchemas, CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables, CommandGetXdbcTypeInfo,
    CommandPreparedStatementQuery, CommandStatementQuery, CommandStatementUpdate, DoPutPreparedStatementResult,
    ProstMessageExt, SqlInfo, TicketStatementQuery,
};
use arrow_flight::{
    Action, CancelFlightInfoRequest, CancelFlightInfoResult, CancelStatus, FlightData, FlightDescriptor,
    FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse, IpcMessage, SchemaAsIpc, Ticket,
};
use datafusion::common::{DataFusionError, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{DataFrame, SessionContext};
use futures::{Stream, StreamExt, TryStreamExt};
use prost::Message;
use tokio::sync::Notify;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};

use super::auth::{peer_ip, refusal_status, Authenticator, Identity};
use super::guard::{self, Audit, Stop};
use super::metadata::{sql_info, xdbc_type_info};
use super::policy::{Policy, Refusal, RoleContext};
use super::statement;

/// Running queries by ticket handle: owner and cancellation signal.
type Running = Mutex<HashMap<String, (Identity, Arc<Notify>)>>;

type DoGetStream = Pin<Box<dyn Stream<Item = Result<FlightData, Status>> + Send + 'static>>;
type DoActionStream = Pin<Box<dyn Stream<Item = Result<arrow_flight::Result, Status>> + Send + 'static>>;

/// Most unfetched query results, and most open prepared statements, one user may hold.
const MAX_OPEN_HANDLES_PER_USER: usize = 1_000;

/// A planned query waiting for its `DoGet`.
struct Pending {
    identity: Identity,
    frame: DataFrame,
    redacted: String,
    planned: Instant,
    timeout: Option<Duration>,
}

/// A prepared statement and its bound parameters.
struct Prepared {
    identity: Identity,
    plan: LogicalPlan,
    redacted: String,
    parameters: Option<Vec<ScalarValue>>,
    touched: Instant,
}

/// Persona's Flight SQL service.
pub struct PersonaFlightSql {
    auth: Arc<Authenticator>,
    /// Password checks (argon2, deliberately slow) run on blocking threads, two at a time.
    login_slots: tokio::sync::Semaphore,
    policy: Arc<Policy>,
    ttl: Duration,
    pending: Mutex<HashMap<String, Pending>>,
    prepared: Mutex<HashMap<String, Prepared>>,
    running: Arc<Running>,
    sql_info: SqlInfoData,
    xdbc: XdbcTypeInfoData,
}

impl std::fmt::Debug for PersonaFlightSql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonaFlightSql").field("policy", &self.policy).finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>, Status> {
    mutex.lock().map_err(|_| Status::internal("server state poisoned"))
}

/// Maps DataFusion errors to gRPC codes: bad SQL and plans → INVALID_ARGUMENT, memory →
/// RESOURCE_EXHAUSTED, unsupported → UNIMPLEMENTED, a failed object-store request → UNAVAILABLE, the rest → INTERNAL.
/// Messages go through [`crate::store::redact`].
pub fn status(error: DataFusionError) -> Status {
    // an object store's message may quote what it was configured with: never a credential
    let message = crate::store::redact(&error.to_string());
    match error.find_root() {
        DataFusionError::ResourcesExhausted(_) => Status::resource_exhausted(message),
        DataFusionError::NotImplemented(_) => Status::unimplemented(message),
        DataFusionError::SQL(..) | DataFusionError::Plan(_) | DataFusionError::SchemaError(..) => {
            Status::invalid_argument(message)
        }
        DataFusionError::Execution(_) | DataFusionError::ArrowError(..) => Status::invalid_argument(message),
        DataFusionError::ObjectStore(_) => Status::unavailable(message),
        _ => Status::internal(message),
    }
}

fn new_handle() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn schema_bytes(schema: &Schema) -> Result<bytes::Bytes, Status> {
    let message: IpcMessage = SchemaAsIpc::new(schema, &IpcWriteOptions::default())
        .try_into()
        .map_err(|e: arrow::error::ArrowError| Status::internal(e.to_string()))?;
    Ok(message.0)
}

impl PersonaFlightSql {
    /// A service over `base` (the engine with the lake) for `config`.
    ///
    /// # Errors
    /// Role contexts that do not build (see [`Policy::build`]).
    pub async fn new(base: &SessionContext, config: &super::ServerConfig) -> datafusion::common::Result<Self> {
        let policy = Arc::new(Policy::build(base, config).await?);
        Self::with_policy(policy, Arc::new(Authenticator::new(config)), config)
    }

    /// A service over roles and users built already (shared with the PostgreSQL endpoint).
    pub(super) fn with_policy(
        policy: Arc<Policy>,
        auth: Arc<Authenticator>,
        config: &super::ServerConfig,
    ) -> datafusion::common::Result<Self> {
        Ok(Self {
            auth,
            login_slots: tokio::sync::Semaphore::new(2),
            policy,
            ttl: Duration::from_secs(config.server.ticket_ttl_secs),
            pending: Mutex::new(HashMap::new()),
            prepared: Mutex::new(HashMap::new()),
            running: Arc::new(Mutex::new(HashMap::new())),
            sql_info: sql_info()?,
            xdbc: xdbc_type_info()?,
        })
    }

    fn caller<T>(&self, request: &Request<T>) -> Result<(Identity, Arc<RoleContext>), Status> {
        let identity = self.auth.check(request.metadata())?;
        let role = self
            .policy
            .role(&identity.role)
            .ok_or_else(|| Status::permission_denied(format!("role '{}' is not defined", identity.role)))?;
        Ok((identity, role))
    }

    /// A session for one query: the role's catalog with a memory budget of its own.
    fn query_state(&self, role: &RoleContext) -> SessionState {
        self.policy.query_state(role, &role.ctx)
    }

    /// Parses, checks table permissions and plans `sql` for the caller.
    async fn plan(&self, role: &RoleContext, state: &SessionState, sql: &str) -> Result<(LogicalPlan, String), Status> {
        let parsed = statement::parse(state, sql).map_err(status)?;
        let plan = self.policy.plan(role, state, parsed.statement).await.map_err(|refusal| match refusal {
            Refusal::Denied(message) => Status::permission_denied(message),
            Refusal::Engine(e) => status(e),
        })?;
        Ok((plan, parsed.redacted))
    }

    /// Runs DDL now (queries stay lazy) and parks the frame until its `DoGet`.
    async fn park(
        &self,
        identity: Identity,
        role: &RoleContext,
        state: SessionState,
        plan: LogicalPlan,
        redacted: String,
        descriptor: FlightDescriptor,
    ) -> Result<Response<FlightInfo>, Status> {
        let planned = Instant::now();
        let timeout = role.config.timeout_secs.map(Duration::from_secs);
        let frame = within(timeout, SessionContext::new_with_state(state).execute_logical_plan(plan)).await?;
        let schema = flight_schema(frame.schema().as_arrow());
        let handle = new_handle();
        tracing::info!(user = %identity.user, role = %role.name, query = %handle, sql = %redacted, "planned");
        let mut pending = lock(&self.pending)?;
        let ttl = self.ttl;
        pending.retain(|_, p| p.planned.elapsed() < ttl);
        if pending.values().filter(|p| p.identity == identity).count() >= MAX_OPEN_HANDLES_PER_USER {
            return Err(Status::resource_exhausted("too many unfetched query results; fetch or cancel some"));
        }
        pending.insert(handle.clone(), Pending { identity, frame, redacted, planned, timeout });
        drop(pending);
        let ticket = TicketStatementQuery { statement_handle: handle.into_bytes().into() };
        let endpoint = FlightEndpoint::new().with_ticket(Ticket::new(ticket.as_any().encode_to_vec()));
        let info = FlightInfo::new()
            .try_with_schema(&schema)
            .map_err(|e| Status::internal(e.to_string()))?
            .with_endpoint(endpoint)
            .with_descriptor(descriptor)
            .with_total_records(-1)
            .with_total_bytes(-1);
        Ok(Response::new(info))
    }

    /// Streams a parked query: deadline, cancellation, row count and an audit line at the end.
    async fn run(&self, identity: &Identity, handle: &str) -> Result<Response<DoGetStream>, Status> {
        let pending = {
            let mut pending = lock(&self.pending)?;
            match pending.get(handle) {
                Some(p) if &p.identity == identity => pending.remove(handle),
                _ => None,
            }
        };
        let Some(pending) = pending else {
            return Err(Status::not_found("unknown, expired or foreign ticket"));
        };
        let cancel = Arc::new(Notify::new());
        lock(&self.running)?.insert(handle.to_string(), (identity.clone(), Arc::clone(&cancel)));
        let running = Arc::clone(&self.running);
        let forget = handle.to_string();
        let audit = Audit {
            user: identity.user.clone(),
            query: handle.to_string(),
            sql: pending.redacted,
            started: pending.planned,
            rows: 0,
            outcome: "abandoned",
            on_end: Some(Box::new(move || {
                if let Ok(mut running) = running.lock() {
                    running.remove(&forget);
                }
            })),
        };
        let deadline = pending.timeout.and_then(|t| pending.planned.checked_add(t)).map(tokio::time::Instant::from_std);
        let schema = Arc::new(pending.frame.schema().as_arrow().clone());
        let batches = guard::guarded(
            pending.frame,
            &self.policy.compute,
            deadline,
            async move { cancel.notified().await },
            audit,
        )
        .map_err(stop_status);
        let flight = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(batches.map_err(FlightError::from))
            .map_err(Status::from);
        Ok(Response::new(Box::pin(flight)))
    }

    /// Cancels the caller's own queries named by the tickets of `info`.
    fn cancel_tickets(&self, identity: &Identity, info: &FlightInfo) -> Result<CancelStatus, Status> {
        let mut status = CancelStatus::NotCancellable;
        for endpoint in &info.endpoint {
            let Some(ticket) = &endpoint.ticket else { continue };
            let Ok(any) = Any::decode(ticket.ticket.as_ref()) else { continue };
            let Ok(Some(query)) = any.unpack::<TicketStatementQuery>() else { continue };
            let handle = String::from_utf8_lossy(&query.statement_handle).to_string();
            {
                let mut pending = lock(&self.pending)?;
                if pending.get(&handle).is_some_and(|p| &p.identity == identity) {
                    pending.remove(&handle);
                    status = CancelStatus::Cancelled;
                }
            }
            if let Some((owner, cancel)) = lock(&self.running)?.get(&handle) {
                if owner == identity {
                    cancel.notify_one();
                    status = CancelStatus::Cancelled;
                }
            }
        }
        Ok(status)
    }
}

/// The status a stopped query ends with.
fn stop_status(stop: Stop) -> Status {
    match stop {
        Stop::Cancelled => Status::cancelled("query cancelled"),
        Stop::Timeout => Status::deadline_exceeded("query timeout reached"),
        Stop::Engine(e) => status(e),
    }
}

/// Runs `work` within the optional time limit.
async fn within<T>(
    timeout: Option<Duration>,
    work: impl std::future::Future<Output = datafusion::common::Result<T>>,
) -> Result<T, Status> {
    guard::within(timeout, work).await.map_err(stop_status)
}

/// The schema as the encoder sends it: dictionary-encoded columns (hive partition columns,
/// for instance) travel as their value type.
fn flight_schema(schema: &Schema) -> Schema {
    fn hydrate(data_type: &DataType) -> DataType {
        match data_type {
            DataType::Dictionary(_, value) => hydrate(value),
            DataType::List(field) => DataType::List(Arc::new(hydrate_field(field))),
            DataType::LargeList(field) => DataType::LargeList(Arc::new(hydrate_field(field))),
            DataType::Struct(fields) => DataType::Struct(fields.iter().map(|f| hydrate_field(f)).collect()),
            other => other.clone(),
        }
    }
    fn hydrate_field(field: &Field) -> Field {
        field.clone().with_data_type(hydrate(field.data_type()))
    }
    Schema::new(schema.fields().iter().map(|f| hydrate_field(f)).collect::<Vec<_>>())
        .with_metadata(schema.metadata().clone())
}

fn metadata_info(any: &Any, schema: &Schema, descriptor: FlightDescriptor) -> Result<Response<FlightInfo>, Status> {
    let endpoint = FlightEndpoint::new().with_ticket(Ticket::new(any.encode_to_vec()));
    let info = FlightInfo::new()
        .try_with_schema(schema)
        .map_err(|e| Status::internal(e.to_string()))?
        .with_endpoint(endpoint)
        .with_descriptor(descriptor);
    Ok(Response::new(info))
}

fn one_batch(
    schema: arrow::datatypes::SchemaRef,
    batch: Result<arrow::array::RecordBatch, FlightError>,
) -> Response<DoGetStream> {
    let stream = FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .build(futures::stream::once(async move { batch }))
        .map_err(Status::from);
    Response::new(Box::pin(stream))
}

fn table_type_name(table_type: TableType, schema: &str) -> &'static str {
    match table_type {
        _ if schema == "information_schema" => "SYSTEM TABLE",
        TableType::Base => "TABLE",
        TableType::View => "VIEW",
        TableType::Temporary => "LOCAL TEMPORARY",
    }
}

/// Values of one parameter row, cast to the placeholder types the plan inferred.
fn parameter_row(plan: &LogicalPlan, batches: &[arrow::array::RecordBatch]) -> Result<Vec<ScalarValue>, Status> {
    let rows: usize = batches.iter().map(arrow::array::RecordBatch::num_rows).sum();
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Err(Status::invalid_argument("no parameter values were bound"));
    };
    if rows != 1 {
        return Err(Status::invalid_argument(format!(
            "bind one row of parameters per execution of a query ({rows} rows were bound)"
        )));
    }
    let types = plan.get_parameter_types().map_err(status)?;
    batch
        .columns()
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let value = ScalarValue::try_from_array(column, 0).map_err(status)?;
            match types.get(&format!("${}", i + 1)) {
                Some(Some(target)) if target != &value.data_type() => value.cast_to(target).map_err(status),
                _ => Ok(value),
            }
        })
        .collect()
}

fn parameter_schema(plan: &LogicalPlan) -> Result<Schema, Status> {
    let types = plan.get_parameter_types().map_err(status)?;
    let mut fields: Vec<(usize, Field)> = types
        .into_iter()
        .map(|(name, data_type)| {
            let position = name.trim_start_matches('$').parse::<usize>().unwrap_or(usize::MAX);
            (position, Field::new(name, data_type.unwrap_or(DataType::Null), true))
        })
        .collect();
    fields.sort_by_key(|(position, _)| *position);
    Ok(Schema::new(fields.into_iter().map(|(_, f)| f).collect::<Vec<_>>()))
}

#[tonic::async_trait]
impl FlightSqlService for PersonaFlightSql {
    type FlightService = Self;

    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>>, Status> {
        let peer = peer_ip(request.remote_addr());
        let metadata = request.metadata().clone();
        // a throttled pair is refused before it queues for a password check
        let (user, _) = Authenticator::basic_credentials(&metadata)?;
        if let Some(refusal) = self.auth.throttled(peer, &user) {
            return Err(refusal_status(refusal));
        }
        let _slot = self.login_slots.acquire().await.map_err(|_| Status::unavailable("shutting down"))?;
        let auth = Arc::clone(&self.auth);
        let (token, identity) = tokio::task::spawn_blocking(move || auth.handshake(&metadata, peer))
            .await
            .map_err(|e| Status::internal(format!("login task: {e}")))??;
        tracing::info!(user = %identity.user, role = %identity.role, "authenticated");
        let bearer = format!("Bearer {token}");
        let reply = HandshakeResponse { protocol_version: 0, payload: token.into_bytes().into() };
        let mut response: Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>> =
            Response::new(Box::pin(futures::stream::iter([Ok(reply)])));
        let value = MetadataValue::try_from(bearer.as_str()).map_err(|e| Status::internal(e.to_string()))?;
        response.metadata_mut().insert("authorization", value);
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let (identity, role) = self.caller(&request)?;
        let state = self.query_state(&role);
        let (plan, redacted) = self.plan(&role, &state, &query.query).await?;
        self.park(identity, &role, state, plan, redacted, request.into_inner()).await
    }

    async fn get_flight_info_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let (identity, role) = self.caller(&request)?;
        let handle = String::from_utf8_lossy(&query.prepared_statement_handle).to_string();
        let (plan, redacted) = {
            let mut prepared = lock(&self.prepared)?;
            let Some(statement) = prepared.get_mut(&handle).filter(|p| p.identity == identity) else {
                return Err(Status::not_found("unknown or expired prepared statement"));
            };
            statement.touched = Instant::now();
            let plan = match &statement.parameters {
                Some(values) => statement.plan.clone().with_param_values(values.clone()).map_err(status)?,
                None if statement.plan.get_parameter_types().map_err(status)?.is_empty() => statement.plan.clone(),
                None => return Err(Status::invalid_argument("the prepared statement has unbound parameters")),
            };
            (plan, statement.redacted.clone())
        };
        let state = self.query_state(&role);
        self.park(identity, &role, state, plan, redacted, request.into_inner()).await
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.caller(&request)?;
        let schema = query.into_builder().schema();
        metadata_info(&query.as_any(), &schema, request.into_inner())
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.caller(&request)?;
        let schema = query.clone().into_builder().schema();
        metadata_info(&query.as_any(), &schema, request.into_inner())
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.caller(&request)?;
        let schema = query.clone().into_builder().schema();
        metadata_info(&query.as_any(), &schema, request.into_inner())
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.caller(&request)?;
        let schema = query.into_builder().schema();
        metadata_info(&query.as_any(), &schema, request.into_inner())
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.caller(&request)?;
        let schema = query.clone().into_builder(&self.sql_info).schema();
        metadata_info(&query.as_any(), &schema, request.into_inner())
    }

    async fn get_flight_info_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.caller(&request)?;
        let schema = query.into_builder(&self.xdbc).schema();
        metadata_info(&query.as_any(), &schema, request.into_inner())
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let (identity, _) = self.caller(&request)?;
        let handle = String::from_utf8_lossy(&ticket.statement_handle).to_string();
        self.run(&identity, &handle).await
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let (_, role) = self.caller(&request)?;
        let mut builder = query.into_builder();
        for catalog in role.ctx.catalog_names() {
            builder.append(catalog);
        }
        Ok(one_batch(builder.schema(), builder.build()))
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let (_, role) = self.caller(&request)?;
        let mut builder = query.into_builder();
        for catalog_name in role.ctx.catalog_names() {
            let Some(catalog) = role.ctx.catalog(&catalog_name) else { continue };
            for schema in catalog.schema_names() {
                builder.append(&catalog_name, schema);
            }
        }
        Ok(one_batch(builder.schema(), builder.build()))
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let (_, role) = self.caller(&request)?;
        let mut builder = query.into_builder();
        for catalog_name in role.ctx.catalog_names() {
            let Some(catalog) = role.ctx.catalog(&catalog_name) else { continue };
            for schema_name in catalog.schema_names() {
                let Some(schema) = catalog.schema(&schema_name) else { continue };
                for table_name in schema.table_names() {
                    let Some(table) = schema.table(&table_name).await.map_err(status)? else { continue };
                    builder
                        .append(
                            &catalog_name,
                            &schema_name,
                            &table_name,
                            table_type_name(table.table_type(), &schema_name),
                            table.schema().as_ref(),
                        )
                        .map_err(|e| Status::internal(e.to_string()))?;
                }
            }
        }
        Ok(one_batch(builder.schema(), builder.build()))
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.caller(&request)?;
        let mut builder = query.into_builder();
        for table_type in ["LOCAL TEMPORARY", "SYSTEM TABLE", "TABLE", "VIEW"] {
            builder.append(table_type);
        }
        Ok(one_batch(builder.schema(), builder.build()))
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.caller(&request)?;
        let builder = query.into_builder(&self.sql_info);
        Ok(one_batch(builder.schema(), builder.build()))
    }

    async fn do_get_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.caller(&request)?;
        let builder = query.into_builder(&self.xdbc);
        Ok(one_batch(builder.schema(), builder.build()))
    }

    async fn do_put_statement_update(
        &self,
        command: CommandStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        let (identity, role) = self.caller(&request)?;
        let state = self.query_state(&role);
        let (plan, redacted) = self.plan(&role, &state, &command.query).await?;
        if !matches!(plan, LogicalPlan::Ddl(_) | LogicalPlan::Dml(_) | LogicalPlan::Copy(_)) {
            return Err(Status::invalid_argument("an update must be DDL, INSERT or COPY; run queries as statements"));
        }
        let started = Instant::now();
        let timeout = role.config.timeout_secs.map(Duration::from_secs);
        let batches = within(timeout, async {
            SessionContext::new_with_state(state).execute_logical_plan(plan).await?.collect().await
        })
        .await?;
        let count = batches
            .iter()
            .filter_map(|b| b.column_by_name("count"))
            .filter_map(|c| {
                c.as_any().downcast_ref::<arrow::array::UInt64Array>().map(|a| a.iter().flatten().sum::<u64>())
            })
            .sum::<u64>();
        tracing::info!(user = %identity.user, role = %role.name, sql = %redacted, rows = count,
            ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX), outcome = "ok", "update finished");
        i64::try_from(count).map_err(|_| Status::internal("row count overflows i64"))
    }

    async fn do_put_prepared_statement_query(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        let (identity, _) = self.caller(&request)?;
        let handle = String::from_utf8_lossy(&query.prepared_statement_handle).to_string();
        let plan = {
            let prepared = lock(&self.prepared)?;
            let Some(statement) = prepared.get(&handle).filter(|p| p.identity == identity) else {
                return Err(Status::not_found("unknown or expired prepared statement"));
            };
            statement.plan.clone()
        };
        // read until a second row shows up: one row per execution is all a query binds
        let mut stream = FlightRecordBatchStream::new_from_flight_data(request.into_inner().map_err(FlightError::from));
        let mut batches = Vec::new();
        let mut rows = 0;
        while rows < 2 {
            let Some(batch) = stream.next().await else { break };
            let batch = batch.map_err(|e| Status::invalid_argument(format!("parameter batch: {e}")))?;
            rows += batch.num_rows();
            batches.push(batch);
        }
        let values = parameter_row(&plan, &batches)?;
        let mut prepared = lock(&self.prepared)?;
        let Some(statement) = prepared.get_mut(&handle) else {
            return Err(Status::not_found("prepared statement closed while binding"));
        };
        statement.parameters = Some(values);
        statement.touched = Instant::now();
        Ok(DoPutPreparedStatementResult { prepared_statement_handle: Some(handle.into_bytes().into()) })
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let (identity, role) = self.caller(&request)?;
        let state = self.query_state(&role);
        let (plan, redacted) = self.plan(&role, &state, &query.query).await?;
        if matches!(plan, LogicalPlan::Ddl(_) | LogicalPlan::Dml(_) | LogicalPlan::Copy(_)) {
            return Err(Status::invalid_argument("only queries can be prepared"));
        }
        let dataset_schema = schema_bytes(&flight_schema(plan.schema().as_arrow()))?;
        let parameter_schema = schema_bytes(&parameter_schema(&plan)?)?;
        let handle = new_handle();
        let mut prepared = lock(&self.prepared)?;
        let ttl = self.ttl;
        prepared.retain(|_, p| p.touched.elapsed() < ttl);
        if prepared.values().filter(|p| p.identity == identity).count() >= MAX_OPEN_HANDLES_PER_USER {
            return Err(Status::resource_exhausted("too many open prepared statements; close some"));
        }
        prepared
            .insert(handle.clone(), Prepared { identity, plan, redacted, parameters: None, touched: Instant::now() });
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: handle.into_bytes().into(),
            dataset_schema,
            parameter_schema,
        })
    }

    async fn do_action_close_prepared_statement(
        &self,
        query: ActionClosePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<(), Status> {
        let (identity, _) = self.caller(&request)?;
        let handle = String::from_utf8_lossy(&query.prepared_statement_handle).to_string();
        let mut prepared = lock(&self.prepared)?;
        if prepared.get(&handle).is_some_and(|p| p.identity == identity) {
            prepared.remove(&handle);
        }
        Ok(())
    }

    async fn do_action_cancel_query(
        &self,
        query: ActionCancelQueryRequest,
        request: Request<Action>,
    ) -> Result<ActionCancelQueryResult, Status> {
        let (identity, _) = self.caller(&request)?;
        let info = FlightInfo::decode(query.info.as_ref()).map_err(|e| Status::invalid_argument(e.to_string()))?;
        // ActionCancelQueryResult.CancelResult: 1 = CANCELLED, 3 = NOT_CANCELLABLE.
        let result = match self.cancel_tickets(&identity, &info)? {
            CancelStatus::Cancelled => 1,
            _ => 3,
        };
        Ok(ActionCancelQueryResult { result })
    }

    async fn do_action_fallback(
        &self,
        request: Request<Action>,
    ) -> Result<Response<<Self as FlightService>::DoActionStream>, Status> {
        let (identity, _) = self.caller(&request)?;
        if request.get_ref().r#type != "CancelFlightInfo" {
            return Err(Status::invalid_argument(format!("unknown action '{}'", request.get_ref().r#type)));
        }
        let cancel = CancelFlightInfoRequest::decode(request.get_ref().body.as_ref())
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let info = cancel.info.ok_or_else(|| Status::invalid_argument("CancelFlightInfo without FlightInfo"))?;
        let result = CancelFlightInfoResult::new(self.cancel_tickets(&identity, &info)?);
        let body = arrow_flight::Result { body: result.encode_to_vec().into() };
        let stream: DoActionStream = Box::pin(futures::stream::iter([Ok(body)]));
        Ok(Response::new(stream))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}

//! The `persona` command: SQL shell (default), `generate`, `demo` and `functions`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use clap::{Args, Parser, Subcommand};
use datafusion::common::{plan_err, DataFusionError, Result};
use datafusion::prelude::SessionContext;
use datafusion_cli::exec::{exec_from_commands, exec_from_repl};
use datafusion_cli::functions::ParquetMetadataFunc;
use datafusion_cli::object_storage::instrumented::InstrumentedObjectStoreRegistry;
use datafusion_cli::print_format::PrintFormat;
use datafusion_cli::print_options::{MaxRows, PrintOptions};
use persona::demo_lake::ensure_demo_lake;
use persona::generate::{generate, publish_to_store, GenerateOptions, MAX_CUSTOMERS, MAX_MONTHS};
use persona::serve::ServerConfig;
use persona::shell::{banner, ShellContext};
use persona::size::parse_size;
use persona::store::{redact, StorageOptions};
use persona::EngineBuilder;

/// Customer-analytics SQL on Apache DataFusion. Without a subcommand, an interactive SQL
/// shell (or the statements of -c/-f) over a Parquet lake.
#[derive(Parser, Debug)]
#[command(name = "persona", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    shell: ShellArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a synthetic demo lake of a consumer-finance lender.
    Generate(GenerateArgs),
    /// Run the analyst recipes of sql/ on a lake (the demo lake by default).
    Demo(DemoArgs),
    /// Print the function catalogue (Markdown, as docs/functions.md).
    Functions,
    /// Profile the data quality of lake tables: every column in one pass per table (NULLs,
    /// distinct values, ranges, quantiles, top values, invalid IDs/mobiles/e-mails, negative
    /// amounts, future dates) and duplicate keys.
    Profile(ProfileArgs),
    /// Write a self-contained HTML report with charts (segmentation, campaigns, drift, credit,
    /// baskets, data quality, lifetime), or the charts as SVG files.
    Report(ReportArgs),
    /// Serve a lake over Arrow Flight SQL with authentication, roles and PII masking.
    Serve(ServeArgs),
    /// Read a secret from stdin and print its argon2 hash (for `password_hash`) and its
    /// SHA-256 (for a static token's `sha256`).
    HashSecret,
    /// Run an Apache DataFusion Ballista scheduler with every Persona function.
    Scheduler(SchedulerArgs),
    /// Run a Ballista executor with every Persona function, registered with a scheduler.
    Executor(ExecutorArgs),
}

#[derive(Args, Debug)]
struct SchedulerArgs {
    /// Address clients and executors connect to.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
    bind: std::net::SocketAddr,
    #[command(flatten)]
    node: NodeArgs,
}

/// What a scheduler and an executor both take.
#[derive(Args, Debug)]
struct NodeArgs {
    /// An option of the lake's object store (repeatable), as for the shell.
    #[arg(long = "storage", value_name = "KEY=VALUE")]
    storage: Vec<String>,
    /// Environment variable holding `persona serve`'s pseudonym key (its
    /// `pseudonym_key_env`), for a server with pseudonymised columns on this cluster.
    #[arg(long, value_name = "VAR")]
    pseudonym_key_env: Option<String>,
    /// Log lines as JSON instead of text.
    #[arg(long)]
    json_logs: bool,
}

impl NodeArgs {
    /// Starts the log and reads the storage options and the pseudonym key.
    fn start(&self) -> Result<(StorageOptions, Option<String>)> {
        init_logs(self.json_logs);
        let key = match &self.pseudonym_key_env {
            Some(var) => Some(persona::serve::read_pseudonym_key(var, "--pseudonym-key-env")?),
            None => None,
        };
        Ok((storage_options(&self.storage)?, key))
    }
}

#[derive(Args, Debug)]
struct ExecutorArgs {
    /// The scheduler's address.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
    scheduler: String,
    /// Arrow Flight address (shuffle data and results); the gRPC port the scheduler pushes
    /// tasks to is the next port up unless --grpc-port is given.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50051")]
    bind: std::net::SocketAddr,
    /// The gRPC port for tasks from the scheduler.
    #[arg(long, value_name = "N")]
    grpc_port: Option<u16>,
    /// Tasks run at once (default: the number of cores).
    #[arg(long, value_name = "N")]
    concurrent_tasks: Option<usize>,
    /// Directory for shuffle files and spills (default: a temporary directory removed on exit).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Memory pool per session on this executor, e.g. 4G (default: unlimited).
    #[arg(short = 'm', long, value_name = "SIZE", value_parser = parse_size)]
    memory_limit: Option<usize>,
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Server configuration (TOML): users, tokens, roles, PII columns; see the README.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Lake directory or URL (default: server.lake of the configuration, else the demo lake).
    #[arg(long, value_name = "DIR|URL")]
    lake: Option<String>,
    /// Address to listen on (default: server.addr of the configuration).
    #[arg(long, value_name = "HOST:PORT")]
    addr: Option<std::net::SocketAddr>,
    /// Also serve PostgreSQL clients (psql, BI tools) here (default: server.pg_addr; off if neither).
    #[arg(long, value_name = "HOST:PORT")]
    pg_addr: Option<std::net::SocketAddr>,
    /// Memory pool shared by all queries (default: server.memory_limit).
    #[arg(short = 'm', long, value_name = "SIZE", value_parser = parse_size)]
    memory_limit: Option<usize>,
    /// Partitions (threads) per query; default: the number of cores.
    #[arg(short = 'p', long, value_name = "N")]
    target_partitions: Option<usize>,
    /// Log lines as JSON instead of text.
    #[arg(long)]
    json_logs: bool,
    /// An option of a remote lake's object store (repeatable; over the `[storage]` section).
    #[arg(long = "storage", value_name = "KEY=VALUE")]
    storage: Vec<String>,
    /// Run the queries on a Ballista cluster (planning, roles and masking stay here).
    #[arg(long, value_name = "df://HOST:PORT")]
    cluster: Option<String>,
}

#[derive(Args, Debug)]
struct EngineArgs {
    /// Lake directory or URL: each sub-folder is a table of Parquet files. Default: the
    /// demo lake, generated once into the user cache directory.
    #[arg(long, value_name = "DIR|URL")]
    lake: Option<String>,
    /// Memory limit for query execution, e.g. 512M or 4G.
    #[arg(short = 'm', long, value_name = "SIZE", value_parser = parse_size)]
    memory_limit: Option<usize>,
    /// Partitions (threads) per query; default: the number of cores.
    #[arg(short = 'p', long, value_name = "N")]
    target_partitions: Option<usize>,
    /// An option of a remote lake's object store (repeatable), e.g.
    /// aws.endpoint=http://127.0.0.1:9000; the AWS_*/GOOGLE_*/AZURE_* variables apply without it.
    #[arg(long = "storage", value_name = "KEY=VALUE")]
    storage: Vec<String>,
    /// Run the queries on the Ballista cluster whose scheduler is at this URL (see
    /// `persona scheduler`); the lake must be reachable from every executor.
    #[arg(long, value_name = "df://HOST:PORT")]
    cluster: Option<String>,
}

/// `--storage KEY=VALUE` flags as options.
fn storage_options(pairs: &[String]) -> Result<StorageOptions> {
    let mut options = StorageOptions::new();
    for pair in pairs {
        options.set_pair(pair).map_err(|e| DataFusionError::Plan(format!("--storage: {}", e.message())))?;
    }
    Ok(options)
}

#[derive(Args, Debug)]
struct PrintArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = PrintFormat::Automatic)]
    format: PrintFormat,
    /// Print only results: no banner, timings or notices.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Rows to show in table output ('inf' for all).
    #[arg(long, default_value = "40")]
    maxrows: MaxRows,
    /// Colour the SQL in the interactive shell.
    #[arg(long)]
    color: bool,
}

#[derive(Args, Debug)]
struct ShellArgs {
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    print: PrintArgs,
    /// SQL to run (repeatable); the shell exits afterwards.
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    command: Vec<String>,
    /// File of SQL statements to run (repeatable); the shell exits afterwards.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct DemoArgs {
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    print: PrintArgs,
}

#[derive(Args, Debug)]
struct ReportArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// Output: the HTML file, or with --format svg the directory the charts are written to.
    #[arg(long, value_name = "PATH", default_value = "report.html")]
    out: PathBuf,
    /// Comma-separated sections (default all): segmentation, campaigns, drift, credit, baskets,
    /// quality, lifetime.
    #[arg(long, value_name = "LIST", default_value = "")]
    sections: String,
    /// html: one self-contained file; svg: one standalone SVG file per chart.
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    format: ReportFormat,
    /// No progress lines.
    #[arg(short = 'q', long)]
    quiet: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ReportFormat {
    Html,
    Svg,
}

#[derive(Args, Debug)]
struct ProfileArgs {
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    print: PrintArgs,
    /// Key columns of a table, checked for duplicates (repeatable), e.g. orders=order_id or
    /// lines=order_id,line_no; the demo lake's keys are known.
    #[arg(long = "key", value_name = "TABLE=COL[,COL]")]
    keys: Vec<String>,
    /// SQL expression of the date after which dates count as future (default: now()).
    #[arg(long, value_name = "SQL")]
    as_of: Option<String>,
    /// Tables to profile (default: every table of the lake).
    tables: Vec<String>,
}

#[derive(Args, Debug)]
struct GenerateArgs {
    /// Directory or object-store URL (s3://bucket/prefix, gs://, az://) to create; written
    /// atomically (see the README on remote lakes).
    #[arg(long, value_name = "DIR|URL")]
    out: String,
    /// Number of customers.
    #[arg(long, default_value_t = 20_000)]
    customers: i64,
    /// Random seed: the same seed gives byte-identical data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Months of history, starting 2025-01.
    #[arg(long, default_value_t = 12)]
    months: usize,
    /// Replace OUT if it exists.
    #[arg(long)]
    force: bool,
    /// No progress bar or summary.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// An option of the output's object store (repeatable), as for the shell.
    #[arg(long = "storage", value_name = "KEY=VALUE")]
    storage: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(persona::cluster::THREAD_STACK_BYTES)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("Error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // statements are parsed and planned on the thread that blocks on `run`: give it the stack the
    // runtime's workers have (8 MiB of a main thread overflow at ~6,000 chained terms typed into
    // the shell; `-c` and `-f` text is checked for depth before parsing)
    let main = std::thread::Builder::new()
        .name("persona-main".to_string())
        .stack_size(persona::cluster::THREAD_STACK_BYTES)
        .spawn(move || runtime.block_on(run(cli)));
    let result = match main.map(std::thread::JoinHandle::join) {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(DataFusionError::Execution("the main thread panicked".to_string())),
        Err(e) => Err(DataFusionError::Execution(format!("cannot start the main thread: {e}"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {}", redact(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None => shell(cli.shell).await,
        Some(Command::Generate(args)) => run_generate(&args).await,
        Some(Command::Demo(args)) => {
            let ctx = engine(&args.engine, args.print.quiet).await?;
            persona::demo::run(&ctx, &print_options(&args.print)).await
        }
        Some(Command::Profile(args)) => profile(args).await,
        Some(Command::Report(args)) => report(args).await,
        Some(Command::Functions) => {
            print!("{}", persona::catalog::markdown());
            Ok(())
        }
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::HashSecret) => hash_secret(),
        Some(Command::Scheduler(args)) => {
            let (storage, pseudonym_key) = args.node.start()?;
            let options = persona::cluster::SchedulerOptions { bind: args.bind, storage, pseudonym_key };
            eprintln!("persona scheduler listening on {}", args.bind);
            persona::cluster::run_scheduler(options, persona::serve::shutdown_signal()).await
        }
        Some(Command::Executor(args)) => {
            let (storage, pseudonym_key) = args.node.start()?;
            persona::cluster::run_executor(persona::cluster::ExecutorOptions {
                scheduler: args.scheduler,
                bind: args.bind,
                grpc_port: args.grpc_port,
                concurrent_tasks: args.concurrent_tasks,
                work_dir: args.work_dir,
                memory_limit: args.memory_limit,
                storage,
                pseudonym_key,
            })
            .await
        }
    }
}

/// Log lines on stderr (`RUST_LOG`, default `info`), as text or JSON.
fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    init_logs(args.json_logs);
    let mut config = ServerConfig::load(&args.config).map_err(DataFusionError::Configuration)?;
    if let Some(addr) = args.addr {
        config.server.addr = addr;
    }
    if let Some(addr) = args.pg_addr {
        config.server.pg_addr = Some(addr);
    }
    let lake = match args.lake.or_else(|| config.server.lake.clone()) {
        Some(lake) => lake,
        None => ensure_demo_lake(true)?.display().to_string(),
    };
    let mut storage = config.storage.clone();
    for pair in &args.storage {
        storage.set_pair(pair).map_err(|e| DataFusionError::Plan(format!("--storage: {}", e.message())))?;
    }
    let mut builder = EngineBuilder::new().lake(lake).storage(storage);
    if let Some(bytes) = args.memory_limit.or(config.server.memory_limit) {
        builder = builder.memory_limit(bytes);
    }
    if let Some(partitions) = args.target_partitions {
        builder = builder.target_partitions(partitions);
    }
    if let Some(url) = args.cluster {
        builder = builder.cluster(url);
    }
    let ctx = builder.build().await?;
    let listener = tokio::net::TcpListener::bind(config.server.addr)
        .await
        .map_err(|e| DataFusionError::Execution(format!("cannot listen on {}: {e}", config.server.addr)))?;
    persona::serve::serve(&ctx, &config, listener, persona::serve::shutdown_signal())
        .await
        .map_err(|e| DataFusionError::Execution(e.to_string()))
}

fn hash_secret() -> Result<()> {
    let mut secret = String::new();
    std::io::stdin().read_line(&mut secret)?;
    let secret = secret.trim_end_matches(['\r', '\n']);
    if secret.is_empty() {
        return Err(DataFusionError::Execution("no secret on stdin".into()));
    }
    let hash = persona::serve::hash_password(secret).map_err(DataFusionError::Execution)?;
    let scram = persona::serve::scram_verifier(secret).map_err(DataFusionError::Execution)?;
    let lines = format!(
        "password_hash = \"{hash}\"\nscram_sha256 = \"{scram}\"   # optional: SCRAM logins over PostgreSQL\nsha256 = \"{}\"\n",
        persona::serve::sha256_hex(secret)
    );
    // a closed pipe (| head) is not an error worth a panic
    let _ = std::io::Write::write_all(&mut std::io::stdout(), lines.as_bytes());
    Ok(())
}

async fn report(args: ReportArgs) -> Result<()> {
    use persona::report::{build, Section};
    let sections = Section::parse_list(&args.sections)?;
    let ctx = engine(&args.engine, args.quiet).await?;
    let lake = args.engine.lake.clone().unwrap_or_else(|| "the demo lake".into());
    let start = std::time::Instant::now();
    let quiet = args.quiet;
    let report = build(&ctx, &lake, &sections, |i: usize, n: usize, section: Section, id: &str| {
        if !quiet {
            eprintln!("[{i:>2}/{n}] {:>5.1} s  {}: {id}", start.elapsed().as_secs_f64(), section.name());
        }
    })
    .await?;
    match args.format {
        ReportFormat::Html => std::fs::write(&args.out, report.html())?,
        ReportFormat::Svg => {
            std::fs::create_dir_all(&args.out)?;
            for chart in report.charts.iter().filter(|c| !c.svg.is_empty()) {
                let svg = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n", chart.svg);
                std::fs::write(args.out.join(format!("{}.svg", chart.id)), svg)?;
            }
        }
    }
    if !quiet {
        eprintln!("wrote {} in {:.1} s", args.out.display(), start.elapsed().as_secs_f64());
    }
    Ok(())
}

async fn profile(args: ProfileArgs) -> Result<()> {
    let ctx = engine(&args.engine, args.print.quiet).await?;
    let mut keys = Vec::new();
    for pair in &args.keys {
        let Some((table, columns)) = pair.split_once('=').filter(|(t, c)| !t.is_empty() && !c.is_empty()) else {
            return plan_err!("--key: expected TABLE=COL[,COL], got {pair}");
        };
        keys.push((table.to_string(), columns.split(',').map(|c| c.trim().to_string()).collect()));
    }
    let options = persona::profile::ProfileOptions { keys, as_of: args.as_of.clone() };
    let quiet = args.print.quiet;
    let start = datafusion::common::instant::Instant::now();
    let profiles = persona::profile::profile_tables(&ctx, &args.tables, &options, |table| {
        if !quiet {
            eprintln!("profiling {table} …");
        }
    })
    .await?;
    let batches: Vec<RecordBatch> = profiles.into_iter().map(|p| p.batch).collect();
    let Some(first) = batches.first() else {
        return plan_err!("profile: the lake has no tables");
    };
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    let print = print_options(&args.print);
    print.print_batches(first.schema(), &batches, start, rows, &datafusion::config::FormatOptions::default())?;
    Ok(())
}

async fn engine(args: &EngineArgs, quiet: bool) -> Result<SessionContext> {
    let lake = match &args.lake {
        Some(lake) => lake.clone(),
        None => ensure_demo_lake(quiet)?.display().to_string(),
    };
    let mut builder = EngineBuilder::new().lake(lake).storage(storage_options(&args.storage)?);
    if let Some(bytes) = args.memory_limit {
        builder = builder.memory_limit(bytes);
    }
    if let Some(partitions) = args.target_partitions {
        builder = builder.target_partitions(partitions);
    }
    if let Some(url) = &args.cluster {
        builder = builder.cluster(url.clone());
    }
    // files can be queried by path, as in datafusion-cli: SELECT * FROM 'data.parquet'
    let ctx = builder.build().await?.enable_url_table();
    // show NULL as NULL rather than as an empty cell, as datafusion-cli does
    ctx.sql("SET datafusion.format.null = 'NULL'").await?;
    Ok(ctx)
}

fn print_options(args: &PrintArgs) -> PrintOptions {
    PrintOptions {
        format: args.format,
        quiet: args.quiet,
        maxrows: args.maxrows,
        color: args.color,
        instrumented_registry: Arc::new(InstrumentedObjectStoreRegistry::new()),
    }
}

async fn shell(args: ShellArgs) -> Result<()> {
    let ctx = engine(&args.engine, args.print.quiet).await?;
    ctx.register_udtf("parquet_metadata", Arc::new(ParquetMetadataFunc {}));
    let mut options = print_options(&args.print);
    if !args.print.quiet && args.command.is_empty() && args.file.is_empty() {
        println!("{}", banner(&ctx));
    }
    // nested results (most aggregates return structs) as JSON text in CSV/TSV output
    let ctx = ShellContext::new(ctx, options.format);
    if args.command.is_empty() && args.file.is_empty() {
        return exec_from_repl(&ctx, &mut options).await.map_err(|e| DataFusionError::External(Box::new(e)));
    }
    for file in &args.file {
        let sql = std::fs::read_to_string(file)
            .map_err(|e| DataFusionError::Plan(format!("cannot read SQL file {}: {e}", file.display())))?;
        // a statement nesting too deep would overflow the planner's stack and abort the shell
        persona::depth::check_sql(&ctx.inner().state(), &sql, Some(file))?;
        exec_from_commands(&ctx, vec![sql], &options).await?;
    }
    for command in &args.command {
        persona::depth::check_sql(&ctx.inner().state(), command, None)?;
    }
    exec_from_commands(&ctx, args.command, &options).await
}

async fn run_generate(args: &GenerateArgs) -> Result<()> {
    // the library's errors name its option fields; check the flags here to name them
    if !(1..=MAX_CUSTOMERS).contains(&args.customers) {
        return plan_err!("--customers must be between 1 and {MAX_CUSTOMERS}, got {}", args.customers);
    }
    if !(1..=MAX_MONTHS).contains(&args.months) {
        return plan_err!("--months must be between 1 and {MAX_MONTHS}, got {}", args.months);
    }
    let storage = storage_options(&args.storage)?;
    let remote = args.out.contains("://") && !args.out.starts_with("file://");
    let local_out = if remote {
        // generated locally, then published to the store (see persona::generate::remote)
        std::env::temp_dir().join(format!("persona-generate-{}", std::process::id())).join("lake")
    } else {
        PathBuf::from(args.out.strip_prefix("file://").unwrap_or(&args.out))
    };
    if !remote {
        if local_out.file_name().is_none() {
            return plan_err!("--out must name a directory, got {}", args.out);
        }
        if local_out.exists() && !args.force {
            return plan_err!("{} already exists; pass --force to replace it", args.out);
        }
    }
    let started = std::time::Instant::now();
    let generated = generate(&GenerateOptions {
        out: local_out.clone(),
        customers: args.customers,
        seed: args.seed,
        months: args.months,
        force: args.force || remote,
        progress: !args.quiet,
    });
    let summary = if remote {
        let published = match &generated {
            Ok(_) => publish_to_store(&local_out, &args.out, &storage, args.force).await,
            Err(_) => Ok(()),
        };
        if let Some(scratch) = local_out.parent() {
            // best effort, whether or not generating and publishing worked: the scratch
            // directory is this process's own
            let _ = std::fs::remove_dir_all(scratch);
        }
        published?;
        generated?
    } else {
        generated?
    };
    if !args.quiet {
        println!(
            "wrote {} in {:.1}s: {} customers, {} transactions, {} basket lines, {} campaign contacts, {} credit snapshots, {} planted fraudulent transactions",
            args.out,
            started.elapsed().as_secs_f64(),
            summary.customers,
            summary.transactions,
            summary.baskets,
            summary.campaign_contacts,
            summary.credit_scores,
            summary.fraud_labels
        );
    }
    Ok(())
}

//! SQL-level fuzzing of every Persona function: calls generated from a seeded generator with
//! wrong argument counts, wrong types, NULLs, NaN and infinities, extreme integers, empty and
//! long strings, lists and structs where scalars belong, literals where columns belong and the
//! reverse, in plain calls, GROUP BY, FILTER, DISTINCT and windows. Each call must plan and run
//! to a result or to an error — never a panic or a hang — and an error must name the function
//! (so a user with a hundred-line query knows which call to fix). RELIABILITY.md records the
//! runs and what they found.

use std::time::Duration;

use datafusion::prelude::SessionContext;
use persona::EngineBuilder;

/// Cases per function in CI (seeded); `PERSONA_FUZZ_CASES` raises it for long runs.
const DEFAULT_CASES: usize = 40;

/// Arguments the generator draws from: columns of `t` and literals of many types.
const ARGUMENTS: &[&str] = &[
    "i",
    "f",
    "s",
    "b",
    "d",
    "ts",
    "l",
    "fl",
    "st",
    "NULL",
    "0",
    "1",
    "-1",
    "3",
    "1000000",
    "9223372036854775807",
    "(-9223372036854775807 - 1)",
    "2.5",
    "-0.0",
    "1e-320",
    "CAST('NaN' AS DOUBLE)",
    "CAST('inf' AS DOUBLE)",
    "CAST('-inf' AS DOUBLE)",
    "'x'",
    "''",
    "'tree'",
    "'chimerge'",
    "'13812345678'",
    "'110101199003074514'",
    "'a@b.cn'",
    "repeat('z', 100000)",
    "TRUE",
    "DATE '2025-01-01'",
    "TIMESTAMP '2025-06-01 12:00:00'",
    "[1.0, 2.0, 3.0]",
    "[]",
    "['a', 'b']",
    "[NULL]",
    "named_struct('coefficients', [0.5, 1.0])",
    "named_struct('a', 1)",
    "CAST(1.5 AS DECIMAL(38, 10))",
    "arrow_cast('x', 'Dictionary(Int32, Utf8)')",
    "arrow_cast('x', 'Utf8View')",
];

/// The columns of `t` among [`ARGUMENTS`].
const COLUMNS: &[&str] = &["i", "f", "s", "b", "d", "ts", "l", "fl", "st"];

/// A small generator (SplitMix64): the same calls on every run for a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

/// The argument counts a function's documented syntax allows (`f(a, b [, c [, d]])`: 2..=4).
fn arities(syntax: &str) -> (usize, usize) {
    let inside = syntax.split_once('(').map_or("", |(_, rest)| rest.rsplit_once(')').map_or(rest, |(args, _)| args));
    let required = inside.split('[').next().unwrap_or("");
    let required =
        if required.trim().is_empty() { 0 } else { required.split(',').filter(|a| !a.trim().is_empty()).count() };
    (required, required + inside.matches('[').count())
}

/// One generated statement calling `name` (of `kind`): three in four with an argument count
/// the documented syntax allows, the rest with any count up to six.
fn statement(rng: &mut Rng, name: &str, kind: &str, (low, high): (usize, usize)) -> String {
    let arity = if rng.below(4) == 0 { rng.below(7) } else { low + rng.below(high - low + 1) };
    let args: Vec<&str> = (0..arity).map(|_| ARGUMENTS[rng.below(ARGUMENTS.len())]).collect();
    let call = format!("{name}({})", args.join(", "));
    match (kind, rng.below(4)) {
        ("aggregate", 0) => format!("SELECT {call} FROM t"),
        ("aggregate", 1) => format!("SELECT i % 2 AS g, {call} FROM t GROUP BY i % 2"),
        ("aggregate", 2) => format!("SELECT {call} FILTER (WHERE b) FROM t"),
        ("aggregate", _) => format!(
            "SELECT {name}(DISTINCT {}) FROM t",
            if args.is_empty() { "i".to_string() } else { args.join(", ") }
        ),
        ("window", 0 | 1) => format!("SELECT {call} OVER (ORDER BY i) FROM t"),
        ("window", 2) => format!("SELECT {call} OVER (PARTITION BY b ORDER BY f) FROM t"),
        ("window", _) => format!("SELECT {call} OVER () FROM t WHERE false"),
        (_, 0 | 1) => format!("SELECT {call} FROM t"),
        (_, 2) => format!("SELECT {call} FROM t WHERE false"),
        // without a table only when every argument is a literal
        (_, _) if args.iter().all(|a| !COLUMNS.contains(a)) => format!("SELECT {call}"),
        (_, _) => format!("SELECT {call} FROM t LIMIT 1"),
    }
}

async fn engine() -> SessionContext {
    let ctx = EngineBuilder::new().memory_limit(256 << 20).target_partitions(2).build().await.expect("engine");
    ctx.sql(
        "CREATE TABLE t AS SELECT * FROM (VALUES \
         (1, 1.5, 'a', true, DATE '2025-01-01', TIMESTAMP '2025-01-01 00:00:00', [1, 2], [0.5, 1.5], named_struct('k', 1)), \
         (2, CAST('NaN' AS DOUBLE), NULL, false, DATE '2025-02-01', TIMESTAMP '2025-02-01 00:00:00', NULL, [2.5, NULL], named_struct('k', 2)), \
         (3, NULL, '13812345678', NULL, NULL, NULL, [], [], NULL), \
         (4, -2.0, '', true, DATE '2025-03-01', TIMESTAMP '2025-03-01 00:00:00', [3], [1.0, 2.0], named_struct('k', 4)), \
         (NULL, 1e300, 'b', false, DATE '2025-04-01', TIMESTAMP '2025-04-01 00:00:00', [4, 5], [3.0, 4.0], named_struct('k', 5))) \
         AS v(i, f, s, b, d, ts, l, fl, st)",
    )
    .await
    .expect("plan")
    .collect()
    .await
    .expect("create t");
    ctx
}

/// What a case ended in.
enum Outcome {
    Rows,
    Error(String),
    Panic(String),
    Hang,
}

async fn run(ctx: &SessionContext, sql: &str) -> Outcome {
    let ctx = ctx.clone();
    let sql_owned = sql.to_string();
    let task = tokio::spawn(async move {
        let frame = ctx.sql(&sql_owned).await?;
        frame.collect().await
    });
    match tokio::time::timeout(Duration::from_secs(20), task).await {
        Err(_) => Outcome::Hang,
        Ok(Err(join)) => Outcome::Panic(join.to_string()),
        Ok(Ok(Ok(_))) => Outcome::Rows,
        Ok(Ok(Err(e))) => {
            let message = e.to_string();
            if message.contains("panicked") {
                Outcome::Panic(message)
            } else {
                Outcome::Error(message)
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_survives_generated_calls() {
    let cases: usize = std::env::var("PERSONA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_CASES);
    let seed: u64 = std::env::var("PERSONA_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(20_261_205);
    let ctx = engine().await;
    let mut rng = Rng(seed);
    let (mut rows, mut errors) = (0usize, 0usize);
    let mut failures = Vec::new();
    for function in persona::catalog::functions() {
        let syntax = function.doc.as_ref().map_or("", |doc| doc.syntax_example.as_str());
        let allowed = arities(syntax);
        for _ in 0..cases {
            let sql = statement(&mut rng, &function.name, function.kind, allowed);
            match run(&ctx, &sql).await {
                Outcome::Rows => rows += 1,
                Outcome::Error(message) => {
                    errors += 1;
                    // every error names the function (argument types and DISTINCT are checked by
                    // Persona's analyzer rule before DataFusion's coercion: src/arguments.rs)
                    if !message.to_lowercase().contains(&function.name) {
                        failures.push(format!("error does not name {}: {sql}\n    {message}", function.name));
                    }
                }
                Outcome::Panic(message) => failures.push(format!("PANIC in {}: {sql}\n    {message}", function.name)),
                Outcome::Hang => failures.push(format!("HANG (20 s) in {}: {sql}", function.name)),
            }
        }
    }
    eprintln!(
        "{} functions × {cases} cases (seed {seed}): {rows} ran, {errors} errors",
        persona::catalog::functions().len()
    );
    assert!(
        failures.is_empty(),
        "{} of the generated calls failed the invariants:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

//! A real cluster on loopback: `persona scheduler` and two `persona executor` processes over a
//! lake on an S3 server (in this process, checking SigV4), the recipes through
//! `persona --cluster` compared with the local shell, and an executor killed in the middle of a
//! query.

#[path = "support/compare.rs"]
mod compare;
#[path = "support/s3_server.rs"]
mod s3_server;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use compare::same_text;
use s3_server::S3Server;

const ACCESS_KEY: &str = "cluster-test-access-key";
const SECRET_KEY: &str = "cluster-test-secret-key-0123456789";
const LAKE: &str = "s3://lake/demo";

/// `persona ARGS` with the AWS variables pointing at the server.
fn command(server: &S3Server, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_persona"));
    command
        .args(args)
        .env("PERSONA_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .env("AWS_ENDPOINT_URL", server.endpoint())
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .env("RUST_LOG", "warn")
        .env_remove("AWS_ENDPOINT")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE");
    command
}

fn run(server: &S3Server, args: &[&str]) -> Output {
    command(server, args).output().expect("run persona")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// A port that is free now, whose next port up is free too (an executor binds both).
fn free_port_pair() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

fn query_running(child: &Child) -> bool {
    // a child that has exited stays a zombie until waited for: /proc says so without reaping it
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    !status.lines().any(|l| l.starts_with("State:") && l.contains('Z'))
}

fn wait_for(addr: SocketAddr, what: &str, child: &mut Child) {
    let started = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited with {status}");
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{what} does not listen on {addr}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Kills its processes when the test ends, however it ends.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Lines of two outputs agree after sorting ([`same_text`] line by line).
fn same_output(local: &str, cluster: &str) -> Result<(), String> {
    let mut a: Vec<&str> = local.lines().collect();
    let mut b: Vec<&str> = cluster.lines().collect();
    if a.len() != b.len() {
        return Err(format!("{} lines locally, {} on the cluster", a.len(), b.len()));
    }
    a.sort_unstable();
    b.sort_unstable();
    for (x, y) in a.iter().zip(&b) {
        let same = same_text(x, y);
        if !same {
            return Err(format!("local:   {x}\ncluster: {y}"));
        }
    }
    Ok(())
}

/// Waits for `child` at most `limit`, killing it then; whether it finished, and its output.
fn wait_at_most(mut child: std::process::Child, limit: Duration) -> (bool, std::process::Output) {
    let started = Instant::now();
    while child.try_wait().expect("poll").is_none() && started.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(100));
    }
    let finished = child.try_wait().expect("poll").is_some();
    if !finished {
        let _ = child.kill();
    }
    (finished, child.wait_with_output().expect("output"))
}

#[test]
fn recipes_on_a_scheduler_and_two_executors_equal_local_and_survive_a_lost_executor() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("lake")).expect("bucket");
    let server = runtime.block_on(S3Server::start(root.path(), ACCESS_KEY, SECRET_KEY));
    let out = run(&server, &["generate", "--out", LAKE, "--customers", "2000", "--seed", "7", "-q"]);
    assert!(out.status.success(), "{}", text(&out));

    let scheduler_port = free_port_pair();
    let scheduler_addr: SocketAddr = format!("127.0.0.1:{scheduler_port}").parse().expect("addr");
    let mut processes = Processes(Vec::new());
    let scheduler = command(&server, &["scheduler", "--bind", &scheduler_addr.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .expect("start the scheduler");
    processes.0.push(scheduler);
    wait_for(scheduler_addr, "the scheduler", &mut processes.0[0]);
    for n in 0..2 {
        let port = free_port_pair();
        let bind = format!("127.0.0.1:{port}");
        let work_dir = root.path().join(format!("executor-{n}"));
        let executor = command(
            &server,
            &[
                "executor",
                "--scheduler",
                &scheduler_addr.to_string(),
                "--bind",
                &bind,
                "--concurrent-tasks",
                "1",
                "--work-dir",
                &work_dir.display().to_string(),
            ],
        )
        .stdout(Stdio::null())
        .spawn()
        .expect("start an executor");
        processes.0.push(executor);
        let last = processes.0.len() - 1;
        wait_for(bind.parse().expect("addr"), "an executor", &mut processes.0[last]);
    }
    // executors register with the scheduler once they listen
    std::thread::sleep(Duration::from_secs(2));
    let cluster = format!("df://{scheduler_addr}");

    let recipes = ["segmentation.sql", "drift_monitor.sql", "basket_analysis.sql", "campaign_evaluation.sql"];
    for recipe in recipes {
        let file = format!("{}/sql/{recipe}", env!("CARGO_MANIFEST_DIR"));
        let local = run(&server, &["--lake", LAKE, "-q", "--format", "csv", "-f", &file]);
        assert!(local.status.success(), "{recipe} locally: {}", text(&local));
        let started = Instant::now();
        let remote =
            run(&server, &["--lake", LAKE, "--cluster", &cluster, "-p", "2", "-q", "--format", "csv", "-f", &file]);
        assert!(remote.status.success(), "{recipe} on the cluster: {}", text(&remote));
        eprintln!("{recipe}: {:.1} s on the cluster", started.elapsed().as_secs_f64());
        if let Err(e) = same_output(&String::from_utf8_lossy(&local.stdout), &String::from_utf8_lossy(&remote.stdout)) {
            panic!("{recipe} differs on the cluster:\n{e}");
        }
    }

    // a query long enough to be running when one executor is killed
    let long = "SELECT count(*) AS pairs, sum(a.amount * b.amount) AS products FROM transactions a \
                JOIN transactions b ON a.customer_id = b.customer_id AND a.merchant_category = b.merchant_category";
    let started = Instant::now();
    let local = run(&server, &["--lake", LAKE, "-q", "--format", "csv", "-c", long]);
    assert!(local.status.success(), "{}", text(&local));
    eprintln!("the long query takes {:.1} s locally", started.elapsed().as_secs_f64());
    let query =
        command(&server, &["--lake", LAKE, "--cluster", &cluster, "-p", "4", "-q", "--format", "csv", "-c", long])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the long query");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(query_running(&query), "the long query finished before an executor was killed");
    let mut killed = processes.0.remove(1);
    killed.kill().expect("kill an executor");
    let _ = killed.wait();
    // The scheduler fails a job whose shuffle input was lost (Ballista 55.0.0's stage retry
    // delivered finished partitions twice, see cluster::run_scheduler) and re-runs the lost
    // executor's running tasks once it counts it lost (30 s without a heartbeat). Either outcome
    // is accepted — a clear error or the local answer — never another answer; the wait is bounded
    // because with the retry on Ballista once left the job waiting on a rolled-back stage
    let started = Instant::now();
    let (finished, outcome) = wait_at_most(query, Duration::from_secs(120));
    let waited = started.elapsed().as_secs_f64();
    if !finished {
        eprintln!("the query was still waiting {waited:.0} s after the kill (a Ballista job hang); cancelled");
    } else if outcome.status.success() {
        eprintln!("the query completed on the remaining executor {waited:.1} s after the kill");
        same_output(&String::from_utf8_lossy(&local.stdout), &String::from_utf8_lossy(&outcome.stdout))
            .expect("the retried query's answer");
    } else {
        let message = text(&outcome);
        eprintln!("the query failed {waited:.1} s after the kill: {message}");
        assert!(message.contains("Error"), "no clear error: {message}");
    }
    if !finished {
        // the hung job keeps the remaining executor's only task slot: the cluster answers nothing
        // more until it is restarted (recorded in the README), so there is no next query to check
        drop(processes);
        return;
    }
    // the cluster keeps serving with one executor
    let next = command(
        &server,
        &["--lake", LAKE, "--cluster", &cluster, "-q", "--format", "csv", "-c", "SELECT count(*) AS n FROM customers"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("the next query");
    let (answered, next) = wait_at_most(next, Duration::from_secs(90));
    assert!(answered && next.status.success(), "the next query was not served: {}", text(&next));
    assert_eq!(String::from_utf8_lossy(&next.stdout), "n\n2000\n");
    drop(processes);
    runtime.block_on(async move {
        let mut server = server;
        server.stop().await;
    });
}

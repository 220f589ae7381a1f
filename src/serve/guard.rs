//! What both front ends do around a running query: a time limit, cancellation that takes
//! effect while an operator is busy, and one audit line when the query's stream ends.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use datafusion::common::DataFusionError;
use datafusion::prelude::DataFrame;
use futures::{Stream, StreamExt};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::Semaphore;

/// Stack size of the compute threads: planning and executing recurse over the plan (as the
/// binary's own runtime threads).
const COMPUTE_STACK_BYTES: usize = 32 << 20;

/// Where queries compute: `server.max_running_queries` admission slots and a Tokio runtime of
/// their own, apart from the one that serves the connections. An operator that computes for a
/// long time between two yields (a cross join's probe, a large sort) keeps a thread busy until
/// it yields; on the serving runtime such queries held up logins, cancellations and the streams
/// of every other client (a cancellation was answered after 80 s, when the query ended).
#[derive(Debug)]
pub struct Compute {
    /// Slots for running queries, shared by both front ends.
    pub slots: Arc<Semaphore>,
    /// `None` only once dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Compute {
    /// `slots` admission slots and a runtime of one thread per core.
    ///
    /// # Errors
    /// The runtime's threads cannot be started.
    pub fn new(slots: usize) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("persona-query")
            .thread_stack_size(COMPUTE_STACK_BYTES)
            .enable_all()
            .build()?;
        Ok(Self { slots: Arc::new(Semaphore::new(slots)), runtime: Some(runtime) })
    }

    fn spawn<F>(&self, work: F) -> tokio::task::JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match &self.runtime {
            Some(runtime) => runtime.spawn(work),
            None => tokio::spawn(work),
        }
    }
}

impl Drop for Compute {
    fn drop(&mut self) {
        // the server may drop it inside its own runtime, where a blocking shutdown would panic;
        // queries still computing are aborted at their next yield
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Why a query stopped early.
#[derive(Debug)]
pub enum Stop {
    Engine(DataFusionError),
    Cancelled,
    Timeout,
}

/// Runs `work` within the optional time limit.
///
/// # Errors
/// [`Stop::Timeout`] at the limit, or the engine's error.
pub async fn within<T>(
    timeout: Option<Duration>,
    work: impl Future<Output = datafusion::common::Result<T>>,
) -> Result<T, Stop> {
    match timeout {
        None => work.await.map_err(Stop::Engine),
        Some(limit) => tokio::time::timeout(limit, work).await.map_err(|_| Stop::Timeout)?.map_err(Stop::Engine),
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A running query as its stream sees it.
struct Running {
    receiver: tokio::sync::mpsc::Receiver<Result<RecordBatch, Stop>>,
    /// `Some(true)` once cancelled, `Some(false)` once past the deadline.
    stopped: tokio::sync::watch::Receiver<Option<bool>>,
    _tasks: [AbortOnDrop; 2],
    audit: Audit,
}

fn stop_of(cancelled: bool) -> Stop {
    if cancelled {
        Stop::Cancelled
    } else {
        Stop::Timeout
    }
}

/// The batches of `frame`, computed in a task of its own on `compute`'s runtime once it holds
/// one of its slots (kept while it computes: a client that reads slower than the query, or keeps a cursor open,
/// lends the slot to waiting queries until it takes the next batch). A watchdog aborts that task at `deadline` or when `cancel`
/// completes — while it waits for a slot too — whether or not the client is reading, and the
/// stream then ends with the reason at once, even while an operator is busy. Both tasks are
/// aborted when the stream is dropped (client gone). `audit` counts the rows and takes the
/// outcome; its line is written when the stream ends or is dropped.
pub fn guarded(
    frame: DataFrame,
    compute: &Compute,
    deadline: Option<tokio::time::Instant>,
    cancel: impl Future<Output = ()> + Send + 'static,
    audit: Audit,
) -> impl Stream<Item = Result<RecordBatch, Stop>> + Send + 'static {
    let (sender, receiver) = tokio::sync::mpsc::channel(2);
    let admission = Arc::clone(&compute.slots);
    let producer = compute.spawn(async move {
        let shutting_down = || Stop::Engine(DataFusionError::Execution("the server is shutting down".into()));
        let Ok(mut slot) = Arc::clone(&admission).acquire_owned().await else {
            let _ = sender.send(Err(shutting_down())).await;
            return;
        };
        let mut stream = match frame.execute_stream().await {
            Ok(stream) => stream,
            Err(e) => {
                let _ = sender.send(Err(Stop::Engine(e))).await;
                return;
            }
        };
        while let Some(item) = stream.next().await {
            match sender.try_send(item.map_err(Stop::Engine)) {
                Ok(()) => {}
                Err(TrySendError::Closed(_)) => return,
                Err(TrySendError::Full(item)) => {
                    // the client reads slower than the query computes (or holds a cursor open):
                    // its slot goes to a waiting query until the client takes the next batch
                    drop(slot);
                    if sender.send(item).await.is_err() {
                        return;
                    }
                    slot = match Arc::clone(&admission).acquire_owned().await {
                        Ok(slot) => slot,
                        Err(_) => {
                            let _ = sender.send(Err(shutting_down())).await;
                            return;
                        }
                    };
                }
            }
        }
        drop(slot);
    });
    let (stop, stopped) = tokio::sync::watch::channel(None::<bool>);
    let producer_abort = producer.abort_handle();
    let watchdog = tokio::spawn(async move {
        let cancelled = tokio::select! {
            () = cancel => true,
            () = sleep_until(deadline) => false,
        };
        let _ = stop.send(Some(cancelled));
        producer_abort.abort();
    });
    let running = Running {
        receiver,
        stopped,
        _tasks: [AbortOnDrop(producer.abort_handle()), AbortOnDrop(watchdog.abort_handle())],
        audit,
    };
    futures::stream::unfold(Some(running), |running| async move {
        let mut running = running?;
        let next = tokio::select! {
            biased;
            Ok(()) = running.stopped.changed() => {
                let cancelled = running.stopped.borrow().unwrap_or(false);
                Some(Err(stop_of(cancelled)))
            }
            next = running.receiver.recv() => match (next, *running.stopped.borrow()) {
                // the producer was aborted: say why rather than end as if complete
                (None, Some(cancelled)) => Some(Err(stop_of(cancelled))),
                (next, _) => next,
            },
        };
        running.audit.note(next.as_ref());
        match next {
            Some(Ok(batch)) => {
                running.audit.rows += batch.num_rows() as u64;
                Some((Ok(batch), Some(running)))
            }
            Some(Err(e)) => Some((Err(e), None)),
            None => None,
        }
    })
}

/// One audit line per query when its stream ends, however it ends (never the values).
pub struct Audit {
    pub user: String,
    pub query: String,
    pub sql: String,
    pub started: Instant,
    pub rows: u64,
    pub outcome: &'static str,
    /// Run when the line is written (the Flight server forgets the running query).
    pub on_end: Option<Box<dyn FnOnce() + Send>>,
}

impl Audit {
    /// Records how a stream item ended the query, if it did.
    pub fn note<T>(&mut self, item: Option<&Result<T, Stop>>) {
        self.outcome = match item {
            None => "ok",
            Some(Ok(_)) => return,
            Some(Err(Stop::Cancelled)) => "cancelled",
            Some(Err(Stop::Timeout)) => "timeout",
            Some(Err(Stop::Engine(_))) => "failed",
        };
    }
}

impl Drop for Audit {
    fn drop(&mut self) {
        if let Some(on_end) = self.on_end.take() {
            on_end();
        }
        tracing::info!(
            user = %self.user,
            query = %self.query,
            sql = %self.sql,
            rows = self.rows,
            ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            outcome = self.outcome,
            "query finished"
        );
    }
}

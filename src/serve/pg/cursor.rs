//! Server-side cursors (`DECLARE name CURSOR FOR query`, `FETCH [FORWARD] n | ALL FROM name`,
//! `CLOSE name | ALL`), which psycopg's named cursors and JDBC's fetch size use to read a large
//! result in pieces. Forward only. A cursor's query runs once, under the role's limits from its
//! `DECLARE`; its rows wait in the query's stream (one batch at most is held between fetches).
//! Cursors without `WITH HOLD` close at the end of the transaction, as in PostgreSQL.

use std::collections::HashMap;
use std::pin::Pin;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use futures::{Stream, StreamExt};
use pgwire::error::PgWireResult;

use super::pg_error;
use crate::serve::guard::Stop;

/// A running query's batches (audited as they are read: see `guard::guarded`).
pub(super) type Batches = Pin<Box<dyn Stream<Item = Result<RecordBatch, Stop>> + Send>>;

/// An open cursor.
pub(super) struct Cursor {
    pub(super) schema: SchemaRef,
    pub(super) batches: Batches,
    pub(super) hold: bool,
    /// Rows of the last batch not fetched yet.
    leftover: Option<RecordBatch>,
}

impl Cursor {
    pub(super) fn new(schema: SchemaRef, batches: Batches, hold: bool) -> Self {
        Self { schema, batches, hold, leftover: None }
    }
}

/// The connection's open cursors by name.
#[derive(Default)]
pub(super) struct Cursors(tokio::sync::Mutex<HashMap<String, Cursor>>);

impl Cursors {
    /// Opens `name`.
    ///
    /// # Errors
    /// `42P03` when a cursor of that name is open.
    pub(super) async fn declare(&self, name: String, cursor: Cursor) -> PgWireResult<()> {
        let mut cursors = self.0.lock().await;
        if cursors.contains_key(&name) {
            return Err(pg_error("42P03", format!("cursor \"{name}\" already exists")));
        }
        cursors.insert(name, cursor);
        Ok(())
    }

    /// The columns of `name`, if open.
    pub(super) async fn schema(&self, name: &str) -> Option<SchemaRef> {
        self.0.lock().await.get(name).map(|cursor| cursor.schema.clone())
    }

    /// The next `count` rows of `name` (all that are left for `None`).
    ///
    /// # Errors
    /// `34000` for a cursor that is not open; the query's error (which closes the cursor).
    pub(super) async fn fetch(&self, name: &str, count: Option<usize>) -> Result<Vec<RecordBatch>, FetchError> {
        let mut cursors = self.0.lock().await;
        let cursor = cursors.get_mut(name).ok_or_else(|| FetchError::Unknown(name.to_string()))?;
        let mut wanted = count.unwrap_or(usize::MAX);
        let mut batches = Vec::new();
        while wanted > 0 {
            let batch = match cursor.leftover.take() {
                Some(batch) => batch,
                None => match cursor.batches.next().await {
                    Some(Ok(batch)) => batch,
                    Some(Err(stop)) => {
                        cursors.remove(name);
                        return Err(FetchError::Stopped(stop));
                    }
                    None => break,
                },
            };
            if batch.num_rows() > wanted {
                cursor.leftover = Some(batch.slice(wanted, batch.num_rows() - wanted));
                batches.push(batch.slice(0, wanted));
                wanted = 0;
            } else {
                wanted -= batch.num_rows();
                batches.push(batch);
            }
        }
        Ok(batches)
    }

    /// Closes `name`, or every cursor for `None`.
    ///
    /// # Errors
    /// `34000` for a cursor that is not open.
    pub(super) async fn close(&self, name: Option<&str>) -> PgWireResult<()> {
        let mut cursors = self.0.lock().await;
        match name {
            None => cursors.clear(),
            Some(name) => {
                cursors.remove(name).ok_or_else(|| pg_error("34000", format!("cursor \"{name}\" does not exist")))?;
            }
        }
        Ok(())
    }

    /// Closes the cursors declared without `WITH HOLD` (the transaction ended).
    pub(super) async fn end_transaction(&self) {
        self.0.lock().await.retain(|_, cursor| cursor.hold);
    }
}

/// Why a fetch returned no rows.
pub(super) enum FetchError {
    Unknown(String),
    Stopped(Stop),
}

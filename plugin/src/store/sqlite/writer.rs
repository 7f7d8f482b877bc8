//! The SQLite writer thread: every write runs here, in its own SAVEPOINT of
//! one transaction per group, and is answered only after that group's
//! COMMIT (see the parent module).

use anyhow::anyhow;
use rusqlite::Connection;
use std::sync::mpsc;
use tokio::sync::oneshot;

/// Most writes folded into one transaction.
const MAX_GROUP: usize = 512;

/// A write waiting for the writer thread.
pub(super) trait WriteJob: Send {
    /// Runs the write inside a savepoint. Returns whether it succeeded and the
    /// callback that answers the caller once the COMMIT outcome is known.
    fn run(self: Box<Self>, conn: &Connection) -> (bool, CommitReply);
    /// Answers the caller without running the write.
    fn abort(self: Box<Self>, why: String);
}

type CommitReply = Box<dyn FnOnce(Result<(), String>) + Send>;

/// A closure and the channel its caller waits on.
pub(super) struct Job<F, R> {
    pub(super) write: F,
    pub(super) reply: oneshot::Sender<anyhow::Result<R>>,
}

impl<F, R> WriteJob for Job<F, R>
where
    R: Send + 'static,
    F: FnOnce(&Connection) -> anyhow::Result<R> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> (bool, CommitReply) {
        let Job { write, reply } = *self;
        let result = write(conn);
        let ok = result.is_ok();
        let answer: CommitReply = Box::new(move |commit| {
            let outcome = match commit {
                Ok(()) => result,
                Err(e) => Err(anyhow!("commit failed: {e}")),
            };
            // The caller may have gone away (request cancelled): fine.
            let _ = reply.send(outcome);
        });
        (ok, answer)
    }

    fn abort(self: Box<Self>, why: String) {
        let _ = self.reply.send(Err(anyhow!(why)));
    }
}

/// The writer thread: group commit until every `SqliteStore` handle is gone.
pub(super) fn run_writer(conn: Connection, queue: mpsc::Receiver<Box<dyn WriteJob>>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }

        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let message = format!("could not begin a transaction: {e}");
            tracing::error!(%message);
            for job in batch {
                job.abort(message.clone());
            }
            continue;
        }

        let mut replies = Vec::with_capacity(batch.len());
        for job in batch {
            let savepoint = run_cached(&conn, "SAVEPOINT job");
            let (ok, reply) = job.run(&conn);
            if savepoint.is_ok() {
                let end = if ok {
                    run_cached(&conn, "RELEASE job")
                } else {
                    conn.execute_batch("ROLLBACK TO job; RELEASE job")
                };
                if let Err(e) = end {
                    tracing::error!(error = %e, "ending a write savepoint failed");
                }
            }
            replies.push(reply);
        }

        let commit = conn.execute_batch("COMMIT").map_err(|e| {
            tracing::error!(error = %e, "group commit failed; rolling back");
            let _ = conn.execute_batch("ROLLBACK");
            e.to_string()
        });
        for reply in replies {
            reply(commit.clone());
        }
    }
}

/// Waits for a queued write's answer (sent after its COMMIT).
pub(super) async fn committed<R>(
    queued: anyhow::Result<oneshot::Receiver<anyhow::Result<R>>>,
) -> anyhow::Result<R> {
    queued?
        .await
        .map_err(|_| anyhow!("the SQLite writer dropped a write"))?
}

/// Runs a statement without parameters from the connection's statement cache.
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

//! The argon2 worker: one dedicated thread that does every password hash and
//! check in the process, fed through a bounded queue.
//!
//! Why a thread of its own:
//! - Each hash needs ~19 MiB of working memory. Allocated afresh per hash,
//!   glibc's heap fragmented so badly that twenty sign-ins left an idle
//!   server at 130 MB; one thread with one buffer, reused while checks are
//!   queued, keeps it at one block. The buffer is given back when the queue
//!   empties (a heap profile showed it as the biggest thing an idle server
//!   held: 19.9 MB of 38 MB), so a server that has seen one sign-in does not
//!   carry it for the rest of its life.
//! - It caps what password checks can cost at one core, whatever the load.
//! - Callers wait on a tokio oneshot, not on tokio's blocking pool: that pool
//!   runs every SQLite call, and a login flood holding its threads while they
//!   queue for argon2 would make page views wait behind it.
//!
//! Why a bounded queue: a sign-in that would wait behind [`QUEUE`] others is
//! refused at once with [`Busy`] (the login handlers answer 429), so a flood
//! costs memory and latency proportional to [`QUEUE`], not to the flood.
//! Hashing a new password (creating an account, changing a password) waits
//! for room instead: those are rare and come from signed-in admins or the
//! CLI.

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::OnceLock;
use tokio::sync::{mpsc, oneshot};

/// Password checks that may wait for the argon2 thread; one more is
/// refused with [`Busy`]. At ~20-40 ms per check in release builds, a full
/// queue is about a second of work.
pub const QUEUE: usize = 32;

/// The argon2 queue is full: try again shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("too many password checks in progress")
    }
}

impl std::error::Error for Busy {}

/// Work for the argon2 thread.
type Job = Box<dyn FnOnce() + Send>;

/// The queue into the argon2 thread, started on first use.
fn worker() -> &'static mpsc::Sender<Job> {
    static WORKER: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    WORKER.get_or_init(|| {
        let (jobs, mut queue) = mpsc::channel::<Job>(QUEUE);
        // If the thread cannot start, sends fail and callers get an error.
        let _ = std::thread::Builder::new()
            .name("argon2".into())
            .spawn(move || {
                while let Some(job) = queue.blocking_recv() {
                    job();
                    if queue.is_empty() {
                        ARGON2_BLOCKS.with(|blocks| *blocks.borrow_mut() = Vec::new());
                    }
                }
            });
        jobs
    })
}

/// Runs `work` on the argon2 thread; `Err(Busy)` at once if [`QUEUE`]
/// checks are already waiting.
async fn try_run<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let (reply, answer) = oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = reply.send(work());
    });
    worker().try_send(job).map_err(|err| match err {
        mpsc::error::TrySendError::Full(_) => anyhow::Error::new(Busy),
        mpsc::error::TrySendError::Closed(_) => anyhow::anyhow!("the argon2 thread is not running"),
    })?;
    answer
        .await
        .map_err(|_| anyhow::anyhow!("the argon2 thread dropped a job"))
}

/// Runs `work` on the argon2 thread, waiting for room in the queue.
async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    let (reply, answer) = oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = reply.send(work());
    });
    worker()
        .send(job)
        .await
        .map_err(|_| anyhow::anyhow!("the argon2 thread is not running"))?;
    answer
        .await
        .map_err(|_| anyhow::anyhow!("the argon2 thread dropped a job"))
}

/// A PHC-format argon2id hash of `password` with a fresh salt.
pub async fn hash(password: &str) -> anyhow::Result<String> {
    let password = password.to_owned();
    run(move || hash_blocking(&password)).await?
}

/// Whether `password` matches `stored` (a PHC-format hash), or with `None`
/// (an unknown user) the same work against a stand-in hash, so that a
/// check costs the same whether or not the account exists. Refuses with
/// [`Busy`] rather than queue behind [`QUEUE`] others.
pub async fn check(password: &str, stored: Option<String>) -> anyhow::Result<bool> {
    let password = password.to_owned();
    try_run(move || match stored {
        Some(stored) => password_matches(&password, &stored),
        None => {
            let _ = password_matches(&password, stand_in()?);
            Ok(false)
        }
    })
    .await?
}

/// Computes the stand-in hash now, so that the first sign-in with an
/// unknown name does not take twice as long as one with a known name.
pub async fn warm() {
    let prepared = run(|| stand_in().map(|_| ())).await.and_then(|inner| inner);
    if let Err(err) = prepared {
        tracing::warn!(error = ?err, "could not prepare the argon2 stand-in hash");
    }
}

/// A hash with the current parameters that no password is checked to
/// match, computed once (on the argon2 thread).
fn stand_in() -> anyhow::Result<&'static str> {
    static STAND_IN: OnceLock<String> = OnceLock::new();
    if let Some(hash) = STAND_IN.get() {
        return Ok(hash);
    }
    let hash = hash_blocking("stand-in for an unknown account")?;
    Ok(STAND_IN.get_or_init(|| hash))
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let params = Params::default();
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let mut out = [0u8; 32];
    argon2_into(
        &params,
        Algorithm::Argon2id,
        Version::V0x13,
        password,
        salt_bytes,
        &mut out,
    )?;
    let output = Output::new(&out).map_err(|e| anyhow::anyhow!("hash output: {e}"))?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${output}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str()
    ))
}

/// Whether `password` matches a stored PHC-format argon2 hash.
fn password_matches(password: &str, stored: &str) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(stored).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    let params = Params::try_from(&parsed).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    let algorithm =
        Algorithm::try_from(parsed.algorithm).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?,
        None => Version::default(),
    };
    let salt = parsed
        .salt
        .ok_or_else(|| anyhow::anyhow!("stored hash has no salt"))?;
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("stored salt: {e}"))?;
    let expected = parsed
        .hash
        .ok_or_else(|| anyhow::anyhow!("stored hash has no output"))?;
    let mut out = vec![0u8; expected.len()];
    argon2_into(&params, algorithm, version, password, salt_bytes, &mut out)?;
    let computed = Output::new(&out).map_err(|e| anyhow::anyhow!("hash output: {e}"))?;
    // `Output`'s equality is constant-time.
    Ok(computed == expected)
}

thread_local! {
    /// Argon2's working memory (~19 MiB), reused by the hashes of a burst
    /// and given back when the queue empties (see the module docs).
    static ARGON2_BLOCKS: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Raw argon2 into `out`, with this thread's reusable working memory.
fn argon2_into(
    params: &Params,
    algorithm: Algorithm,
    version: Version,
    password: &str,
    salt: &[u8],
    out: &mut [u8],
) -> anyhow::Result<()> {
    let context = Argon2::new(algorithm, version, params.clone());
    ARGON2_BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        let needed = params.block_count();
        if blocks.len() < needed {
            blocks.resize(needed, Block::default());
        }
        context
            .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut blocks[..needed])
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_check_and_unknown_accounts_never_match() {
        let stored = hash("correct horse").await.unwrap();
        assert!(check("correct horse", Some(stored.clone())).await.unwrap());
        assert!(!check("wrong", Some(stored)).await.unwrap());
        assert!(!check("correct horse", None).await.unwrap());
    }
}

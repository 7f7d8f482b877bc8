//! The chat's background work, started once and explicitly:
//! [`start_background`] spawns presence expiry, the absorption of other
//! nodes' presence heartbeats, the transcript publisher, the blob
//! collector ([`crate::collector`]) and the expiry of old notifications,
//! and returns a
//! [`Background`] that stops them.
//!
//! Nothing starts on its own: [`AppState::new`] builds state only, so a unit
//! test or a one-shot maintenance command runs no worker it did not ask for,
//! and a server stops its workers on shutdown instead of leaving them to a
//! runtime that happens to be running.

use crate::state::AppState;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The running background tasks. Dropping it stops them (the tasks end at
/// their next wake-up); [`Background::stop`] also waits until they have.
#[must_use = "dropping Background stops the chat's background tasks"]
pub struct Background {
    /// Cancelled to tell every task to stop.
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    /// Tells every task to stop and waits until they have.
    pub async fn stop(mut self) {
        self.stop.cancel();
        for task in std::mem::take(&mut self.tasks) {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "a chat background task failed");
            }
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts the chat's background tasks on the current tokio runtime (panics
/// outside one, like `tokio::spawn`). The transcript publisher starts only
/// on the first call for a state: a second call would find its queue taken.
pub fn start_background(state: &AppState) -> Background {
    let stop = CancellationToken::new();
    let mut tasks = Vec::with_capacity(4);
    // Weak handles, as before: a dropped state ends the presence tasks too.
    let sweep =
        crate::presence::sweep_forever(Arc::downgrade(&state.presence), Arc::downgrade(&state.bus));
    tasks.push(tokio::spawn(until(stop.clone(), sweep)));
    let absorb = crate::presence::absorb_remote(
        Arc::downgrade(&state.presence),
        Arc::downgrade(&state.gossip),
    );
    tasks.push(tokio::spawn(until(stop.clone(), absorb)));
    let collect = crate::collector::collect_forever(state.clone());
    tasks.push(tokio::spawn(until(stop.clone(), collect)));
    let expire = expire_notifications_forever(state.clone());
    tasks.push(tokio::spawn(until(stop.clone(), expire)));
    match state.transcripts.take_touches() {
        Some(touches) => tasks.push(tokio::spawn(
            state.publisher.clone().run(touches, stop.clone()),
        )),
        None => tracing::warn!("the transcript publisher was already started for this state"),
    }
    Background { stop, tasks }
}

/// How often notifications past their lifetime are deleted. Readers never
/// see them anyway (every read filters by age); this only frees the rows.
const EXPIRE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Deletes notifications older than `notification_days`, hourly.
async fn expire_notifications_forever(state: AppState) {
    let mut every = tokio::time::interval(EXPIRE_EVERY);
    loop {
        every.tick().await;
        let days = chrono::Duration::days(i64::from(state.config.notification_days));
        let before = state.config.clock.now() - days;
        match state.store.expire_notifications(before).await {
            Ok(0) => {}
            Ok(gone) => tracing::info!(gone, "expired notifications deleted"),
            Err(e) => tracing::warn!(error = ?e, "deleting expired notifications failed"),
        }
    }
}

/// Runs `task` until it ends or `stop` is cancelled.
async fn until(stop: CancellationToken, task: impl std::future::Future<Output = ()>) {
    tokio::select! {
        () = stop.cancelled() => {}
        () = task => {}
    }
}

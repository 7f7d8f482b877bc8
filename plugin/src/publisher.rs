//! Transcript publishing: every local day with activity becomes a markdown
//! child page of the room's host page (`Chat/<Room>/<YYYY-MM-DD>`), written
//! through [`Host::put_child_page`] so it inherits the page's permissions and
//! the host's search finds it.
//!
//! Posts, edits and deletions mark their room-day dirty; a worker publishes
//! dirty days at most once a minute each (a busy day is not rewritten per
//! message) and at once when the day is over. The first message of a day
//! is published within one tick, so the page appears promptly. Rendering is
//! deterministic, so re-publishing an unchanged day creates no revision.
//! Whether a day is over is read from the same [`Clock`] that stamps the
//! messages, so a shifted clock (tests) moves both together. An edit or a
//! deletion makes its day due at the next tick ([`Transcripts::redact`]):
//! the host keeps one revision of a transcript, so republishing is what
//! takes the old text out of the page and its history.
//!
//! A day bigger than the host's page limit is written as several pages
//! (`parts`): nothing is lost to the cap.
//!
//! [`Publisher`] owns what publishing needs (the store, the host, the
//! clock) and nothing else, so it is built beside the app state rather than
//! from it; [`Publisher::run`] is the worker `start_background` spawns.
//!
//! [`Clock`]: crate::clock::Clock
//! [`Host::put_child_page`]: crate::host::Host::put_child_page

use crate::clock::Clock;
use crate::host::{ChildPage, Host};
use crate::store::{MessageQuery, Room, Store};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use protocol::{Message, RoomId, TranscriptRef};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

mod parts;

/// How often one day's page may be rewritten while the day goes on.
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);
/// How often the worker looks for due days.
const TICK: Duration = Duration::from_secs(2);
/// How long a host page's time zone is trusted before it is read again: a
/// zone change reaches the day boundaries within this.
const ZONE_FRESH: Duration = Duration::from_secs(60);
/// Most messages one day's page holds; beyond this the page says it is cut.
pub const MAX_DAY_MESSAGES: usize = 100_000;

/// Something changed in `room` at `at` (a message's creation time).
#[derive(Debug, Clone)]
pub struct Touch {
    pub room: RoomId,
    pub at: DateTime<Utc>,
    /// An edit or a deletion: the day is republished at the next tick, not
    /// after the minute, so text taken back leaves the page (and, since a
    /// transcript keeps one revision, its history) at once.
    pub redact: bool,
}

/// The handle chat operations use to mark days dirty.
#[derive(Debug)]
pub struct Transcripts {
    touches: mpsc::UnboundedSender<Touch>,
    /// The receiving end, until the worker takes it: touches made before
    /// the worker starts wait here. A std `Mutex` is fine: it is locked
    /// once, briefly, never across an `.await`.
    waiting: Mutex<Option<mpsc::UnboundedReceiver<Touch>>>,
}

impl Transcripts {
    /// A handle whose touches queue until [`Transcripts::take_touches`].
    pub fn new() -> Self {
        let (touches, receiver) = mpsc::unbounded_channel();
        Self {
            touches,
            waiting: Mutex::new(Some(receiver)),
        }
    }

    /// Marks the day of `message` in its room as needing (re)publication.
    pub fn touch(&self, message: &Message) {
        self.send(message, false);
    }

    /// Like [`Transcripts::touch`] for an edited or deleted message: its day
    /// is republished at the next tick (see [`Touch::redact`]).
    pub fn redact(&self, message: &Message) {
        self.send(message, true);
    }

    fn send(&self, message: &Message, redact: bool) {
        // The worker is gone only during shutdown: nothing left to publish to.
        let _ = self.touches.send(Touch {
            room: message.room.clone(),
            at: message.created_at,
            redact,
        });
    }

    /// The receiving end for the worker; `None` once taken.
    pub fn take_touches(&self) -> Option<mpsc::UnboundedReceiver<Touch>> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

impl Default for Transcripts {
    fn default() -> Self {
        Self::new()
    }
}

/// Renders transcript days and writes them to the host. Clone is three
/// `Arc` bumps.
#[derive(Clone)]
pub struct Publisher {
    store: Arc<dyn Store>,
    host: Arc<dyn Host>,
    /// Decides which day is over; the clock that stamps the messages.
    clock: Clock,
}

impl Publisher {
    pub fn new(store: Arc<dyn Store>, host: Arc<dyn Host>, clock: Clock) -> Self {
        Self { store, host, clock }
    }

    /// Publishes dirty days until `stop` is cancelled or every [`Transcripts`]
    /// handle is gone.
    pub async fn run(self, mut touches: mpsc::UnboundedReceiver<Touch>, stop: CancellationToken) {
        // Day keys waiting to be published (with their zone), and when each was
        // last written.
        let mut dirty: HashMap<(RoomId, NaiveDate), Dirty> = HashMap::new();
        let mut written: HashMap<(RoomId, NaiveDate), Instant> = HashMap::new();
        // Each room's zone, so a busy room costs no database read per message.
        let mut zones: HashMap<RoomId, (Tz, Instant)> = HashMap::new();
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                touch = touches.recv() => {
                    let Some(touch) = touch else { return };
                    let zone = match zones.get(&touch.room) {
                        Some((zone, at)) if at.elapsed() < ZONE_FRESH => Some(*zone),
                        _ => self.room_zone(&touch.room).await,
                    };
                    if let Some(zone) = zone {
                        zones.insert(touch.room.clone(), (zone, Instant::now()));
                        let day = transcript::local_date(touch.at, zone);
                        let entry = dirty.entry((touch.room, day)).or_insert(Dirty { zone, redact: false });
                        entry.redact |= touch.redact;
                    }
                }
                _ = tick.tick() => {
                    let now = self.clock.now();
                    let due: Vec<_> = dirty
                        .iter()
                        .filter(|(key, d)| d.redact || is_due(key.1, d.zone, written.get(*key), now))
                        .map(|(key, d)| (key.clone(), *d))
                        .collect();
                    for (key, waiting) in due {
                        dirty.remove(&key);
                        match self.publish_day(&key.0, key.1).await {
                            Ok(_) => {
                                written.insert(key, Instant::now());
                            }
                            Err(e) => {
                                tracing::warn!(room = %key.0, day = %key.1, error = ?e, "publishing a transcript failed; will retry");
                                dirty.insert(key, waiting);
                            }
                        }
                    }
                    // Forget days long done, so the maps do not grow forever.
                    written.retain(|_, at| at.elapsed() < REFRESH_EVERY * 60 * 24);
                    zones.retain(|_, (_, at)| at.elapsed() < ZONE_FRESH);
                }
            }
        }
    }
}

/// A day waiting to be published.
#[derive(Debug, Clone, Copy)]
struct Dirty {
    /// The host page's zone, which says what day a change falls on.
    zone: Tz,
    /// Whether an edit or deletion is waiting (see [`Touch::redact`]).
    redact: bool,
}

/// A day is due when it was never written, was written a minute or more
/// ago, or is over in its zone at `now` (a day's last change must not wait).
fn is_due(day: NaiveDate, zone: Tz, last: Option<&Instant>, now: DateTime<Utc>) -> bool {
    match last {
        None => true,
        Some(at) if at.elapsed() >= REFRESH_EVERY => true,
        Some(_) => transcript::local_date(now, zone) > day,
    }
}

impl Publisher {
    /// The time zone of `room`'s host page, which decides what day a change
    /// falls on.
    async fn room_zone(&self, room: &RoomId) -> Option<Tz> {
        let room = self.store.room(room).await.ok()??;
        match self.host.page(&room.page).await {
            Ok(page) => Some(page?.time_zone),
            Err(e) => {
                tracing::warn!(room = %room.id, error = ?e, "the host could not say the room's time zone");
                None
            }
        }
    }

    /// Renders `date` of `room` and writes it to the host. `Ok(None)` when the
    /// day had no messages (no page is created for an empty day) or the room
    /// or its page is gone.
    pub async fn publish_day(
        &self,
        room_id: &RoomId,
        date: NaiveDate,
    ) -> anyhow::Result<Option<TranscriptRef>> {
        // A room whose page was deleted (and the page's chat with it) has
        // nothing left to publish: not an error to retry forever.
        let Some(room) = self.store.room(room_id).await? else {
            return Ok(None);
        };
        let Some(page) = self.host.page(&room.page).await? else {
            return Ok(None);
        };
        let (from, to) = transcript::day_bounds(date, page.time_zone);
        let messages = self
            .store
            .messages(
                &room.id,
                MessageQuery::Between { from, to },
                MAX_DAY_MESSAGES,
            )
            .await?;
        if messages.is_empty() {
            return Ok(None);
        }
        let parents = self.parents_elsewhere(&room, &messages).await?;
        let room_page = room.page.clone();
        let room_name = room.name.clone();
        let cap = self.host.max_page_bytes();
        // A busy day is tens of thousands of messages: rendered off the async
        // threads, so deliveries keep flowing meanwhile.
        let rendered = tokio::task::spawn_blocking(move || {
            parts::split(
                &transcript::Day {
                    room_name: &room.name,
                    room_id: &room.id,
                    page_title: &page.title,
                    page_url: &page.url,
                    date,
                    zone: page.time_zone,
                    messages: &messages,
                    parents: &parents,
                },
                cap,
            )
        })
        .await??;
        let count = rendered.len();
        let mut changed = false;
        let mut first = None;
        for part in rendered {
            let outcome = self
                .host
                .put_child_page(
                    &room_page,
                    ChildPage {
                        segments: part.segments,
                        title: part.title,
                        markdown: part.markdown,
                    },
                )
                .await?;
            changed |= outcome.changed;
            first.get_or_insert(outcome);
        }
        let outcome = first.ok_or_else(|| anyhow::anyhow!("a day rendered to no page"))?;
        let reference = TranscriptRef {
            date,
            path: outcome.path,
            url: outcome.url,
        };
        self.store.set_transcript(room_id, &reference).await?;
        // Parts a shrunken day no longer fills are emptied, so no text
        // lingers on a page the day stopped linking to.
        let before = self
            .store
            .swap_transcript_parts(room_id, date, u32::try_from(count).unwrap_or(u32::MAX))
            .await?;
        for number in count + 1..=before as usize {
            let mut segments = transcript::day_segments(&room_name, date);
            let slug = date.format("%Y-%m-%d").to_string();
            if let Some(last) = segments.last_mut() {
                *last = parts::part_name(&slug, number);
            }
            self.host
                .put_child_page(
                    &room_page,
                    ChildPage {
                        segments,
                        title: format!("{slug} part {number} (unused)"),
                        markdown: format!(
                            "This part of the {slug} transcript is no longer used: the day fits in {count} page(s).\n"
                        ),
                    },
                )
                .await?;
        }
        if changed {
            tracing::info!(room = %room_id, %date, path = %reference.path, parts = count, "transcript published");
        }
        Ok(Some(reference))
    }

    /// The messages the day's replies point to that are not on the day itself.
    async fn parents_elsewhere(
        &self,
        room: &Room,
        messages: &[Message],
    ) -> anyhow::Result<Vec<Message>> {
        let here: HashSet<u64> = messages.iter().map(|m| m.seq).collect();
        let wanted: std::collections::BTreeSet<u64> = messages
            .iter()
            .filter_map(|m| m.reply_to)
            .filter(|seq| !here.contains(seq))
            .collect();
        let mut parents = Vec::with_capacity(wanted.len());
        for seq in wanted {
            if let Some(parent) = self.store.message(&room.id, seq).await? {
                parents.push(parent);
            }
        }
        Ok(parents)
    }

    /// Re-publishes every day of `room` that has messages (after `since`, if
    /// given), calling `progress(done, total_messages)` as it goes. Idempotent:
    /// unchanged days write nothing. Returns the days published.
    pub async fn rebuild_room(
        &self,
        room: &Room,
        since: Option<NaiveDate>,
        mut progress: impl FnMut(u64, u64),
    ) -> anyhow::Result<Vec<TranscriptRef>> {
        let page = self
            .host
            .page(&room.page)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the host page of room {} is gone", room.id))?;
        // One pass over the history to find the days with activity.
        let mut days = std::collections::BTreeSet::new();
        let mut after = 0;
        loop {
            let batch = self
                .store
                .messages(&room.id, MessageQuery::After(after), 1000)
                .await?;
            let Some(last) = batch.last() else { break };
            after = last.seq;
            for message in &batch {
                let day = transcript::local_date(message.created_at, page.time_zone);
                if since.is_none_or(|since| day >= since) {
                    days.insert(day);
                }
            }
            progress(after, room.last_seq);
        }
        let mut published = Vec::with_capacity(days.len());
        for day in days {
            if let Some(reference) = self.publish_day(&room.id, day).await? {
                published.push(reference);
            }
        }
        progress(room.last_seq, room.last_seq);
        Ok(published)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_fresh_day_waits_for_the_minute_until_it_is_over() {
        let zone = chrono_tz::Europe::Berlin;
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let just_written = Instant::now();
        // 23:59:59 and 00:00:01 in Berlin (UTC+1 in November).
        let before_midnight = Utc.with_ymd_and_hms(2026, 11, 22, 22, 59, 59).unwrap();
        let after_midnight = Utc.with_ymd_and_hms(2026, 11, 22, 23, 0, 1).unwrap();
        assert!(is_due(day, zone, None, before_midnight), "never written");
        assert!(!is_due(day, zone, Some(&just_written), before_midnight));
        assert!(is_due(day, zone, Some(&just_written), after_midnight));
    }
}

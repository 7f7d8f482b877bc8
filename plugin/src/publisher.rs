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
//!
//! A publish costs what changed, not the size of the day: a day is cut into
//! parts of at most one host page (`parts`), the store remembers where each
//! part starts, and a publish reads, renders and writes only the last part
//! (where new messages land) and any part holding an edited or deleted
//! message. A day of 100,000 messages publishes as cheaply as one of 5,000
//! (wiki/tests/transcript_publish_cost.rs counts the bytes). Only a full
//! publish ([`Publisher::publish_day`]: rebuilds, days never recorded)
//! reads the whole day, in batches, writing each part once.
//! Whether a day is over is read from the same [`Clock`] that stamps the
//! messages, so a shifted clock (tests) moves both together. An edit or a
//! deletion makes its day due at the next tick ([`Transcripts::redact`]):
//! the host keeps one revision of a transcript, so republishing is what
//! takes the old text out of the page and its history.
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
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

mod parts;

/// How often one day's page may be rewritten while the day goes on.
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);
/// The most bytes of markdown one transcript page holds (less when the
/// host's pages hold less). A refresh rewrites and re-indexes the day's
/// last page on the server's cores, so its size is what a refresh of a busy
/// day costs: 256 KiB is about 1,500 messages, most days' whole transcript,
/// and a few milliseconds of rendering.
pub const PART_BYTES: usize = 256 * 1024;
/// Messages read from the store at a time while rendering a day: bounds
/// what a publish holds in memory (about one part plus one batch).
const BATCH: usize = 5_000;
/// How often the worker looks for due days.
const TICK: Duration = Duration::from_secs(2);
/// How long a host page's time zone is trusted before it is read again: a
/// zone change reaches the day boundaries within this.
const ZONE_FRESH: Duration = Duration::from_secs(60);

/// Something changed in `room` at `at` (a message's creation time).
#[derive(Debug, Clone)]
pub struct Touch {
    pub room: RoomId,
    pub at: DateTime<Utc>,
    /// The message's seq: an edited one's part is rewritten.
    pub seq: u64,
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
            seq: message.seq,
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
                        let entry = dirty.entry((touch.room, day)).or_insert_with(|| Dirty::new(zone));
                        if touch.redact {
                            entry.edited.insert(touch.seq);
                        }
                    }
                }
                _ = tick.tick() => {
                    let now = self.clock.now();
                    let due: Vec<_> = dirty
                        .iter()
                        .filter(|(key, d)| !d.edited.is_empty() || is_due(key.1, d.zone, written.get(*key), now))
                        .map(|(key, _)| key.clone())
                        .collect();
                    for key in due {
                        let Some(waiting) = dirty.remove(&key) else { continue };
                        match self.publish_changes(&key.0, key.1, &waiting.edited).await {
                            Ok(_) => {
                                written.insert(key, Instant::now());
                            }
                            Err(e) => {
                                tracing::warn!(room = %key.0, day = %key.1, error = ?e, "publishing a transcript failed; will retry");
                                // Touches that came meanwhile are kept too.
                                let entry = dirty.entry(key).or_insert_with(|| Dirty::new(waiting.zone));
                                entry.edited.extend(waiting.edited);
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
#[derive(Debug, Clone)]
struct Dirty {
    /// The host page's zone, which says what day a change falls on.
    zone: Tz,
    /// Seqs edited or deleted since the last publish (see
    /// [`Touch::redact`]): their parts are rewritten at the next tick.
    edited: BTreeSet<u64>,
}

impl Dirty {
    fn new(zone: Tz) -> Self {
        Self {
            zone,
            edited: BTreeSet::new(),
        }
    }
}

/// What one publish did, for logs and for tests that bound its cost.
#[derive(Debug, Clone, Default)]
pub struct Published {
    /// Where the day's first page lives (`None`: nothing to publish).
    pub reference: Option<TranscriptRef>,
    /// Pages whose text changed.
    pub changed: usize,
    /// Bytes of markdown in those pages.
    pub bytes: usize,
    /// Messages read from the store to render them.
    pub messages_read: usize,
    /// Part 1, when this publish wrote it.
    first_page: Option<TranscriptRef>,
}

/// What publishing one day needs to know, read once per publish.
struct DayToPublish {
    room: Room,
    page: crate::host::HostPage,
    date: NaiveDate,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
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
        match self.host.page(room.page.as_ref()?).await {
            Ok(page) => Some(page?.time_zone),
            Err(e) => {
                tracing::warn!(room = %room.id, error = ?e, "the host could not say the room's time zone");
                None
            }
        }
    }

    /// Renders all of `date` of `room` and writes it to the host, recording
    /// where its parts start. `Ok(None)` when the day had no messages (no
    /// page is created for an empty day) or the room or its page is gone.
    pub async fn publish_day(
        &self,
        room_id: &RoomId,
        date: NaiveDate,
    ) -> anyhow::Result<Option<TranscriptRef>> {
        Ok(self.publish(room_id, date, None).await?.reference)
    }

    /// Publishes what changed in `date` of `room` since its last publish:
    /// its last part (new messages) and the parts holding `edited` seqs.
    /// A day whose parts were never recorded is published whole.
    pub async fn publish_changes(
        &self,
        room_id: &RoomId,
        date: NaiveDate,
        edited: &BTreeSet<u64>,
    ) -> anyhow::Result<Published> {
        self.publish(room_id, date, Some(edited)).await
    }

    async fn publish(
        &self,
        room_id: &RoomId,
        date: NaiveDate,
        edited: Option<&BTreeSet<u64>>,
    ) -> anyhow::Result<Published> {
        // A room whose page was deleted (and the page's chat with it) has
        // nothing left to publish: not an error to retry forever.
        let Some(room) = self.store.room(room_id).await? else {
            return Ok(Published::default());
        };
        // Group and direct rooms have no page and publish nothing.
        let Some(page_id) = room.page.as_ref() else {
            return Ok(Published::default());
        };
        let Some(page) = self.host.page(page_id).await? else {
            return Ok(Published::default());
        };
        let (from, to) = transcript::day_bounds(date, page.time_zone);
        let day = DayToPublish {
            room,
            page,
            date,
            from,
            to,
        };
        let began = Instant::now();
        let recorded = self.store.transcript_parts(room_id, date).await?;
        let mut published = Published::default();
        // Where to render from: the last part, or the whole day when the
        // parts are not known (or a full publish was asked for).
        let mut from_part = match edited {
            Some(_) if !recorded.starts.is_empty() => recorded.starts.len() - 1,
            _ => 0,
        };
        if let (Some(edited), true) = (edited, from_part > 0) {
            let parts: BTreeSet<usize> = edited
                .iter()
                .map(|seq| recorded.starts.partition_point(|start| start <= seq).max(1) - 1)
                .filter(|part| *part < from_part)
                .collect();
            for part in parts {
                if !self
                    .rewrite_part(&day, &recorded.starts, part, &mut published)
                    .await?
                {
                    // It outgrew its page: the day is cut again from there.
                    from_part = from_part.min(part);
                }
            }
        }
        let after = match from_part {
            0 => 0,
            part => recorded.starts[part].saturating_sub(1),
        };
        let tail = self
            .write_from(&day, from_part + 1, after, &mut published)
            .await?;
        if tail.is_empty() && from_part == 0 {
            return Ok(published);
        }
        let mut starts = recorded.starts[..from_part].to_vec();
        starts.extend(tail);
        if let Some(first) = published.first_page.take() {
            self.store.set_transcript(room_id, &first).await?;
        }
        // Parts a shrunken day no longer fills are emptied, so no text
        // lingers on a page the day stopped linking to.
        let before = self
            .store
            .swap_transcript_parts(room_id, date, &starts)
            .await?;
        for number in starts.len() + 1..=before.count as usize {
            self.empty_part(&day, number, starts.len()).await?;
        }
        published.reference = self
            .store
            .transcripts(room_id)
            .await?
            .into_iter()
            .find(|t| t.date == date);
        if published.changed > 0 {
            tracing::info!(
                room = %room_id, %date, parts = starts.len(), written = published.changed,
                bytes = published.bytes, read = published.messages_read,
                ms = began.elapsed().as_millis() as u64,
                "transcript published"
            );
        }
        Ok(published)
    }

    /// Renders the day from part `number` on (its messages after seq
    /// `after`), reading the store a batch at a time; writes each part as
    /// soon as the next one has begun (it can no longer change) and the
    /// last at the end. Returns the first seq of each part written.
    async fn write_from(
        &self,
        day: &DayToPublish,
        mut number: usize,
        mut after: u64,
        published: &mut Published,
    ) -> anyhow::Result<Vec<u64>> {
        let mut starts = Vec::new();
        let mut carry: Vec<Message> = Vec::new();
        loop {
            let batch = self
                .store
                .messages(
                    &day.room.id,
                    MessageQuery::Between {
                        from: day.from,
                        to: day.to,
                        after,
                    },
                    BATCH,
                )
                .await?;
            let last_batch = batch.len() < BATCH;
            if let Some(last) = batch.last() {
                after = last.seq;
            }
            published.messages_read += batch.len();
            carry.extend(batch);
            if carry.is_empty() {
                return Ok(starts);
            }
            let parts = self
                .render(
                    day,
                    std::mem::take(&mut carry),
                    parts::Place {
                        first: number,
                        more_follow: false,
                    },
                )
                .await?;
            let (mut parts, messages) = parts;
            // The last part may still grow with the next batch.
            let unfinished = if last_batch { None } else { parts.pop() };
            for part in parts {
                starts.push(part.first_seq);
                number = part.number + 1;
                self.put(day, part, published).await?;
            }
            match unfinished {
                Some(part) => carry = messages[messages.len() - part.messages..].to_vec(),
                None => return Ok(starts),
            }
        }
    }

    /// Rewrites part `index` (from 0) of the day in place, its messages
    /// being those from `starts[index]` to the next part's first. `false`
    /// when they no longer fit one page.
    async fn rewrite_part(
        &self,
        day: &DayToPublish,
        starts: &[u64],
        index: usize,
        published: &mut Published,
    ) -> anyhow::Result<bool> {
        let (first, next) = (starts[index], starts[index + 1]);
        let mut messages = self
            .store
            .messages(
                &day.room.id,
                MessageQuery::Between {
                    from: day.from,
                    to: day.to,
                    after: first.saturating_sub(1),
                },
                usize::try_from(next - first).unwrap_or(usize::MAX),
            )
            .await?;
        messages.retain(|m| m.seq < next);
        published.messages_read += messages.len();
        let (mut parts, _) = self
            .render(
                day,
                messages,
                parts::Place {
                    first: index + 1,
                    more_follow: true,
                },
            )
            .await?;
        match (parts.pop(), parts.is_empty()) {
            (Some(part), true) => {
                self.put(day, part, published).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Renders `messages` (in seq order) as parts, off the async threads so
    /// deliveries keep flowing meanwhile. Gives the messages back.
    async fn render(
        &self,
        day: &DayToPublish,
        messages: Vec<Message>,
        place: parts::Place,
    ) -> anyhow::Result<(Vec<parts::Part>, Vec<Message>)> {
        let parents = self.parents_elsewhere(&day.room, &messages).await?;
        let cap = self.host.max_page_bytes().min(PART_BYTES);
        let (room, page, date) = (day.room.clone(), day.page.clone(), day.date);
        tokio::task::spawn_blocking(move || {
            let parts = parts::split(
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
                place,
            )?;
            Ok((parts, messages))
        })
        .await?
    }

    /// Writes one part to the host.
    async fn put(
        &self,
        day: &DayToPublish,
        part: parts::Part,
        published: &mut Published,
    ) -> anyhow::Result<()> {
        let bytes = part.page.markdown.len();
        let outcome = self
            .host
            .put_child_page(
                &day.page.id,
                ChildPage {
                    segments: part.page.segments,
                    title: part.page.title,
                    markdown: part.page.markdown,
                },
            )
            .await?;
        if outcome.changed {
            published.changed += 1;
            published.bytes += bytes;
        }
        if part.number == 1 {
            published.first_page = Some(TranscriptRef {
                date: day.date,
                path: outcome.path,
                url: outcome.url,
            });
        }
        Ok(())
    }

    /// Empties part `number`, which a day of `count` parts no longer uses.
    async fn empty_part(
        &self,
        day: &DayToPublish,
        number: usize,
        count: usize,
    ) -> anyhow::Result<()> {
        let mut segments = transcript::day_segments(&day.room.name, day.date);
        let slug = day.date.format("%Y-%m-%d").to_string();
        if let Some(last) = segments.last_mut() {
            *last = parts::part_name(&slug, number);
        }
        self.host
            .put_child_page(
                &day.page.id,
                ChildPage {
                    segments,
                    title: format!("{slug} part {number} (unused)"),
                    markdown: format!(
                        "This part of the {slug} transcript is no longer used: the day fits in {count} page(s).\n"
                    ),
                },
            )
            .await?;
        Ok(())
    }

    /// The messages the replies in `messages` point to that are not among
    /// them: other days', and the same day's on earlier parts.
    async fn parents_elsewhere(
        &self,
        room: &Room,
        messages: &[Message],
    ) -> anyhow::Result<Vec<Message>> {
        let here: HashSet<u64> = messages.iter().map(|m| m.seq).collect();
        let wanted: BTreeSet<u64> = messages
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
        let Some(page_id) = room.page.as_ref() else {
            return Ok(Vec::new());
        };
        let page = self
            .host
            .page(page_id)
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

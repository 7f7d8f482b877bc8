//! History windows: which stretch of a room's messages a page shows.
//!
//! The JSON API pages by `after`/`before`/`range`; the no-JavaScript popup
//! shows the same stretches as whole pages (the latest messages, an older or
//! newer page, the messages around a permalink, one of seed 001's time
//! ranges, or a thread). Both ask here, so a window means the same thing
//! everywhere.

use crate::error::AppError;
use crate::state::AppState;
use crate::store::{MessageQuery, Room};
use chrono::Duration;
use protocol::{ErrorCode, Message};
use serde::Deserialize;

/// Messages one page of history shows.
pub const PAGE: usize = 50;

/// The time ranges history can be browsed by (seed 001).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Range {
    #[serde(rename = "day")]
    Day,
    #[serde(rename = "week")]
    Week,
    #[serde(rename = "month")]
    Month,
    #[serde(rename = "3months")]
    ThreeMonths,
}

impl Range {
    pub const ALL: [Range; 4] = [Range::Day, Range::Week, Range::Month, Range::ThreeMonths];

    pub fn length(self) -> Duration {
        match self {
            Range::Day => Duration::days(1),
            Range::Week => Duration::weeks(1),
            Range::Month => Duration::days(30),
            Range::ThreeMonths => Duration::days(91),
        }
    }

    /// The query-string value, as it deserializes.
    pub fn as_str(self) -> &'static str {
        match self {
            Range::Day => "day",
            Range::Week => "week",
            Range::Month => "month",
            Range::ThreeMonths => "3months",
        }
    }

    /// What a link to the range says.
    pub fn label(self) -> &'static str {
        match self {
            Range::Day => "last day",
            Range::Week => "last week",
            Range::Month => "last month",
            Range::ThreeMonths => "last 3 months",
        }
    }
}

/// A stretch of a room's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The newest page: what a freshly opened room shows.
    Latest,
    /// The page of messages just older than `seq`.
    Before(u64),
    /// The page of messages just newer than `seq`.
    After(u64),
    /// A page centred on one message (a permalink).
    Around(u64),
    /// The newest page within a time range, older than `before` when set.
    Range { range: Range, before: Option<u64> },
    /// A message and its replies.
    Thread(u64),
}

/// One page of history, oldest first.
#[derive(Debug, Clone)]
pub struct Page {
    pub messages: Vec<Message>,
    /// Older messages exist before the first one shown (within the range,
    /// for a range window).
    pub has_older: bool,
    /// Newer messages exist after the last one shown.
    pub has_newer: bool,
}

/// The messages `window` shows in `room`. A permalink or thread to a
/// message the room does not have is a 404, like any other unknown.
pub async fn load(state: &AppState, room: &Room, window: Window) -> Result<Page, AppError> {
    let store = &state.store;
    let id = &room.id;
    let newest = room.last_seq;
    let messages = match window {
        Window::Latest => newest_first(
            store
                .messages(id, before(newest.saturating_add(1)), PAGE)
                .await?,
        ),
        Window::Before(seq) => newest_first(store.messages(id, before(seq), PAGE).await?),
        Window::After(seq) => store.messages(id, MessageQuery::After(seq), PAGE).await?,
        Window::Around(seq) => {
            let found = crate::chat::find(state, room, seq).await?;
            let mut page = newest_first(store.messages(id, before(seq), PAGE / 2).await?);
            page.push(found);
            let newer = PAGE - page.len();
            page.extend(store.messages(id, MessageQuery::After(seq), newer).await?);
            page
        }
        Window::Range { range, before } => {
            let since = state.config.clock.now() - range.length();
            let before = before.unwrap_or(u64::MAX);
            newest_first(
                store
                    .messages(id, MessageQuery::Since { since, before }, PAGE)
                    .await?,
            )
        }
        Window::Thread(seq) => {
            let parent = crate::chat::find(state, room, seq).await?;
            let mut page = vec![parent];
            page.extend(
                store
                    .messages(
                        id,
                        MessageQuery::Replies(seq),
                        crate::chat::MAX_HISTORY_LIMIT,
                    )
                    .await?,
            );
            return Ok(Page {
                messages: page,
                has_older: false,
                has_newer: false,
            });
        }
    };
    let first = messages.first().map(|m| m.seq);
    let last = messages.last().map(|m| m.seq);
    let has_older = match (window, first) {
        (_, None) => false,
        // Only a range knows its start by time: ask whether one more exists.
        (Window::Range { range, .. }, Some(first)) => {
            let since = state.config.clock.now() - range.length();
            !store
                .messages(
                    id,
                    MessageQuery::Since {
                        since,
                        before: first,
                    },
                    1,
                )
                .await?
                .is_empty()
        }
        (_, Some(first)) => store.first_seq(id).await?.is_some_and(|f| f < first),
    };
    let has_newer = last.is_some_and(|last| last < newest);
    Ok(Page {
        messages,
        has_older,
        has_newer,
    })
}

/// Parses the popup's window parameters: at most one of `before`, `after`,
/// `at`; `range` only alone or with `before`.
pub fn window(
    before: Option<u64>,
    after: Option<u64>,
    at: Option<u64>,
    range: Option<Range>,
) -> Result<Window, AppError> {
    match (before, after, at, range) {
        (None, None, None, None) => Ok(Window::Latest),
        (Some(seq), None, None, None) => Ok(Window::Before(seq)),
        (None, Some(seq), None, None) => Ok(Window::After(seq)),
        (None, None, Some(seq), None) => Ok(Window::Around(seq)),
        (before, None, None, Some(range)) => Ok(Window::Range { range, before }),
        _ => Err(AppError::new(
            ErrorCode::BadRequest,
            "give one of `before`, `after` or `at` (`range` goes alone or with `before`)",
        )),
    }
}

fn before(seq: u64) -> MessageQuery {
    MessageQuery::Before(seq)
}

/// The store answers backward pages newest first; pages show oldest first.
fn newest_first(mut messages: Vec<Message>) -> Vec<Message> {
    messages.reverse();
    messages
}

//! The [`Profiles`] half of the store: what people say about themselves
//! (display name, status, time zone, contact links) and their pictures.
//!
//! Users belong to the host; a profile row only adds to one, so a host
//! that knows nobody's display name still gets profiles. Pictures are
//! kept here too, a few KB per size, rather than in the blob store: the
//! file collector (which removes blobs no message names) never sees them,
//! and every node reads them from the one shared database. Validation
//! lives above (`crate::profiles`); the store keeps rows.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use protocol::UserId;

/// One person's profile row. Every text is as validated above; `None` is
/// "not set".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRecord {
    pub user: UserId,
    pub display_name: Option<String>,
    pub status_text: Option<String>,
    pub status_until: Option<DateTime<Utc>>,
    /// An IANA zone name.
    pub time_zone: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub xmpp: Option<String>,
    /// Bumped by every [`Profiles::set_avatar`]; 0 while there is none
    /// (a cleared picture keeps its last number, so URLs never repeat).
    pub avatar_version: u64,
    /// Whether a picture is stored now.
    pub has_avatar: bool,
    pub updated_at: DateTime<Utc>,
}

impl ProfileRecord {
    /// A profile with nothing set.
    pub fn empty(user: UserId, now: DateTime<Utc>) -> Self {
        Self {
            user,
            display_name: None,
            status_text: None,
            status_until: None,
            time_zone: None,
            email: None,
            phone: None,
            xmpp: None,
            avatar_version: 0,
            has_avatar: false,
            updated_at: now,
        }
    }
}

/// One stored size of a picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvatarImage {
    /// Width and height in pixels (pictures are square).
    pub size: u32,
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// The profile's `avatar_version` when it was stored.
    pub version: u64,
}

/// Profiles and pictures. Both backends implement it beside
/// [`super::Store`].
#[async_trait]
pub trait Profiles: Send + Sync + 'static {
    /// `user`'s profile, if they ever saved one or uploaded a picture.
    async fn profile(&self, user: &UserId) -> anyhow::Result<Option<ProfileRecord>>;

    /// The profiles of those of `users` who have one, in one query, in no
    /// particular order.
    async fn profiles(&self, users: &[UserId]) -> anyhow::Result<Vec<ProfileRecord>>;

    /// Creates or replaces the profile's texts; the picture and its
    /// version are left as they are (`avatar_version` and `has_avatar` of
    /// `record` are ignored). Returns the row as stored.
    async fn put_profile(&self, record: ProfileRecord) -> anyhow::Result<ProfileRecord>;

    /// Replaces every stored size of `user`'s picture with `sizes`
    /// (`(size, content type, bytes)`) in one transaction, creating the
    /// profile if needed, and bumps the version. Returns the new version.
    async fn set_avatar(
        &self,
        user: &UserId,
        sizes: Vec<(u32, String, Vec<u8>)>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u64>;

    /// Removes `user`'s picture (every size). False if there was none.
    async fn clear_avatar(&self, user: &UserId, now: DateTime<Utc>) -> anyhow::Result<bool>;

    /// One size of `user`'s picture, with the version it belongs to.
    async fn avatar(&self, user: &UserId, size: u32) -> anyhow::Result<Option<AvatarImage>>;
}

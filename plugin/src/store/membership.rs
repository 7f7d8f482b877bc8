//! The [`Membership`] half of the store: rooms that are not declared by a
//! page, their members, invitations and each user's notifications.
//!
//! Rules (who may invite, what expires when) live in the operations above
//! (`people`); the store keeps rows and answers compare-and-set questions
//! atomically, so two nodes accepting and cancelling one invitation at once
//! agree on who won.

use super::Room;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use protocol::{InvitationStatus, PageId, Role, RoomId, RoomKind, UserId};

/// A group or direct room to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRoom {
    pub kind: RoomKind,
    /// Unique handle; `private:A:B` for direct rooms.
    pub alias: String,
    pub name: String,
    pub topic: String,
    pub is_public: bool,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

/// What [`Membership::create_room`] and [`Membership::update_room`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claimed {
    /// The room as stored now (boxed: a room is large, the other answer empty).
    Done(Box<Room>),
    /// Another room holds the alias already.
    AliasTaken,
}

/// A room's settings as its owner changes them. `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoomSettings {
    pub name: Option<String>,
    pub topic: Option<String>,
    pub alias: Option<String>,
    pub is_public: Option<bool>,
    /// `Some(None)` goes back to the stock icon.
    pub avatar: Option<Option<String>>,
    /// Where a group or direct room publishes its transcripts; `Some(None)`
    /// stops publishing.
    pub page: Option<Option<PageId>>,
}

/// A member as stored: someone with a role in a room (a reader of a page
/// room who only has a read mark is not a member).
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub room: RoomId,
    pub user: UserId,
    /// Display name when they joined (or were last given a role).
    pub name: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
    pub last_read_seq: u64,
    pub muted: bool,
}

/// One of the rooms a user is a member of, with the room row.
#[derive(Debug, Clone, PartialEq)]
pub struct Membered {
    pub room: Room,
    pub member: Member,
}

/// An invitation to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInvitation {
    pub room: RoomId,
    pub invitee: UserId,
    pub invitee_name: String,
    pub inviter: UserId,
    pub inviter_name: String,
    pub comment: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
}

/// An invitation as stored. `status` is as written: an `Invited` row past
/// `expires_at` is expired, which [`StoredInvitation::status_at`] says.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredInvitation {
    pub id: u64,
    pub room: RoomId,
    pub invitee: UserId,
    pub invitee_name: String,
    pub inviter: UserId,
    pub inviter_name: String,
    pub comment: String,
    pub status: InvitationStatus,
    /// What the invitee said when declining, if anything.
    pub response: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
}

impl StoredInvitation {
    /// The status at `now`: an open invitation past its TTL is expired.
    pub fn status_at(&self, now: DateTime<Utc>) -> InvitationStatus {
        match (self.status, self.expires_at) {
            (InvitationStatus::Invited, Some(expires)) if expires <= now => {
                InvitationStatus::Expired
            }
            (status, _) => status,
        }
    }

    /// Open and already started at `now`: the invitee sees it.
    pub fn pending_at(&self, now: DateTime<Utc>) -> bool {
        self.status_at(now) == InvitationStatus::Invited
            && self.starts_at.is_none_or(|start| start <= now)
    }
}

/// A notification to store for one user.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    pub user: UserId,
    /// [`protocol::NotificationBody::kind`].
    pub kind: String,
    pub room: Option<RoomId>,
    /// The invitation it announces, so settling the invitation clears it.
    pub invitation: Option<u64>,
    /// The [`protocol::NotificationBody`] as JSON.
    pub payload: String,
    pub created_at: DateTime<Utc>,
    /// Hidden before this (a scheduled invitation); usually `created_at`.
    pub visible_at: DateTime<Utc>,
}

/// A notification as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredNotification {
    pub id: u64,
    pub user: UserId,
    pub kind: String,
    pub room: Option<RoomId>,
    pub invitation: Option<u64>,
    pub payload: String,
    pub created_at: DateTime<Utc>,
    pub visible_at: DateTime<Utc>,
    pub read: bool,
}

/// Who a new room starts with: every owner as [`Role::Owner`], then every
/// member who is not also an owner as [`Role::Member`], each user once.
pub(super) fn founders(
    owners: &[(UserId, String)],
    members: &[(UserId, String)],
) -> Vec<(UserId, String, Role)> {
    let mut people: Vec<(UserId, String, Role)> = Vec::new();
    let listed = owners
        .iter()
        .map(|who| (who, Role::Owner))
        .chain(members.iter().map(|who| (who, Role::Member)));
    for ((user, name), role) in listed {
        if !people.iter().any(|(seen, _, _)| seen == user) {
            people.push((user.clone(), name.clone(), role));
        }
    }
    people
}

/// `query` as a `LIKE` pattern for any text containing it, with `%`, `_`
/// and `\` standing for themselves (the queries say `ESCAPE '\'`): a
/// search for `50%` must not list every room with a 50 in its name.
pub(super) fn contains_pattern(query: &str) -> String {
    let mut pattern = String::with_capacity(query.len() + 2);
    pattern.push('%');
    for c in query.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Rooms with people: creating group and direct rooms, members, invitations
/// and notifications. Both backends implement it beside [`super::Store`].
#[async_trait]
pub trait Membership: Send + Sync + 'static {
    /// Creates a group or direct room and makes `owners` its owners and
    /// `members` its members, in one transaction. An alias already taken
    /// answers [`Claimed::AliasTaken`] and creates nothing.
    async fn create_room(
        &self,
        room: NewRoom,
        owners: &[(UserId, String)],
        members: &[(UserId, String)],
    ) -> anyhow::Result<Claimed>;

    /// The room holding `alias`.
    async fn room_by_alias(&self, alias: &str) -> anyhow::Result<Option<Room>>;

    /// Changes a room's settings; a taken alias changes nothing.
    async fn update_room(&self, room: &RoomId, settings: RoomSettings) -> anyhow::Result<Claimed>;

    /// The directory's rooms whose name or alias contains `query`
    /// (case-insensitive), by name then id, after the (name, id) cursor:
    /// public group rooms, and page rooms too when `page_rooms` (the caller
    /// keeps those whose page the reader may see).
    async fn directory_rooms(
        &self,
        query: &str,
        after: Option<(String, RoomId)>,
        limit: usize,
        page_rooms: bool,
    ) -> anyhow::Result<Vec<Room>>;

    /// `user`'s membership of `room`, if they are a member.
    async fn member(&self, room: &RoomId, user: &UserId) -> anyhow::Result<Option<Member>>;

    /// A room's members, owners first, then by name.
    async fn members(&self, room: &RoomId) -> anyhow::Result<Vec<Member>>;

    /// Makes `user` a member with `role`, or changes their role; keeps their
    /// read mark and `joined_at` if they were one already.
    async fn put_member(
        &self,
        room: &RoomId,
        user: &UserId,
        name: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Member>;

    /// Ends `user`'s membership (their read mark stays). False if they were
    /// not a member.
    async fn remove_member(&self, room: &RoomId, user: &UserId) -> anyhow::Result<bool>;

    /// Mutes or unmutes a room for a member. False if they are not one.
    async fn set_muted(&self, room: &RoomId, user: &UserId, muted: bool) -> anyhow::Result<bool>;

    /// The rooms `user` is a member of, most recent activity first.
    async fn rooms_of(&self, user: &UserId) -> anyhow::Result<Vec<Membered>>;

    /// Stores an invitation. An open invitation of the same invitee to the
    /// same room is replaced (its comment, TTL and schedule updated, its id
    /// kept) rather than doubled.
    async fn invite(&self, invitation: NewInvitation) -> anyhow::Result<StoredInvitation>;

    async fn invitation(&self, id: u64) -> anyhow::Result<Option<StoredInvitation>>;

    /// `invitee`'s invitations with status `invited` (expired and not yet
    /// started ones included: the caller filters with `pending_at`), newest first.
    async fn invitations_for(&self, invitee: &UserId) -> anyhow::Result<Vec<StoredInvitation>>;

    /// A room's invitations with status `invited`, newest first.
    async fn invitations_to(&self, room: &RoomId) -> anyhow::Result<Vec<StoredInvitation>>;

    /// Moves invitation `id` from `invited` to `to` (with the invitee's
    /// `response`, for a decline) if it is still `invited`; dismisses the
    /// notifications that announced it. `None` if it had already moved on
    /// (another node, or a second click, settled it first).
    async fn settle_invitation(
        &self,
        id: u64,
        to: InvitationStatus,
        response: Option<String>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<StoredInvitation>>;

    /// Stores a notification; then drops the user's oldest beyond `cap`.
    async fn notify(
        &self,
        notification: NewNotification,
        cap: usize,
    ) -> anyhow::Result<StoredNotification>;

    /// `user`'s notifications visible at `now` and created after
    /// `created_after` (older ones have expired), newest first, ids below
    /// `before`.
    async fn notifications(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
        created_after: DateTime<Utc>,
        before: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<Vec<StoredNotification>>;

    /// How many of those are unread.
    async fn unread_notifications(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
        created_after: DateTime<Utc>,
    ) -> anyhow::Result<u64>;

    /// Marks notifications read (`ids` empty: all of the user's).
    async fn read_notifications(&self, user: &UserId, ids: &[u64]) -> anyhow::Result<u64>;

    /// Removes notifications for good (dismissed); returns how many went.
    async fn dismiss_notifications(&self, user: &UserId, ids: &[u64]) -> anyhow::Result<u64>;

    /// Removes every notification created before `before` (expiry sweep).
    async fn expire_notifications(&self, before: DateTime<Utc>) -> anyhow::Result<u64>;
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn like_wildcards_stand_for_themselves() {
        assert_eq!(contains_pattern("lobby"), "%lobby%");
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
        assert_eq!(contains_pattern(""), "%%");
    }
}

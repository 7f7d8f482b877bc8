//! Rooms with people (seeds 000 and 004): members and their roles,
//! invitations with a lifecycle, and the notifications that wait for a user
//! until they act on them.
//!
//! An [`Invitation`] carries the room's card and the inviter's public
//! profile, so a client shows it without a second round trip (seed 004).

use crate::id::{RoomId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a room hangs off, and so where its access comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// Declared by a `{chat:Name}` macro on a wiki page: read and write come
    /// from the page's rules; room roles add owners and moderators on top.
    Page,
    /// Stand-alone: public (listed in the directory, anyone signed in may
    /// join) or invite-only; access from membership.
    Group,
    /// Two people, alias `private:A:B` (user ids sorted bytewise); access
    /// from membership.
    Direct,
}

impl RoomKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomKind::Page => "page",
            RoomKind::Group => "group",
            RoomKind::Direct => "direct",
        }
    }

    /// The kind a stored name stands for; anything else is a page room, the
    /// only kind older schemas had.
    pub fn parse(stored: &str) -> Self {
        match stored {
            "group" => RoomKind::Group,
            "direct" => RoomKind::Direct,
            _ => RoomKind::Page,
        }
    }
}

/// A member's role (seed 000). Ordered: each includes the rights of the
/// ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads and writes.
    Member,
    /// Also adds and removes members (not owners) and moderates messages.
    Moderator,
    /// Also changes the room's settings and members' roles.
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Moderator => "moderator",
            Role::Owner => "owner",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "member" => Some(Role::Member),
            "moderator" => Some(Role::Moderator),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }

    /// The rights this role gives (seed 000's five).
    pub fn rights(self) -> Rights {
        Rights {
            read: true,
            write: true,
            add: self >= Role::Moderator,
            remove: self >= Role::Moderator,
            settings: self == Role::Owner,
        }
    }
}

/// What a member may do (seed 000): read, write, add members, remove
/// members, change settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Rights {
    pub read: bool,
    pub write: bool,
    pub add: bool,
    pub remove: bool,
    pub settings: bool,
}

/// A member's status (seed 000): `invited` until they accept; after that
/// their live presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    Invited,
    Active,
    Away,
    Idle,
    /// Also what everyone else sees for a member who is not connected.
    Offline,
}

/// Someone's public profile: what others may see of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub id: UserId,
    pub name: String,
}

/// A room as lists, invitations and the directory show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomCard {
    pub id: RoomId,
    pub kind: RoomKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    pub name: String,
    #[serde(default)]
    pub topic: String,
    /// The room's image, or the stock icon.
    pub avatar_url: String,
    pub is_public: bool,
    /// Always `cleartext` today (seed 004).
    pub encryption_status: String,
    /// What the room carries (seed 004): `text` today.
    pub media_types: Vec<String>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub last_activity: Option<DateTime<Utc>>,
    /// Where the popup is, `/rooms/{id}`.
    pub url: String,
}

/// One member as the members panel shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    pub id: UserId,
    pub name: String,
    pub role: Role,
    pub status: MemberStatus,
    pub joined_at: Option<DateTime<Utc>>,
}

/// A room in the caller's "my rooms".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MyRoom {
    pub room: RoomCard,
    pub role: Role,
    pub unread: u64,
    pub muted: bool,
    /// For a direct room, the other person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<Profile>,
}

/// Where an invitation is in its life (seed 004).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Invited,
    Accepted,
    Declined,
    Cancelled,
    Expired,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Invited => "invited",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Declined => "declined",
            InvitationStatus::Cancelled => "cancelled",
            InvitationStatus::Expired => "expired",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "invited" => Some(InvitationStatus::Invited),
            "accepted" => Some(InvitationStatus::Accepted),
            "declined" => Some(InvitationStatus::Declined),
            "cancelled" => Some(InvitationStatus::Cancelled),
            "expired" => Some(InvitationStatus::Expired),
            _ => None,
        }
    }
}

/// An invitation into a room, with everything a client shows about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: u64,
    pub room: RoomCard,
    pub inviter: Profile,
    pub invitee: Profile,
    #[serde(default)]
    pub comment: String,
    pub status: InvitationStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// After this it is `expired` (optional TTL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Not shown to the invitee before this (a scheduled chat); an iCalendar
    /// file for it is at `/api/invitations/{id}/calendar.ics`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
}

/// What a notification is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NotificationBody {
    /// Someone invited you into a room.
    Invitation { invitation: Invitation },
    /// Someone declined your invitation and said why (a silent decline
    /// sends nothing).
    Declined {
        invitation_id: u64,
        room: RoomCard,
        by: Profile,
        message: String,
    },
    /// You were mentioned.
    Mention {
        room: RoomCard,
        seq: u64,
        by: Profile,
        excerpt: String,
    },
    /// A reply to one of your messages.
    Reply {
        room: RoomCard,
        seq: u64,
        by: Profile,
        excerpt: String,
    },
    /// A message in a direct room.
    Direct {
        room: RoomCard,
        seq: u64,
        by: Profile,
        excerpt: String,
    },
    /// Someone asks you into a room now (seed 001's call).
    Call { room: RoomCard, by: Profile },
}

impl NotificationBody {
    /// The stored kind name (the serde tag).
    pub fn kind(&self) -> &'static str {
        match self {
            NotificationBody::Invitation { .. } => "invitation",
            NotificationBody::Declined { .. } => "declined",
            NotificationBody::Mention { .. } => "mention",
            NotificationBody::Reply { .. } => "reply",
            NotificationBody::Direct { .. } => "direct",
            NotificationBody::Call { .. } => "call",
        }
    }
}

/// A notification waiting for its user until they read or dismiss it (or
/// act on what it is about).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: u64,
    pub created_at: DateTime<Utc>,
    pub read: bool,
    #[serde(flatten)]
    pub body: NotificationBody,
}

/// `GET /api/notifications`: a page of them, newest first, and the count the
/// bell shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notifications {
    pub unread: u64,
    pub notifications: Vec<Notification>,
    /// Pass as `before` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// `GET /api/users/{user}/profile`: a person's profile page as one viewer
/// may see it (docs/API.md, "Profiles").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    pub id: UserId,
    /// The display name the person chose, else the wiki's name for them.
    pub name: String,
    /// Always set: the uploaded picture's versioned URL
    /// (`/users/{id}/avatar/{size}?v=N`), or the letter image's.
    pub avatar: String,
    /// Whether `avatar` is an uploaded picture rather than the letter image.
    pub has_avatar: bool,
    /// Absent when none is set or it has expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// An IANA zone name (`Europe/Berlin`), if the person chose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Only for signed-in viewers; `None` (absent) for anonymous ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Contacts>,
}

/// A short status ("in a workshop"), shown until `until` if that is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

/// How to reach someone who is not answering in the chat; each only if
/// they chose to show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `+` and digits only (as stored, spaces and dashes removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xmpp: Option<String>,
}

/// `PUT /api/users/me/profile`: the whole editable profile. A field absent
/// or `null` is cleared (no display name shows the wiki's name); the
/// picture is not part of it (`PUT`/`DELETE /api/users/me/avatar`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileEdit {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    /// When the status stops showing; needs `status`.
    #[serde(default)]
    pub status_until: Option<DateTime<Utc>>,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub xmpp: Option<String>,
}

//! Profiles: the rules for what people say about themselves, and how the
//! rest of the chat shows them.
//!
//! A user is the host's ([`Host::user`](crate::host::Host::user) says who
//! exists); the profile only adds to them, from the store
//! ([`crate::store::Profiles`]). The JSON API ([`crate::profile_api`]) and
//! the page ([`crate::profile_page`]) both call [`view`], [`save`],
//! [`set_avatar`] and [`clear_avatar`], so both share one set of rules:
//!
//! - An unknown user is a 404 like any other unknown thing. Profiles are
//!   public (anonymous readers see everything but the contact links), so
//!   the 404 hides nothing a page would not show.
//! - Only the person edits their own profile; anyone else signed in gets
//!   403 (not 404: the profile is public, so there is nothing to hide), an
//!   anonymous caller 401.
//! - Limits, each refused with 400 `invalid_input` naming the field:
//!   display name 1–[`MAX_NAME_CHARS`] characters after trimming, no
//!   control characters; status at most [`MAX_STATUS_CHARS`]; its expiry
//!   in the future and at most a year ahead, and only with a status; time
//!   zone an IANA name chrono-tz knows; e-mail at most [`MAX_EMAIL_BYTES`]
//!   bytes and `local@domain`; phone `+` then 7–15 digits (spaces and
//!   dashes allowed, removed); XMPP `local@domain`. Writes take a token
//!   from the per-user profile limiter (429 past it).
//!
//! Elsewhere people appear as a [`Face`]: a name (the display name, else
//! the host's) and a picture URL. [`faces`] answers for a whole list with
//! one store query for the people not cached; [`with_display_name`] gives
//! a resolved caller their display name, so new messages carry it. Both
//! read through the state's 30-second caches, which a write on this node
//! clears at once.

use crate::avatars::{self, LIST_SIZE, PAGE_SIZE};
use crate::bus::RoomEvent;
use crate::error::AppError;
use crate::host::Caller;
use crate::state::AppState;
use crate::store::ProfileRecord;
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use protocol::{Contacts, ErrorCode, Event, ProfileEdit, Status, UserId, UserProfile};
use std::collections::HashMap;

/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest status, in characters.
pub const MAX_STATUS_CHARS: usize = 140;
/// Furthest ahead a status may expire.
pub const MAX_STATUS_AHEAD_DAYS: i64 = 365;
/// Longest e-mail address or XMPP address, in bytes.
pub const MAX_EMAIL_BYTES: usize = 254;
/// Fewest and most digits of a phone number (E.164 allows 15).
pub const PHONE_DIGITS: std::ops::RangeInclusive<usize> = 7..=15;

/// How a person appears beside their messages, in member lists and
/// notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Face {
    pub id: UserId,
    /// Their display name, else the host's name for them, else their id.
    pub name: String,
    /// The picture at [`LIST_SIZE`] pixels (the letter image if none).
    pub avatar_url: String,
    pub has_avatar: bool,
    /// The picture's version (0 while there never was one).
    pub avatar_version: u64,
}

impl Face {
    /// The picture at another of [`avatars::SIZES`].
    pub fn avatar_at(&self, size: u32) -> String {
        avatar_url(
            &self.id,
            self.has_avatar.then_some(self.avatar_version),
            size,
        )
    }
}

/// What a path segment may hold unescaped.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `user` as a URL path segment.
pub fn segment(user: &UserId) -> String {
    utf8_percent_encode(user.as_str(), SEGMENT).to_string()
}

/// `/users/{user}`: the profile page.
pub fn page_url(user: &UserId) -> String {
    format!("/users/{}", segment(user))
}

/// The picture URL: versioned (`?v=N`, cached for good) when there is a
/// picture, the letter image's otherwise.
pub fn avatar_url(user: &UserId, version: Option<u64>, size: u32) -> String {
    match version {
        Some(version) => format!("/users/{}/avatar/{size}?v={version}", segment(user)),
        None => format!("/users/{}/avatar/{size}", segment(user)),
    }
}

/// `user`'s stored profile, through the cache.
pub async fn record(state: &AppState, user: &UserId) -> Result<Option<ProfileRecord>, AppError> {
    if let Some(cached) = state.profile_cache.get(user) {
        return Ok(cached);
    }
    let stored = state.store.profile(user).await?;
    state.profile_cache.put(user.clone(), stored.clone());
    Ok(stored)
}

/// The host's name for `user`, through the cache; `None` for nobody.
async fn host_name(state: &AppState, user: &UserId) -> Result<Option<String>, AppError> {
    if let Some(cached) = state.host_names.get(user) {
        return Ok(cached);
    }
    let name = state.host.user(user).await?.map(|profile| profile.name);
    state.host_names.put(user.clone(), name.clone());
    Ok(name)
}

/// `caller` with their display name, if they set one. A store failure is
/// logged and leaves the host's name: a name is not worth failing a
/// request for.
pub async fn with_display_name(state: &AppState, mut caller: Caller) -> Caller {
    match record(state, &caller.id).await {
        Ok(Some(ProfileRecord {
            display_name: Some(name),
            ..
        })) => caller.name = name,
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(user = %caller.id, %error, "no display name: the profile could not be read");
        }
    }
    caller
}

/// How `user` appears elsewhere.
pub async fn face(state: &AppState, user: &UserId) -> Result<Face, AppError> {
    let mut found = faces(state, std::slice::from_ref(user)).await?;
    found
        .remove(user)
        .ok_or_else(|| AppError::from(anyhow::anyhow!("no face for {user}")))
}

/// How each of `users` appears elsewhere (duplicates answered once): one
/// store query for those not cached, and the host asked for the names of
/// those without a display name (also cached).
pub async fn faces(state: &AppState, users: &[UserId]) -> Result<HashMap<UserId, Face>, AppError> {
    let mut records: HashMap<UserId, Option<ProfileRecord>> = HashMap::new();
    let mut misses: Vec<UserId> = Vec::new();
    for user in users {
        if records.contains_key(user) || misses.contains(user) {
            continue;
        }
        match state.profile_cache.get(user) {
            Some(cached) => {
                records.insert(user.clone(), cached);
            }
            None => misses.push(user.clone()),
        }
    }
    if !misses.is_empty() {
        let mut stored: HashMap<UserId, ProfileRecord> = state
            .store
            .profiles(&misses)
            .await?
            .into_iter()
            .map(|record| (record.user.clone(), record))
            .collect();
        for user in misses {
            let record = stored.remove(&user);
            state.profile_cache.put(user.clone(), record.clone());
            records.insert(user, record);
        }
    }
    let mut faces = HashMap::with_capacity(records.len());
    for (user, record) in records {
        let name = match record.as_ref().and_then(|r| r.display_name.clone()) {
            Some(name) => name,
            None => host_name(state, &user)
                .await?
                .unwrap_or_else(|| user.as_str().to_owned()),
        };
        faces.insert(user.clone(), face_of(user, name, record.as_ref()));
    }
    Ok(faces)
}

fn face_of(user: UserId, name: String, record: Option<&ProfileRecord>) -> Face {
    let has_avatar = record.is_some_and(|r| r.has_avatar);
    let avatar_version = record.map_or(0, |r| r.avatar_version);
    Face {
        avatar_url: avatar_url(&user, has_avatar.then_some(avatar_version), LIST_SIZE),
        id: user,
        name,
        has_avatar,
        avatar_version,
    }
}

/// The host's profile of `user`, or the 404 every unknown thing gets.
async fn existing(state: &AppState, user: &UserId) -> Result<protocol::Profile, AppError> {
    state
        .host
        .user(user)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, "no such person"))
}

/// `user`'s profile as `viewer` may see it (contacts only for the signed
/// in; an expired status left out).
pub async fn view(
    state: &AppState,
    viewer: Option<&Caller>,
    user: &UserId,
) -> Result<UserProfile, AppError> {
    let host = existing(state, user).await?;
    let stored = record(state, user).await?;
    Ok(shown(
        user,
        &host.name,
        stored.as_ref(),
        viewer.is_some(),
        state.config.clock.now(),
    ))
}

/// The answer for a profile: what `record` holds, as a viewer sees it at `now`.
fn shown(
    user: &UserId,
    host_name: &str,
    record: Option<&ProfileRecord>,
    signed_in: bool,
    now: DateTime<Utc>,
) -> UserProfile {
    let name = record
        .and_then(|r| r.display_name.clone())
        .unwrap_or_else(|| host_name.to_owned());
    let face = face_of(user.clone(), name, record);
    let status = record.and_then(|r| {
        let text = r.status_text.clone()?;
        match r.status_until {
            Some(until) if until <= now => None,
            until => Some(Status { text, until }),
        }
    });
    let contacts = signed_in.then(|| Contacts {
        email: record.and_then(|r| r.email.clone()),
        phone: record.and_then(|r| r.phone.clone()),
        xmpp: record.and_then(|r| r.xmpp.clone()),
    });
    UserProfile {
        avatar: face.avatar_at(PAGE_SIZE),
        has_avatar: face.has_avatar,
        id: face.id,
        name: face.name,
        status,
        time_zone: record.and_then(|r| r.time_zone.clone()),
        contacts,
    }
}

/// The person `caller` may edit as `user` (`me` stands for themselves):
/// 401 when not signed in, 404 for nobody, 403 for someone else.
pub async fn owner<'a>(
    state: &AppState,
    caller: Option<&'a Caller>,
    user: &UserId,
) -> Result<&'a Caller, AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    if user.as_str() == "me" || *user == caller.id {
        return Ok(caller);
    }
    existing(state, user).await?;
    Err(AppError::forbidden("only they may change their profile"))
}

/// Checks an edit against the limits (see the module doc) and turns it
/// into the row to store.
pub fn validate(
    user: &UserId,
    edit: ProfileEdit,
    now: DateTime<Utc>,
) -> Result<ProfileRecord, AppError> {
    let display_name = edit.name.map(|name| checked_name(&name)).transpose()?;
    let status_text = match edit.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(checked_status(text)?),
    };
    let status_until = match (edit.status_until, &status_text) {
        (None, _) => None,
        (Some(_), None) => return Err(invalid("status_until", "set a status to give it an end")),
        (Some(until), Some(_)) if until <= now => {
            return Err(invalid("status_until", "the status must end in the future"))
        }
        (Some(until), Some(_)) if until > now + Duration::days(MAX_STATUS_AHEAD_DAYS) => {
            return Err(invalid(
                "status_until",
                "the status may last at most a year",
            ))
        }
        (Some(until), Some(_)) => Some(until),
    };
    let time_zone = blank_to_none(edit.time_zone)
        .map(|zone| checked_zone(&zone).map(|tz| tz.name().to_owned()))
        .transpose()?;
    let email = blank_to_none(edit.email)
        .map(|email| checked_address("email", &email))
        .transpose()?;
    let phone = blank_to_none(edit.phone)
        .map(|phone| checked_phone(&phone))
        .transpose()?;
    let xmpp = blank_to_none(edit.xmpp)
        .map(|xmpp| checked_address("xmpp", &xmpp))
        .transpose()?;
    Ok(ProfileRecord {
        display_name,
        status_text,
        status_until,
        time_zone,
        email,
        phone,
        xmpp,
        ..ProfileRecord::empty(user.clone(), now)
    })
}

fn invalid(field: &str, message: &str) -> AppError {
    AppError::new(ErrorCode::InvalidInput, format!("{field}: {message}"))
}

fn blank_to_none(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn checked_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    let length = name.chars().count();
    if !(1..=MAX_NAME_CHARS).contains(&length) {
        return Err(invalid(
            "name",
            &format!("a display name has 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            "a display name cannot hold control characters",
        ));
    }
    Ok(name.to_owned())
}

fn checked_status(text: &str) -> Result<String, AppError> {
    if text.chars().count() > MAX_STATUS_CHARS {
        return Err(invalid(
            "status",
            &format!("a status has at most {MAX_STATUS_CHARS} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid("status", "a status cannot hold control characters"));
    }
    Ok(text.to_owned())
}

/// The zone called `name` (an IANA name such as `Europe/Berlin`).
pub fn checked_zone(name: &str) -> Result<Tz, AppError> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| invalid("time_zone", "not a time zone name such as Europe/Berlin"))
}

/// `local@domain`: one `@`, something on each side, no blanks or control
/// characters, a dot-free or dotted domain without empty labels.
fn checked_address(field: &str, address: &str) -> Result<String, AppError> {
    let well_formed = address.len() <= MAX_EMAIL_BYTES
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>\"'".contains(c))
        && address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && domain.split('.').all(|label| !label.is_empty())
        });
    if !well_formed {
        return Err(invalid(
            field,
            &format!("an address looks like name@example.org, at most {MAX_EMAIL_BYTES} bytes"),
        ));
    }
    Ok(address.to_owned())
}

/// `+` then 7–15 digits; spaces and dashes are removed.
fn checked_phone(phone: &str) -> Result<String, AppError> {
    let compact: String = phone.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = compact.strip_prefix('+').unwrap_or("");
    if compact.starts_with('+')
        && PHONE_DIGITS.contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
    {
        return Ok(compact);
    }
    Err(invalid(
        "phone",
        "a phone number is + and 7 to 15 digits, such as +49 30 1234567",
    ))
}

/// A `datetime-local` value (`2026-12-03T15:00`) read in `zone`.
pub fn local_time(value: &str, zone: Tz) -> Result<DateTime<Utc>, AppError> {
    let naive = NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| {
            invalid(
                "status_until",
                "give a date and time such as 2026-12-03T15:00",
            )
        })?;
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| invalid("status_until", "that time does not exist in your time zone"))
}

/// Saves `caller`'s profile (the `user` they named must be themselves)
/// and answers it as they now see it.
pub async fn save(
    state: &AppState,
    caller: Option<&Caller>,
    user: &UserId,
    edit: ProfileEdit,
) -> Result<UserProfile, AppError> {
    let me = owner(state, caller, user).await?;
    let record = validate(&me.id, edit, state.config.clock.now())?;
    state.profile_limiter.admit(&me.id, "profile changes")?;
    state.store.put_profile(record).await?;
    state.profile_cache.forget(&me.id);
    announce(state, &me.id).await;
    view(state, Some(me), &me.id).await
}

/// Checks an upload's declared or counted size against the limit.
pub fn check_avatar_size(state: &AppState, size: u64) -> Result<(), AppError> {
    let max = state.config.avatar_max_bytes;
    if size > max {
        return Err(AppError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "a profile picture may be at most {}",
                protocol::size::human_size(max)
            ),
        ));
    }
    Ok(())
}

/// Stores `bytes` as `caller`'s picture (every size), or says why not.
/// Nothing is stored unless every size was made.
pub async fn set_avatar(
    state: &AppState,
    caller: Option<&Caller>,
    user: &UserId,
    bytes: Vec<u8>,
) -> Result<UserProfile, AppError> {
    let me = owner(state, caller, user).await?;
    check_avatar_size(state, bytes.len() as u64)?;
    if bytes.is_empty() {
        return Err(invalid("avatar", "choose a picture to upload"));
    }
    state.profile_limiter.admit(&me.id, "profile changes")?;
    let sizes = avatars::process_blocking(bytes).await?;
    let now = state.config.clock.now();
    state.store.set_avatar(&me.id, sizes, now).await?;
    state.profile_cache.forget(&me.id);
    announce(state, &me.id).await;
    view(state, Some(me), &me.id).await
}

/// Removes `caller`'s picture; the letter image shows again.
pub async fn clear_avatar(
    state: &AppState,
    caller: Option<&Caller>,
    user: &UserId,
) -> Result<UserProfile, AppError> {
    let me = owner(state, caller, user).await?;
    state.profile_limiter.admit(&me.id, "profile changes")?;
    state
        .store
        .clear_avatar(&me.id, state.config.clock.now())
        .await?;
    state.profile_cache.forget(&me.id);
    announce(state, &me.id).await;
    view(state, Some(me), &me.id).await
}

/// Most rooms one profile change is announced to.
const ANNOUNCE_ROOMS: usize = 500;

/// Tells the rooms `user` is a member of or present in how they look now
/// ([`Event::Profile`]), so open popups change their picture at once. A
/// failure is logged: the change is stored, and pages show it on reload.
async fn announce(state: &AppState, user: &UserId) {
    let face = match face(state, user).await {
        Ok(face) => face,
        Err(error) => {
            tracing::warn!(%user, %error, "profile change not announced");
            return;
        }
    };
    let mut rooms = state.presence.rooms_of(user);
    match state.store.rooms_of(user).await {
        Ok(member_of) => rooms.extend(member_of.into_iter().map(|m| m.room.id)),
        Err(error) => tracing::warn!(%user, %error, "profile change announced only where present"),
    }
    rooms.sort();
    rooms.dedup();
    rooms.truncate(ANNOUNCE_ROOMS);
    let event = Event::Profile {
        user: user.clone(),
        name: face.name.clone(),
        avatar: face.has_avatar.then(|| face.avatar_url.clone()),
    };
    for room in rooms {
        state
            .bus
            .publish(&room, RoomEvent::new(room.clone(), event.clone()))
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(now: DateTime<Utc>, edit: ProfileEdit) -> Result<ProfileRecord, String> {
        validate(&UserId::new("alice"), edit, now).map_err(|e| e.message)
    }

    #[test]
    fn each_limit_names_its_field() {
        let now = Utc::now();
        let cases = [
            (
                "name",
                ProfileEdit {
                    name: Some("  ".into()),
                    ..Default::default()
                },
            ),
            (
                "name",
                ProfileEdit {
                    name: Some("x".repeat(65)),
                    ..Default::default()
                },
            ),
            (
                "name",
                ProfileEdit {
                    name: Some("a\u{7}b".into()),
                    ..Default::default()
                },
            ),
            (
                "status",
                ProfileEdit {
                    status: Some("s".repeat(141)),
                    ..Default::default()
                },
            ),
            (
                "status_until",
                ProfileEdit {
                    status: Some("out".into()),
                    status_until: Some(now - Duration::minutes(1)),
                    ..Default::default()
                },
            ),
            (
                "status_until",
                ProfileEdit {
                    status: Some("out".into()),
                    status_until: Some(now + Duration::days(400)),
                    ..Default::default()
                },
            ),
            (
                "status_until",
                ProfileEdit {
                    status_until: Some(now + Duration::hours(1)),
                    ..Default::default()
                },
            ),
            (
                "time_zone",
                ProfileEdit {
                    time_zone: Some("Mars/Olympus".into()),
                    ..Default::default()
                },
            ),
            (
                "email",
                ProfileEdit {
                    email: Some("no-at-sign".into()),
                    ..Default::default()
                },
            ),
            (
                "email",
                ProfileEdit {
                    email: Some(format!("{}@x.org", "a".repeat(260))),
                    ..Default::default()
                },
            ),
            (
                "phone",
                ProfileEdit {
                    phone: Some("+12 34".into()),
                    ..Default::default()
                },
            ),
            (
                "phone",
                ProfileEdit {
                    phone: Some("0301234567".into()),
                    ..Default::default()
                },
            ),
            (
                "xmpp",
                ProfileEdit {
                    xmpp: Some("@chat.example.org".into()),
                    ..Default::default()
                },
            ),
        ];
        for (field, edit) in cases {
            let refused = at(now, edit.clone()).unwrap_err();
            assert!(
                refused.starts_with(&format!("{field}:")),
                "{edit:?}: {refused}"
            );
        }
    }

    #[test]
    fn good_values_are_trimmed_and_compacted() {
        let now = Utc::now();
        let record = at(
            now,
            ProfileEdit {
                name: Some("  Alice Liddell ".into()),
                status: Some(" in a workshop ".into()),
                status_until: Some(now + Duration::hours(2)),
                time_zone: Some("Europe/Berlin".into()),
                email: Some("alice@example.org".into()),
                phone: Some("+49 30-123 4567".into()),
                xmpp: Some("alice@chat.example.org".into()),
            },
        )
        .unwrap();
        assert_eq!(record.display_name.as_deref(), Some("Alice Liddell"));
        assert_eq!(record.status_text.as_deref(), Some("in a workshop"));
        assert_eq!(record.phone.as_deref(), Some("+49301234567"));
        assert_eq!(record.time_zone.as_deref(), Some("Europe/Berlin"));
        let empty = at(
            now,
            ProfileEdit {
                email: Some(" ".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((empty.display_name, empty.email), (None, None));
    }

    #[test]
    fn an_expired_status_and_contacts_for_anonymous_viewers_are_not_shown() {
        let now = Utc::now();
        let alice = UserId::new("alice");
        let record = ProfileRecord {
            status_text: Some("away".into()),
            status_until: Some(now - Duration::seconds(1)),
            email: Some("a@b.c".into()),
            ..ProfileRecord::empty(alice.clone(), now)
        };
        let anonymous = shown(&alice, "alice", Some(&record), false, now);
        assert_eq!((anonymous.status, anonymous.contacts), (None, None));
        assert_eq!(anonymous.avatar, "/users/alice/avatar/128");
        let signed_in = shown(&alice, "alice", Some(&record), true, now);
        assert_eq!(signed_in.contacts.unwrap().email.as_deref(), Some("a@b.c"));
    }

    #[test]
    fn local_times_are_read_in_the_zone() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let at = local_time("2026-07-01T15:00", berlin).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-07-01T13:00:00+00:00");
        assert!(local_time("tomorrow", berlin).is_err());
    }

    #[test]
    fn odd_ids_are_escaped_in_urls() {
        let odd = UserId::new("a b/../c?");
        assert_eq!(page_url(&odd), "/users/a%20b%2F..%2Fc%3F");
        assert_eq!(
            avatar_url(&odd, Some(3), 64),
            "/users/a%20b%2F..%2Fc%3F/avatar/64?v=3"
        );
    }
}

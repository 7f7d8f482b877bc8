//! [`Profiles`] on SQLite: profile rows and pictures, each write one job
//! for the writer thread (so replacing every size of a picture and bumping
//! its version is one savepoint).

use super::rows::{from_millis, millis};
use super::SqliteStore;
use crate::store::profiles::{AvatarImage, ProfileRecord, Profiles};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use protocol::UserId;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

/// The columns [`profile_from_row`] reads, `has_avatar` computed.
const PROFILE_COLUMNS: &str = "user_id, display_name, status_text, status_until, time_zone, \
     email, phone, xmpp, avatar_version, updated_at, \
     EXISTS (SELECT 1 FROM avatars WHERE avatars.user_id = profiles.user_id)";

fn profile_from_row(row: &Row<'_>) -> rusqlite::Result<ProfileRecord> {
    Ok(ProfileRecord {
        user: UserId(row.get(0)?),
        display_name: row.get(1)?,
        status_text: row.get(2)?,
        status_until: row.get::<_, Option<i64>>(3)?.map(from_millis),
        time_zone: row.get(4)?,
        email: row.get(5)?,
        phone: row.get(6)?,
        xmpp: row.get(7)?,
        avatar_version: row.get::<_, i64>(8)?.max(0) as u64,
        updated_at: from_millis(row.get(9)?),
        has_avatar: row.get(10)?,
    })
}

fn find_profile(conn: &Connection, user: &str) -> rusqlite::Result<Option<ProfileRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {PROFILE_COLUMNS} FROM profiles WHERE user_id = ?1"
    ))?
    .query_row([user], profile_from_row)
    .optional()
}

/// Makes sure `user` has a profile row (pictures hang off it).
fn ensure_profile(conn: &Connection, user: &str, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO profiles (user_id, updated_at) VALUES (?1, ?2)
         ON CONFLICT (user_id) DO NOTHING",
        params![user, millis(now)],
    )?;
    Ok(())
}

#[async_trait]
impl Profiles for SqliteStore {
    async fn profile(&self, user: &UserId) -> anyhow::Result<Option<ProfileRecord>> {
        let user = user.0.clone();
        self.read(move |conn| Ok(find_profile(conn, &user)?)).await
    }

    async fn profiles(&self, users: &[UserId]) -> anyhow::Result<Vec<ProfileRecord>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = users.iter().map(|u| u.0.clone()).collect();
        self.read(move |conn| {
            // One statement per call; SQLite allows 32,766 parameters, and
            // callers ask for a page's worth of people at most.
            let mut found = Vec::new();
            for chunk in ids.chunks(500) {
                let marks = vec!["?"; chunk.len()].join(", ");
                let mut statement = conn.prepare(&format!(
                    "SELECT {PROFILE_COLUMNS} FROM profiles WHERE user_id IN ({marks})"
                ))?;
                let rows = statement.query_map(params_from_iter(chunk), profile_from_row)?;
                for row in rows {
                    found.push(row?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn put_profile(&self, record: ProfileRecord) -> anyhow::Result<ProfileRecord> {
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO profiles (user_id, display_name, status_text, status_until,
                                       time_zone, email, phone, xmpp, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (user_id) DO UPDATE SET
                     display_name = excluded.display_name,
                     status_text = excluded.status_text,
                     status_until = excluded.status_until,
                     time_zone = excluded.time_zone,
                     email = excluded.email,
                     phone = excluded.phone,
                     xmpp = excluded.xmpp,
                     updated_at = excluded.updated_at",
                params![
                    record.user.0,
                    record.display_name,
                    record.status_text,
                    record.status_until.map(millis),
                    record.time_zone,
                    record.email,
                    record.phone,
                    record.xmpp,
                    millis(record.updated_at),
                ],
            )?;
            find_profile(conn, &record.user.0)?
                .ok_or_else(|| anyhow::anyhow!("the profile just written is missing"))
        })
        .await
    }

    async fn set_avatar(
        &self,
        user: &UserId,
        sizes: Vec<(u32, String, Vec<u8>)>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        let user = user.0.clone();
        self.write(move |conn| {
            ensure_profile(conn, &user, now)?;
            conn.execute("DELETE FROM avatars WHERE user_id = ?1", [&user])?;
            for (size, content_type, bytes) in &sizes {
                conn.execute(
                    "INSERT INTO avatars (user_id, size, content_type, bytes)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![user, size, content_type, bytes],
                )?;
            }
            let version: i64 = conn.query_row(
                "UPDATE profiles SET avatar_version = avatar_version + 1, updated_at = ?2
                 WHERE user_id = ?1 RETURNING avatar_version",
                params![user, millis(now)],
                |row| row.get(0),
            )?;
            Ok(version.max(0) as u64)
        })
        .await
    }

    async fn clear_avatar(&self, user: &UserId, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let user = user.0.clone();
        self.write(move |conn| {
            let removed = conn.execute("DELETE FROM avatars WHERE user_id = ?1", [&user])?;
            if removed > 0 {
                conn.execute(
                    "UPDATE profiles SET updated_at = ?2 WHERE user_id = ?1",
                    params![user, millis(now)],
                )?;
            }
            Ok(removed > 0)
        })
        .await
    }

    async fn avatar(&self, user: &UserId, size: u32) -> anyhow::Result<Option<AvatarImage>> {
        let user = user.0.clone();
        self.read(move |conn| {
            let image = conn
                .prepare_cached(
                    "SELECT avatars.content_type, avatars.bytes, profiles.avatar_version
                     FROM avatars JOIN profiles ON profiles.user_id = avatars.user_id
                     WHERE avatars.user_id = ?1 AND avatars.size = ?2",
                )?
                .query_row(params![user, size], |row| {
                    Ok(AvatarImage {
                        size,
                        content_type: row.get(0)?,
                        bytes: row.get(1)?,
                        version: row.get::<_, i64>(2)?.max(0) as u64,
                    })
                })
                .optional()?;
            Ok(image)
        })
        .await
    }
}

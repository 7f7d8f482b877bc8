//! [`Profiles`] on PostgreSQL: profile rows and pictures. Replacing a
//! picture is one transaction that first locks the profile row, so two
//! nodes storing pictures for one person at once leave one whole set of
//! sizes and two distinct versions. Times are kept to the millisecond,
//! like SQLite's.

use super::rows::{to_i64, to_u64};
use super::PostgresStore;
use crate::store::profiles::{AvatarImage, ProfileRecord, Profiles};
use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use protocol::UserId;
use sqlx::postgres::PgRow;
use sqlx::Row;

macro_rules! profile_columns {
    () => {
        "user_id, display_name, status_text, status_until, time_zone, email, phone, xmpp, \
         avatar_version, updated_at, \
         EXISTS (SELECT 1 FROM avatars WHERE avatars.user_id = profiles.user_id) AS has_avatar"
    };
}

fn profile_from_row(row: &PgRow) -> Result<ProfileRecord, sqlx::Error> {
    Ok(ProfileRecord {
        user: UserId(row.try_get("user_id")?),
        display_name: row.try_get("display_name")?,
        status_text: row.try_get("status_text")?,
        status_until: row.try_get("status_until")?,
        time_zone: row.try_get("time_zone")?,
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
        xmpp: row.try_get("xmpp")?,
        avatar_version: to_u64(row.try_get("avatar_version")?),
        has_avatar: row.try_get("has_avatar")?,
        updated_at: row.try_get("updated_at")?,
    })
}

#[async_trait]
impl Profiles for PostgresStore {
    async fn profile(&self, user: &UserId) -> anyhow::Result<Option<ProfileRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            profile_columns!(),
            " FROM profiles WHERE user_id = $1"
        ))
        .bind(&user.0)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(profile_from_row).transpose()?)
    }

    async fn profiles(&self, users: &[UserId]) -> anyhow::Result<Vec<ProfileRecord>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = users.iter().map(|u| u.0.as_str()).collect();
        let rows = sqlx::query(concat!(
            "SELECT ",
            profile_columns!(),
            " FROM profiles WHERE user_id = ANY($1::text[])"
        ))
        .bind(&ids)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(profile_from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn put_profile(&self, record: ProfileRecord) -> anyhow::Result<ProfileRecord> {
        let row = sqlx::query(concat!(
            "INSERT INTO profiles (user_id, display_name, status_text, status_until,
                                   time_zone, email, phone, xmpp, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (user_id) DO UPDATE SET
                 display_name = excluded.display_name,
                 status_text = excluded.status_text,
                 status_until = excluded.status_until,
                 time_zone = excluded.time_zone,
                 email = excluded.email,
                 phone = excluded.phone,
                 xmpp = excluded.xmpp,
                 updated_at = excluded.updated_at
             RETURNING ",
            profile_columns!()
        ))
        .bind(&record.user.0)
        .bind(&record.display_name)
        .bind(&record.status_text)
        .bind(record.status_until.map(|t| t.trunc_subsecs(3)))
        .bind(&record.time_zone)
        .bind(&record.email)
        .bind(&record.phone)
        .bind(&record.xmpp)
        .bind(record.updated_at.trunc_subsecs(3))
        .fetch_one(self.pool())
        .await
        .with_context(|| format!("saving the profile of {}", record.user))?;
        Ok(profile_from_row(&row)?)
    }

    async fn set_avatar(
        &self,
        user: &UserId,
        sizes: Vec<(u32, String, Vec<u8>)>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        let now = now.trunc_subsecs(3);
        let mut tx = self.pool().begin().await?;
        // The upsert locks the row: a second node replacing the picture
        // waits here until this one commits.
        let version: i64 = sqlx::query_scalar(
            "INSERT INTO profiles (user_id, updated_at, avatar_version) VALUES ($1, $2, 1)
             ON CONFLICT (user_id) DO UPDATE
                 SET avatar_version = profiles.avatar_version + 1, updated_at = $2
             RETURNING avatar_version",
        )
        .bind(&user.0)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM avatars WHERE user_id = $1")
            .bind(&user.0)
            .execute(&mut *tx)
            .await?;
        for (size, content_type, bytes) in &sizes {
            sqlx::query(
                "INSERT INTO avatars (user_id, size, content_type, bytes) VALUES ($1, $2, $3, $4)",
            )
            .bind(&user.0)
            .bind(i32::try_from(*size).context("an avatar size past i32")?)
            .bind(content_type)
            .bind(bytes)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await.context("committing a new picture")?;
        Ok(to_u64(version))
    }

    async fn clear_avatar(&self, user: &UserId, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let mut tx = self.pool().begin().await?;
        let removed = sqlx::query("DELETE FROM avatars WHERE user_id = $1")
            .bind(&user.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed > 0 {
            sqlx::query("UPDATE profiles SET updated_at = $2 WHERE user_id = $1")
                .bind(&user.0)
                .bind(now.trunc_subsecs(3))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(removed > 0)
    }

    async fn avatar(&self, user: &UserId, size: u32) -> anyhow::Result<Option<AvatarImage>> {
        let row = sqlx::query(
            "SELECT avatars.content_type, avatars.bytes, profiles.avatar_version
             FROM avatars JOIN profiles ON profiles.user_id = avatars.user_id
             WHERE avatars.user_id = $1 AND avatars.size = $2",
        )
        .bind(&user.0)
        .bind(to_i64(u64::from(size)))
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(AvatarImage {
            size,
            content_type: row.try_get("content_type")?,
            bytes: row.try_get("bytes")?,
            version: to_u64(row.try_get("avatar_version")?),
        }))
    }
}

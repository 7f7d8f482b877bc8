//! The chat's half of `backchannel migrate`: its tables described for the
//! copy engine in [`infra::copy`], and [`sqlite_to_postgres`] for `chat.db`.
//! The wiki describes its own tables the same way.
//!
//! The copy is row for row, not through the [`Store`] trait: ids, seqs,
//! timestamps, revisions, tombstones and read marks must arrive exactly as
//! they were, which appending would not preserve. It runs in one PostgreSQL
//! transaction, so an interrupted copy leaves the target as it was, and the
//! target must hold no chat data yet: a merge of two histories is not a
//! migration.
//!
//! [`Store`]: super::Store

use super::PostgresStore;
use anyhow::{bail, Context as _};
use infra::copy::{continue_ids, copy_tables, open_source, Column, Copied, Progress, Table};
use std::path::Path;

use infra::copy::Kind::{
    Bool, Bytes, Date, Int, JsonTextList, Millis, OptInt, OptMillis, OptText, Text,
};

/// The chat's tables in copy order (parents before children).
pub static TABLES: [Table; 10] = [
    Table {
        name: "rooms",
        columns: &[
            Column::new("id", Text),
            Column::new("kind", Text),
            Column::new("page_id", OptText),
            Column::new("alias", OptText),
            Column::new("name", Text),
            Column::new("topic", Text),
            Column::new("avatar", OptText),
            Column::new("is_public", Bool),
            Column::new("created_by", Text),
            Column::new("created_at", Millis),
            Column::new("last_seq", Int),
            Column::new("last_activity", OptMillis),
        ],
        order: "id",
    },
    Table {
        name: "messages",
        columns: &[
            Column::new("room_id", Text),
            Column::new("seq", Int),
            Column::new("id", Text),
            Column::new("author", Text),
            Column::new("author_name", Text),
            Column::new("body", Text),
            Column::new("created_at", Millis),
            Column::new("edited_at", OptMillis),
            Column::new("deleted_at", OptMillis),
            Column::new("reply_to", OptInt),
            Column::new("client_msg_id", OptText),
            Column::new("mentions", JsonTextList),
            Column::new("attachments", Text),
        ],
        order: "room_id, seq",
    },
    Table {
        name: "message_revisions",
        columns: &[
            // SQLite's implicit rowid is PostgreSQL's serial id.
            Column::renamed("rowid", "id", Int),
            Column::new("room_id", Text),
            Column::new("seq", Int),
            Column::new("body", Text),
            Column::new("replaced_at", Millis),
        ],
        order: "rowid",
    },
    Table {
        name: "members",
        columns: &[
            Column::new("room_id", Text),
            Column::new("user_id", Text),
            Column::new("last_read_seq", Int),
            // NULL: only a read mark, not a member.
            Column::new("role", OptText),
            Column::new("user_name", Text),
            Column::new("joined_at", OptMillis),
            Column::new("muted", Bool),
        ],
        order: "room_id, user_id",
    },
    Table {
        name: "files",
        columns: &[
            Column::new("id", Text),
            Column::new("room_id", Text),
            Column::new("seq", Int),
            Column::new("sha256", Text),
            Column::new("name", Text),
            Column::new("size", Int),
            Column::new("content_type", OptText),
        ],
        order: "id",
    },
    Table {
        name: "transcripts",
        columns: &[
            Column::new("room_id", Text),
            Column::new("day", Date),
            Column::new("path", Text),
            Column::new("url", Text),
            Column::new("parts", Int),
            // `part_starts` is not copied: a day without them is rendered
            // whole at its next publish, which records them again.
        ],
        order: "room_id, day",
    },
    Table {
        name: "invitations",
        columns: &[
            Column::new("id", Int),
            Column::new("room_id", Text),
            Column::new("invitee", Text),
            Column::new("invitee_name", Text),
            Column::new("inviter", Text),
            Column::new("inviter_name", Text),
            Column::new("comment", Text),
            Column::new("status", Text),
            Column::new("response", OptText),
            Column::new("created_at", Millis),
            Column::new("updated_at", Millis),
            Column::new("expires_at", OptMillis),
            Column::new("starts_at", OptMillis),
        ],
        order: "id",
    },
    Table {
        name: "notifications",
        columns: &[
            Column::new("id", Int),
            Column::new("user_id", Text),
            Column::new("kind", Text),
            Column::new("room_id", OptText),
            Column::new("invitation_id", OptInt),
            Column::new("payload", Text),
            Column::new("created_at", Millis),
            Column::new("visible_at", Millis),
            Column::new("read", Bool),
        ],
        order: "id",
    },
    Table {
        name: "profiles",
        columns: &[
            Column::new("user_id", Text),
            Column::new("display_name", OptText),
            Column::new("status_text", OptText),
            Column::new("status_until", OptMillis),
            Column::new("time_zone", OptText),
            Column::new("email", OptText),
            Column::new("phone", OptText),
            Column::new("xmpp", OptText),
            Column::new("avatar_version", Int),
            Column::new("updated_at", Millis),
        ],
        order: "user_id",
    },
    Table {
        name: "avatars",
        columns: &[
            Column::new("user_id", Text),
            Column::new("size", Int),
            Column::new("content_type", Text),
            Column::new("bytes", Bytes),
        ],
        order: "user_id, size",
    },
];

/// Copies the chat database at `sqlite` into `target` (migrated, empty),
/// then checks that every table holds as many rows as the source.
pub async fn sqlite_to_postgres(
    sqlite: &Path,
    target: &PostgresStore,
    progress: Progress<'_>,
) -> anyhow::Result<Copied> {
    let source = open_source(sqlite)?;
    let mut tx = target.pool().begin().await?;
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM rooms")
        .fetch_one(&mut *tx)
        .await?;
    if existing > 0 {
        bail!("the PostgreSQL database already holds {existing} chat rooms; migrate into an empty database");
    }
    let copied = copy_tables(source, &mut tx, &TABLES, progress).await?;
    // The serials continue after the copied rows.
    for table in ["message_revisions", "invitations", "notifications"] {
        continue_ids(&mut tx, table).await?;
    }
    tx.commit().await.context("committing the copy")?;
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{
        Claimed, Membership, MessageQuery, NewInvitation, NewMessage, NewNotification, NewRoom,
        ProfileRecord, Profiles, SqliteStore, Store, StoreMaintenance, StoredFile,
    };
    use chrono::Utc;
    use infra::suite::on_fresh_schema;
    use protocol::{PageId, RoomKind, TranscriptRef, UserId};

    fn said(room: &protocol::RoomId, i: usize, files: Vec<StoredFile>) -> NewMessage {
        NewMessage {
            room: room.clone(),
            created_at: Utc::now(),
            author: UserId::new(if i % 2 == 0 { "alice" } else { "bob" }),
            author_name: "Someone".into(),
            body: format!("message {i} with **markdown**"),
            client_msg_id: format!("k{i}"),
            reply_to: (i > 3).then_some(1),
            mentions: vec![UserId::new("carol")],
            files,
        }
    }

    /// Rooms, messages with replies, mentions and files, an edit with its
    /// revision, a tombstone, read marks and transcripts, a group room with
    /// members, an invitation and a notification: all copied, equal through
    /// the `Store` and `Membership` traits, and the copy refuses to run twice.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_populated_sqlite_database_arrives_whole() {
        on_fresh_schema(
            "sqlite-to-postgres copy",
            "backchannel_copy",
            |url, schema| async move {
                arrives_whole(&url, &schema).await;
            },
        )
        .await;
    }

    async fn arrives_whole(url: &str, schema: &str) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat.db");
        let sqlite = SqliteStore::open(&path).unwrap();
        let mut rooms = Vec::new();
        for name in ["Lobby", "Planning"] {
            let room = sqlite
                .ensure_room(&PageId::new("7"), name, &UserId::new("alice"))
                .await
                .unwrap();
            for i in 0..25 {
                let files = if i == 2 {
                    vec![StoredFile {
                        id: format!("f-{name}"),
                        name: "notes.txt".into(),
                        size: 12,
                        content_type: Some("text/plain".into()),
                        sha256: "ab".repeat(32),
                    }]
                } else {
                    Vec::new()
                };
                sqlite.append(said(&room.id, i, files)).await.unwrap();
            }
            sqlite
                .edit(&room.id, 3, "edited".into(), Vec::new())
                .await
                .unwrap();
            sqlite.delete(&room.id, 5).await.unwrap();
            sqlite
                .mark_read(&room.id, &UserId::new("bob"), 20)
                .await
                .unwrap();
            let transcript = TranscriptRef {
                date: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
                path: format!("Welcome/Chat/{name}/2026-11-30"),
                url: format!("/pages/Welcome/Chat/{name}/2026-11-30"),
            };
            sqlite.set_transcript(&room.id, &transcript).await.unwrap();
            rooms.push(room.id);
        }
        let (alice, bob, carol) = (
            UserId::new("alice"),
            UserId::new("bob"),
            UserId::new("carol"),
        );
        let Claimed::Done(group) = sqlite
            .create_room(
                NewRoom {
                    kind: RoomKind::Group,
                    alias: "team".into(),
                    name: "Team".into(),
                    topic: "all of us".into(),
                    is_public: true,
                    created_by: alice.clone(),
                    created_at: Utc::now(),
                },
                &[(alice.clone(), "Alice".into())],
                &[(bob.clone(), "Bob".into())],
            )
            .await
            .unwrap()
        else {
            panic!("the alias is free");
        };
        sqlite.set_muted(&group.id, &bob, true).await.unwrap();
        let invite = |who: &str| NewInvitation {
            room: group.id.clone(),
            invitee: UserId::new(who),
            invitee_name: who.to_uppercase(),
            inviter: alice.clone(),
            inviter_name: "Alice".into(),
            comment: "join us".into(),
            created_at: Utc::now(),
            expires_at: Some(Utc::now() + chrono::Duration::days(7)),
            starts_at: None,
        };
        let invitation = sqlite.invite(invite("carol")).await.unwrap();
        let notice = |at| NewNotification {
            user: carol.clone(),
            kind: "invitation".into(),
            room: Some(group.id.clone()),
            invitation: Some(invitation.id),
            payload: "{}".into(),
            created_at: at,
            visible_at: at,
        };
        let notified = sqlite.notify(notice(Utc::now()), 100).await.unwrap();
        let mut profile = ProfileRecord::empty(alice.clone(), Utc::now());
        profile.display_name = Some("Alice A.".into());
        profile.status_text = Some("in a workshop".into());
        profile.status_until = Some(Utc::now() + chrono::Duration::hours(2));
        sqlite.put_profile(profile).await.unwrap();
        let picture = vec![
            (32, "image/png".to_owned(), vec![1u8, 2, 3]),
            (64, "image/png".to_owned(), vec![0u8; 5000]),
        ];
        sqlite
            .set_avatar(&alice, picture, Utc::now())
            .await
            .unwrap();

        let pg = PostgresStore::connect_with_schema(url, schema)
            .await
            .unwrap();
        let seen = std::sync::Mutex::new(Vec::new());
        let copied = sqlite_to_postgres(&path, &pg, &|table, done, total| {
            seen.lock().unwrap().push((table, done, total));
        })
        .await;
        let second = sqlite_to_postgres(&path, &pg, &|_, _, _| {}).await;

        let copied = copied.unwrap();
        assert_eq!(
            copied.0,
            vec![
                ("rooms", 3),
                ("messages", 50),
                ("message_revisions", 2),
                ("members", 4),
                ("files", 2),
                ("transcripts", 2),
                ("invitations", 1),
                ("notifications", 1),
                ("profiles", 1),
                ("avatars", 2),
            ]
        );
        assert!(
            seen.lock().unwrap().contains(&("messages", 50, 50)),
            "progress reaches the end"
        );
        let mut before = sqlite.rooms().await.unwrap();
        let mut after = pg.rooms().await.unwrap();
        before.sort_by(|a, b| a.id.0.cmp(&b.id.0));
        after.sort_by(|a, b| a.id.0.cmp(&b.id.0));
        assert_eq!(before, after);
        for room in &rooms {
            assert_eq!(
                sqlite
                    .messages(room, MessageQuery::After(0), 100)
                    .await
                    .unwrap(),
                pg.messages(room, MessageQuery::After(0), 100)
                    .await
                    .unwrap()
            );
            assert_eq!(
                sqlite.revisions(room, 3).await.unwrap(),
                pg.revisions(room, 3).await.unwrap()
            );
            let bob = UserId::new("bob");
            assert_eq!(pg.last_read(room, &bob).await.unwrap(), 20);
            assert_eq!(
                sqlite.transcripts(room).await.unwrap(),
                pg.transcripts(room).await.unwrap()
            );
            assert_eq!(
                sqlite.files(room, 10).await.unwrap(),
                pg.files(room, 10).await.unwrap()
            );
        }
        assert_eq!(
            pg.room_by_alias("team").await.unwrap(),
            Some(*group.clone())
        );
        assert_eq!(
            pg.members(&group.id).await.unwrap(),
            sqlite.members(&group.id).await.unwrap()
        );
        assert!(pg.member(&group.id, &bob).await.unwrap().unwrap().muted);
        assert_eq!(
            pg.rooms_of(&bob).await.unwrap(),
            sqlite.rooms_of(&bob).await.unwrap()
        );
        assert_eq!(
            pg.invitations_for(&carol).await.unwrap(),
            vec![invitation.clone()]
        );
        let epoch = chrono::DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(
            pg.notifications(&carol, Utc::now(), epoch, None, 10)
                .await
                .unwrap(),
            vec![notified.clone()]
        );
        // The serials continue after the copied ids.
        let later = pg.notify(notice(Utc::now()), 100).await.unwrap();
        assert!(later.id > notified.id, "{} after {}", later.id, notified.id);
        let dave = pg.invite(invite("dave")).await.unwrap();
        assert!(
            dave.id > invitation.id,
            "{} after {}",
            dave.id,
            invitation.id
        );
        assert_eq!(
            pg.profile(&alice).await.unwrap(),
            sqlite.profile(&alice).await.unwrap()
        );
        assert_eq!(
            pg.avatar(&alice, 64).await.unwrap(),
            sqlite.avatar(&alice, 64).await.unwrap()
        );
        let refused = second.unwrap_err().to_string();
        assert!(refused.contains("empty database"), "{refused}");
        let next = pg.append(said(&rooms[0], 99, Vec::new())).await.unwrap();
        assert_eq!(next.0.seq, 26, "seqs continue after the copy");
    }
}

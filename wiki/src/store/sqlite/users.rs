//! The SQLite store's settings, accounts, groups and sessions.

use super::*;

fn read_setting(conn: &Connection, key: &str) -> anyhow::Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| {
            row.get(0)
        })
        .optional()?)
}

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        name: row.get(1)?,
        is_admin: row.get(2)?,
    })
}

fn find_user(conn: &Connection, name: &str) -> anyhow::Result<Option<User>> {
    Ok(conn
        .query_row(
            "SELECT id, name, is_admin FROM users WHERE name = ?1",
            [name],
            user_from_row,
        )
        .optional()?)
}

fn group_names(conn: &Connection, user_id: i64) -> anyhow::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT g.name FROM groups g JOIN group_members m ON m.group_id = g.id
         WHERE m.user_id = ?1 ORDER BY g.name",
    )?;
    let names = stmt
        .query_map([user_id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(names)
}

fn group_id(conn: &Connection, name: &str) -> anyhow::Result<Option<i64>> {
    Ok(conn
        .query_row("SELECT id FROM groups WHERE name = ?1", [name], |row| {
            row.get(0)
        })
        .optional()?)
}

fn insert_group(conn: &Connection, name: &str) -> anyhow::Result<i64> {
    if group_id(conn, name)?.is_some() {
        bail!("group {name:?} already exists");
    }
    conn.execute("INSERT INTO groups(name) VALUES (?1)", [name])?;
    bump_epoch(conn)?;
    Ok(conn.last_insert_rowid())
}

fn join_group(
    conn: &Connection,
    user: &str,
    group: &str,
    create_missing: bool,
) -> anyhow::Result<()> {
    let user = find_user(conn, user)?.with_context(|| format!("no user {user:?}"))?;
    let group_id = match group_id(conn, group)? {
        Some(id) => id,
        None if create_missing => insert_group(conn, group)?,
        None => bail!("no group {group:?}"),
    };
    conn.execute(
        "INSERT OR IGNORE INTO group_members(group_id, user_id) VALUES (?1, ?2)",
        [group_id, user.id],
    )?;
    bump_epoch(conn)?;
    Ok(())
}

pub(super) async fn setting(store: &SqliteStore, key: &str) -> anyhow::Result<Option<String>> {
    let key = key.to_owned();
    store.call(move |conn| read_setting(conn, &key)).await
}

pub(super) async fn set_setting(store: &SqliteStore, key: &str, value: &str) -> anyhow::Result<()> {
    let (key, value) = (key.to_owned(), value.to_owned());
    store
        .call(move |conn| {
            conn.execute(
                "INSERT INTO settings(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )?;
            Ok(())
        })
        .await
}

pub(super) async fn acl_epoch(store: &SqliteStore) -> anyhow::Result<u64> {
    store
        .call(|conn| {
            Ok(read_setting(conn, crate::store::EPOCH_KEY)?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0))
        })
        .await
}

pub(super) async fn create_user(store: &SqliteStore, user: NewUser) -> anyhow::Result<User> {
    store
        .call(move |conn| {
            let tx = conn.transaction()?;
            if find_user(&tx, &user.name)?.is_some() {
                bail!("user {:?} already exists", user.name);
            }
            bump_epoch(&tx)?;
            tx.execute(
                "INSERT INTO users(name, password_hash, is_admin, created_at)
             VALUES (?1, ?2, ?3, ?4)",
                params![
                    user.name,
                    user.password_hash,
                    user.is_admin,
                    crate::store::now()
                ],
            )?;
            let created = User {
                id: tx.last_insert_rowid(),
                name: user.name.clone(),
                is_admin: user.is_admin,
            };
            for group in &user.groups {
                join_group(&tx, &user.name, group, true)?;
            }
            tx.commit()?;
            Ok(created)
        })
        .await
}

pub(super) async fn set_password_hash(
    store: &SqliteStore,
    name: &str,
    hash: &str,
) -> anyhow::Result<()> {
    let (name, hash) = (name.to_owned(), hash.to_owned());
    store
        .call(move |conn| {
            let tx = conn.transaction()?;
            let user = find_user(&tx, &name)?.with_context(|| format!("no user {name:?}"))?;
            tx.execute(
                "UPDATE users SET password_hash = ?1 WHERE id = ?2",
                params![hash, user.id],
            )?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user.id])?;
            bump_epoch(&tx)?;
            tx.commit()?;
            Ok(())
        })
        .await
}

pub(super) async fn user(store: &SqliteStore, name: &str) -> anyhow::Result<Option<User>> {
    let name = name.to_owned();
    store.call(move |conn| find_user(conn, &name)).await
}

pub(super) async fn user_with_hash(
    store: &SqliteStore,
    name: &str,
) -> anyhow::Result<Option<(User, String)>> {
    let name = name.to_owned();
    store
        .call(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT id, name, is_admin, password_hash FROM users WHERE name = ?1",
                    [name],
                    |row| Ok((user_from_row(row)?, row.get(3)?)),
                )
                .optional()?)
        })
        .await
}

pub(super) async fn groups_of(store: &SqliteStore, user_id: i64) -> anyhow::Result<Vec<String>> {
    store.call(move |conn| group_names(conn, user_id)).await
}

pub(super) async fn any_admin(store: &SqliteStore) -> anyhow::Result<bool> {
    store
        .call(|conn| {
            Ok(conn.query_row(
                "SELECT EXISTS(SELECT 1 FROM users WHERE is_admin)",
                [],
                |row| row.get(0),
            )?)
        })
        .await
}

pub(super) async fn users(store: &SqliteStore) -> anyhow::Result<Vec<Member>> {
    store
        .call(|conn| {
            let mut stmt = conn.prepare("SELECT id, name, is_admin FROM users ORDER BY name")?;
            let users: Vec<User> = stmt
                .query_map([], user_from_row)?
                .collect::<Result<_, _>>()?;
            users
                .into_iter()
                .map(|user| {
                    let groups = group_names(conn, user.id)?;
                    Ok(Member { user, groups })
                })
                .collect()
        })
        .await
}

pub(super) async fn create_group(store: &SqliteStore, name: &str) -> anyhow::Result<()> {
    let name = name.to_owned();
    store
        .call(move |conn| {
            let tx = conn.transaction()?;
            insert_group(&tx, &name)?;
            tx.commit()?;
            Ok(())
        })
        .await
}

pub(super) async fn add_to_group(
    store: &SqliteStore,
    user: &str,
    group: &str,
    create_missing: bool,
) -> anyhow::Result<()> {
    let (user, group) = (user.to_owned(), group.to_owned());
    store
        .call(move |conn| {
            let tx = conn.transaction()?;
            join_group(&tx, &user, &group, create_missing)?;
            tx.commit()?;
            Ok(())
        })
        .await
}

pub(super) async fn remove_from_group(
    store: &SqliteStore,
    user: &str,
    group: &str,
) -> anyhow::Result<()> {
    let (user, group) = (user.to_owned(), group.to_owned());
    store
        .call(move |conn| {
            let tx = conn.transaction()?;
            if find_user(&tx, &user)?.is_none() {
                bail!("no user {user:?}");
            }
            if group_id(&tx, &group)?.is_none() {
                bail!("no group {group:?}");
            }
            bump_epoch(&tx)?;
            tx.execute(
                "DELETE FROM group_members WHERE
                user_id = (SELECT id FROM users WHERE name = ?1) AND
                group_id = (SELECT id FROM groups WHERE name = ?2)",
                [&user, &group],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
}

pub(super) async fn members_of(
    store: &SqliteStore,
    group: &str,
) -> anyhow::Result<Option<Vec<String>>> {
    let group = group.to_owned();
    store
        .call(move |conn| {
            let Some(id) = group_id(conn, &group)? else {
                return Ok(None);
            };
            let mut stmt = conn.prepare(
                "SELECT u.name FROM users u JOIN group_members m ON m.user_id = u.id
             WHERE m.group_id = ?1 ORDER BY u.name",
            )?;
            let names = stmt
                .query_map([id], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(Some(names))
        })
        .await
}

pub(super) async fn groups(store: &SqliteStore) -> anyhow::Result<Vec<String>> {
    store
        .call(|conn| {
            let mut stmt = conn.prepare("SELECT name FROM groups ORDER BY name")?;
            let names = stmt
                .query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(names)
        })
        .await
}

pub(super) async fn insert_session(store: &SqliteStore, session: NewSession) -> anyhow::Result<()> {
    store
        .call(move |conn| {
            conn.execute(
            "INSERT INTO sessions(token, user_id, csrf_token, kind, label, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                super::super::token_hash(&session.token),
                session.user_id,
                session.csrf_token,
                session.kind,
                session.label,
                session.created_at,
                session.expires_at
            ],
        )?;
            Ok(())
        })
        .await
}

pub(super) async fn session(
    store: &SqliteStore,
    token: &str,
) -> anyhow::Result<Option<StoredSession>> {
    let token = super::super::token_hash(token);
    store
        .call(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT u.name, s.csrf_token, s.expires_at FROM sessions s
                 JOIN users u ON u.id = s.user_id WHERE s.token = ?1",
                    [token],
                    |row| {
                        Ok(StoredSession {
                            user_name: row.get(0)?,
                            csrf_token: row.get(1)?,
                            expires_at: row.get(2)?,
                        })
                    },
                )
                .optional()?)
        })
        .await
}

pub(super) async fn delete_session(store: &SqliteStore, token: &str) -> anyhow::Result<()> {
    let token = super::super::token_hash(token);
    store
        .call(move |conn| {
            let tx = conn.transaction()?;
            if tx.execute("DELETE FROM sessions WHERE token = ?1", [token])? > 0 {
                bump_epoch(&tx)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
}

//! The PostgreSQL store's settings, accounts, groups and sessions.

use super::*;

fn user_from(row: UserRow) -> User {
    User {
        id: row.0,
        name: row.1,
        is_admin: row.2,
    }
}

async fn find_user(conn: &mut PgConnection, name: &str) -> anyhow::Result<Option<User>> {
    let row: Option<UserRow> =
        sqlx::query_as("SELECT id, name, is_admin FROM users WHERE lower(name) = lower($1)")
            .bind(name)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(user_from))
}

async fn group_names(conn: &mut PgConnection, user_id: i64) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT g.name FROM groups g JOIN group_members m ON m.group_id = g.id
         WHERE m.user_id = $1 ORDER BY lower(g.name) COLLATE \"C\", g.name",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?)
}

async fn group_id(conn: &mut PgConnection, name: &str) -> anyhow::Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM groups WHERE lower(name) = lower($1)")
            .bind(name)
            .fetch_optional(conn)
            .await?,
    )
}

async fn insert_group(conn: &mut PgConnection, name: &str) -> anyhow::Result<i64> {
    if group_id(&mut *conn, name).await?.is_some() {
        bail!("group {name:?} already exists");
    }
    let id = sqlx::query_scalar("INSERT INTO groups (name) VALUES ($1) RETURNING id")
        .bind(name)
        .fetch_one(&mut *conn)
        .await?;
    bump_epoch(conn).await?;
    Ok(id)
}

async fn join_group(
    conn: &mut PgConnection,
    user: &str,
    group: &str,
    create_missing: bool,
) -> anyhow::Result<()> {
    let user = find_user(&mut *conn, user)
        .await?
        .with_context(|| format!("no user {user:?}"))?;
    let group_id = match group_id(&mut *conn, group).await? {
        Some(id) => id,
        None if create_missing => insert_group(&mut *conn, group).await?,
        None => bail!("no group {group:?}"),
    };
    sqlx::query(
        "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(group_id)
    .bind(user.id)
    .execute(&mut *conn)
    .await?;
    bump_epoch(conn).await
}

pub(super) async fn setting(store: &PostgresStore, key: &str) -> anyhow::Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&store.pool)
            .await?,
    )
}

pub(super) async fn set_setting(
    store: &PostgresStore,
    key: &str,
    value: &str,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(&store.pool)
    .await?;
    Ok(())
}

pub(super) async fn acl_epoch(store: &PostgresStore) -> anyhow::Result<u64> {
    Ok(store
        .setting(crate::store::EPOCH_KEY)
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

pub(super) async fn create_user(store: &PostgresStore, user: NewUser) -> anyhow::Result<User> {
    let mut tx = store.pool.begin().await?;
    if find_user(&mut tx, &user.name).await?.is_some() {
        bail!("user {:?} already exists", user.name);
    }
    bump_epoch(&mut tx).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (name, password_hash, is_admin, created_at)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(&user.name)
    .bind(&user.password_hash)
    .bind(user.is_admin)
    .bind(crate::store::now())
    .fetch_one(&mut *tx)
    .await?;
    for group in &user.groups {
        join_group(&mut tx, &user.name, group, true).await?;
    }
    tx.commit().await?;
    Ok(User {
        id,
        name: user.name,
        is_admin: user.is_admin,
    })
}

pub(super) async fn set_password_hash(
    store: &PostgresStore,
    name: &str,
    hash: &str,
) -> anyhow::Result<()> {
    let mut tx = store.pool.begin().await?;
    let user = find_user(&mut tx, name)
        .await?
        .with_context(|| format!("no user {name:?}"))?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    bump_epoch(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn user(store: &PostgresStore, name: &str) -> anyhow::Result<Option<User>> {
    let mut conn = store.pool.acquire().await?;
    find_user(&mut conn, name).await
}

pub(super) async fn user_with_hash(
    store: &PostgresStore,
    name: &str,
) -> anyhow::Result<Option<(User, String)>> {
    let row: Option<(i64, String, bool, String)> = sqlx::query_as(
        "SELECT id, name, is_admin, password_hash FROM users WHERE lower(name) = lower($1)",
    )
    .bind(name)
    .fetch_optional(&store.pool)
    .await?;
    Ok(row.map(|(id, name, is_admin, hash)| (User { id, name, is_admin }, hash)))
}

pub(super) async fn groups_of(store: &PostgresStore, user_id: i64) -> anyhow::Result<Vec<String>> {
    let mut conn = store.pool.acquire().await?;
    group_names(&mut conn, user_id).await
}

pub(super) async fn any_admin(store: &PostgresStore) -> anyhow::Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE is_admin)")
            .fetch_one(&store.pool)
            .await?,
    )
}

pub(super) async fn users(store: &PostgresStore) -> anyhow::Result<Vec<Member>> {
    let mut conn = store.pool.acquire().await?;
    let rows: Vec<UserRow> = sqlx::query_as(
        "SELECT id, name, is_admin FROM users ORDER BY lower(name) COLLATE \"C\", name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut members = Vec::with_capacity(rows.len());
    for row in rows {
        let user = user_from(row);
        let groups = group_names(&mut conn, user.id).await?;
        members.push(Member { user, groups });
    }
    Ok(members)
}

pub(super) async fn create_group(store: &PostgresStore, name: &str) -> anyhow::Result<()> {
    let mut tx = store.pool.begin().await?;
    insert_group(&mut tx, name).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn add_to_group(
    store: &PostgresStore,
    user: &str,
    group: &str,
    create_missing: bool,
) -> anyhow::Result<()> {
    let mut tx = store.pool.begin().await?;
    join_group(&mut tx, user, group, create_missing).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn remove_from_group(
    store: &PostgresStore,
    user: &str,
    group: &str,
) -> anyhow::Result<()> {
    let mut tx = store.pool.begin().await?;
    let Some(found) = find_user(&mut tx, user).await? else {
        bail!("no user {user:?}");
    };
    let Some(group_id) = group_id(&mut tx, group).await? else {
        bail!("no group {group:?}");
    };
    bump_epoch(&mut tx).await?;
    sqlx::query("DELETE FROM group_members WHERE user_id = $1 AND group_id = $2")
        .bind(found.id)
        .bind(group_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn members_of(
    store: &PostgresStore,
    group: &str,
) -> anyhow::Result<Option<Vec<String>>> {
    let mut conn = store.pool.acquire().await?;
    let Some(id) = group_id(&mut conn, group).await? else {
        return Ok(None);
    };
    let names = sqlx::query_scalar(
        "SELECT u.name FROM users u JOIN group_members m ON m.user_id = u.id
         WHERE m.group_id = $1 ORDER BY lower(u.name) COLLATE \"C\", u.name",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(names))
}

pub(super) async fn groups(store: &PostgresStore) -> anyhow::Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT name FROM groups ORDER BY lower(name) COLLATE \"C\", name")
            .fetch_all(&store.pool)
            .await?,
    )
}

pub(super) async fn insert_session(
    store: &PostgresStore,
    session: NewSession,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token, user_id, csrf_token, kind, label, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(super::super::token_hash(&session.token))
    .bind(session.user_id)
    .bind(session.csrf_token)
    .bind(session.kind)
    .bind(session.label)
    .bind(session.created_at)
    .bind(session.expires_at)
    .execute(&store.pool)
    .await?;
    Ok(())
}

pub(super) async fn session(
    store: &PostgresStore,
    token: &str,
) -> anyhow::Result<Option<StoredSession>> {
    let row: Option<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT u.name, s.csrf_token, s.expires_at FROM sessions s
         JOIN users u ON u.id = s.user_id WHERE s.token = $1",
    )
    .bind(super::super::token_hash(token))
    .fetch_optional(&store.pool)
    .await?;
    Ok(
        row.map(|(user_name, csrf_token, expires_at)| StoredSession {
            user_name,
            csrf_token,
            expires_at,
        }),
    )
}

pub(super) async fn delete_session(store: &PostgresStore, token: &str) -> anyhow::Result<()> {
    let mut tx = store.pool.begin().await?;
    let deleted = sqlx::query("DELETE FROM sessions WHERE token = $1")
        .bind(super::super::token_hash(token))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if deleted > 0 {
        bump_epoch(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

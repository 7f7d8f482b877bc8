//! Accounts and groups: creating users, checking passwords (argon2), and the
//! group memberships page permissions refer to.
//!
//! A user's name is their identity everywhere (sessions, permissions,
//! `protocol::UserId`, chat authorship), so names are never renamed. Names
//! and group names compare case-insensitively.
//!
//! Every write here may change what someone can access, so each one bumps
//! the ACL epoch ([`crate::acl::bump_epoch`]) in the same transaction.

use anyhow::{bail, Context as _};
use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rusqlite::{params, Connection, OptionalExtension as _};

/// A stored account (without its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    /// Admins have Admin access on every page and manage users and groups.
    pub is_admin: bool,
}

/// A user together with the names of their groups: everything a permission
/// check needs to know about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: User,
    pub groups: Vec<String>,
}

/// Why a name was refused.
fn check_name(what: &str, name: &str) -> anyhow::Result<()> {
    let ok_char = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > 64 || !name.chars().all(ok_char) {
        bail!("{what} name {name:?} must be 1-64 letters, digits, '-', '_' or '.'");
    }
    Ok(())
}

/// Creates a user with `password`. Fails if the name is taken.
pub fn create(
    conn: &Connection,
    name: &str,
    password: &str,
    is_admin: bool,
) -> anyhow::Result<User> {
    check_name("user", name)?;
    check_password(password)?;
    if find(conn, name)?.is_some() {
        bail!("user {name:?} already exists");
    }
    let hash = hash_password(password)?;
    crate::acl::bump_epoch(conn)?;
    conn.execute(
        "INSERT INTO users(name, password_hash, is_admin, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![name, hash, is_admin, crate::db::now()],
    )?;
    Ok(User {
        id: conn.last_insert_rowid(),
        name: name.to_owned(),
        is_admin,
    })
}

/// Replaces a user's password and signs out all their browser sessions.
pub fn set_password(conn: &Connection, name: &str, password: &str) -> anyhow::Result<()> {
    check_password(password)?;
    let user = find(conn, name)?.with_context(|| format!("no user {name:?}"))?;
    let hash = hash_password(password)?;
    conn.execute(
        "UPDATE users SET password_hash = ?1 WHERE id = ?2",
        params![hash, user.id],
    )?;
    conn.execute(
        "DELETE FROM sessions WHERE user_id = ?1 AND kind = 'browser'",
        [user.id],
    )?;
    crate::acl::bump_epoch(conn)?;
    Ok(())
}

fn check_password(password: &str) -> anyhow::Result<()> {
    if password.chars().count() < 8 {
        bail!("passwords must be at least 8 characters");
    }
    Ok(())
}

/// A user by name (case-insensitive).
pub fn find(conn: &Connection, name: &str) -> anyhow::Result<Option<User>> {
    Ok(conn
        .query_row(
            "SELECT id, name, is_admin FROM users WHERE name = ?1",
            [name],
            |row| {
                Ok(User {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    is_admin: row.get(2)?,
                })
            },
        )
        .optional()?)
}

/// A user and their groups, by name.
pub fn member(conn: &Connection, name: &str) -> anyhow::Result<Option<Member>> {
    let Some(user) = find(conn, name)? else {
        return Ok(None);
    };
    let groups = groups_of(conn, user.id)?;
    Ok(Some(Member { user, groups }))
}

/// Names of the groups `user_id` belongs to.
pub fn groups_of(conn: &Connection, user_id: i64) -> anyhow::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT g.name FROM groups g JOIN group_members m ON m.group_id = g.id
         WHERE m.user_id = ?1 ORDER BY g.name",
    )?;
    let names = stmt
        .query_map([user_id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(names)
}

/// Checks `password` for `name`. Returns the user on success and `None` for
/// an unknown user or a wrong password (callers must not tell them apart).
pub fn verify(conn: &Connection, name: &str, password: &str) -> anyhow::Result<Option<User>> {
    let row: Option<(i64, String, bool, String)> = conn
        .query_row(
            "SELECT id, name, is_admin, password_hash FROM users WHERE name = ?1",
            [name],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .optional()?;
    let Some((id, name, is_admin, hash)) = row else {
        // Spend the same time as a real check so timing does not reveal
        // which names exist.
        let _ = hash_password(password);
        return Ok(None);
    };
    let password = password.to_owned();
    let matches = on_argon2_thread(move || password_matches(&password, &hash))??;
    if matches {
        Ok(Some(User { id, name, is_admin }))
    } else {
        Ok(None)
    }
}

/// Whether any admin account exists.
pub fn any_admin(conn: &Connection) -> anyhow::Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM users WHERE is_admin)",
        [],
        |row| row.get(0),
    )?)
}

/// All users, by name.
pub fn list(conn: &Connection) -> anyhow::Result<Vec<Member>> {
    let mut stmt = conn.prepare("SELECT id, name, is_admin FROM users ORDER BY name")?;
    let users: Vec<User> = stmt
        .query_map([], |row| {
            Ok(User {
                id: row.get(0)?,
                name: row.get(1)?,
                is_admin: row.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    users
        .into_iter()
        .map(|user| {
            let groups = groups_of(conn, user.id)?;
            Ok(Member { user, groups })
        })
        .collect()
}

/// Creates a group. Fails if the name is taken.
pub fn create_group(conn: &Connection, name: &str) -> anyhow::Result<()> {
    check_name("group", name)?;
    if group_id(conn, name)?.is_some() {
        bail!("group {name:?} already exists");
    }
    conn.execute("INSERT INTO groups(name) VALUES (?1)", [name])?;
    crate::acl::bump_epoch(conn)?;
    Ok(())
}

fn group_id(conn: &Connection, name: &str) -> anyhow::Result<Option<i64>> {
    Ok(conn
        .query_row("SELECT id FROM groups WHERE name = ?1", [name], |row| {
            row.get(0)
        })
        .optional()?)
}

/// Adds `user` to `group`, creating the group if it does not exist yet.
pub fn add_to_group(conn: &Connection, user: &str, group: &str) -> anyhow::Result<()> {
    let user = find(conn, user)?.with_context(|| format!("no user {user:?}"))?;
    let group_id = match group_id(conn, group)? {
        Some(id) => id,
        None => {
            create_group(conn, group)?;
            conn.last_insert_rowid()
        }
    };
    conn.execute(
        "INSERT OR IGNORE INTO group_members(group_id, user_id) VALUES (?1, ?2)",
        [group_id, user.id],
    )?;
    crate::acl::bump_epoch(conn)?;
    Ok(())
}

/// Removes `user` from `group` (no error if they were not in it, but an
/// error if either does not exist).
pub fn remove_from_group(conn: &Connection, user: &str, group: &str) -> anyhow::Result<()> {
    if find(conn, user)?.is_none() {
        bail!("no user {user:?}");
    }
    if group_id(conn, group)?.is_none() {
        bail!("no group {group:?}");
    }
    crate::acl::bump_epoch(conn)?;
    conn.execute(
        "DELETE FROM group_members WHERE
            user_id = (SELECT id FROM users WHERE name = ?1) AND
            group_id = (SELECT id FROM groups WHERE name = ?2)",
        [user, group],
    )?;
    Ok(())
}

/// Adds an existing `user` to an existing `group` (no error if already in).
pub fn add_member(conn: &Connection, user: &str, group: &str) -> anyhow::Result<()> {
    if group_id(conn, group)?.is_none() {
        bail!("no group {group:?}");
    }
    add_to_group(conn, user, group)
}

/// Names of a group's members, or `None` if there is no such group.
pub fn members_of(conn: &Connection, group: &str) -> anyhow::Result<Option<Vec<String>>> {
    let Some(id) = group_id(conn, group)? else {
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
}

/// All group names.
pub fn list_groups(conn: &Connection) -> anyhow::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM groups ORDER BY name")?;
    let names = stmt
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(names)
}

fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let password = password.to_owned();
    on_argon2_thread(move || {
        let params = Params::default();
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt
            .decode_b64(&mut salt_bytes)
            .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        let mut out = [0u8; 32];
        argon2_into(
            &params,
            Algorithm::Argon2id,
            Version::V0x13,
            &password,
            salt_bytes,
            &mut out,
        )?;
        let output = Output::new(&out).map_err(|e| anyhow::anyhow!("hash output: {e}"))?;
        anyhow::Ok(format!(
            "$argon2id$v=19$m={},t={},p={}${}${output}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            salt.as_str()
        ))
    })?
}

/// Whether `password` matches a stored PHC-format argon2 hash.
fn password_matches(password: &str, stored: &str) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(stored).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    let params = Params::try_from(&parsed).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    let algorithm =
        Algorithm::try_from(parsed.algorithm).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?,
        None => Version::default(),
    };
    let salt = parsed
        .salt
        .ok_or_else(|| anyhow::anyhow!("stored hash has no salt"))?;
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("stored salt: {e}"))?;
    let expected = parsed
        .hash
        .ok_or_else(|| anyhow::anyhow!("stored hash has no output"))?;
    let mut out = vec![0u8; expected.len()];
    argon2_into(&params, algorithm, version, password, salt_bytes, &mut out)?;
    let computed = Output::new(&out).map_err(|e| anyhow::anyhow!("hash output: {e}"))?;
    // `Output`'s equality is constant-time.
    Ok(computed == expected)
}

thread_local! {
    /// Argon2's working memory (~19 MiB), kept for the thread's life and
    /// reused by every hash; see [`on_argon2_thread`].
    static ARGON2_BLOCKS: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Raw argon2 into `out`, with this thread's reusable working memory.
fn argon2_into(
    params: &Params,
    algorithm: Algorithm,
    version: Version,
    password: &str,
    salt: &[u8],
    out: &mut [u8],
) -> anyhow::Result<()> {
    let context = Argon2::new(algorithm, version, params.clone());
    ARGON2_BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        let needed = params.block_count();
        if blocks.len() < needed {
            blocks.resize(needed, Block::default());
        }
        context
            .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut blocks[..needed])
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
}

/// Work for the argon2 thread.
type Argon2Job = Box<dyn FnOnce() + Send>;

/// Runs `work` on the one thread that does all argon2 hashing, and waits.
///
/// Each hash needs ~19 MiB of working memory. Allocated afresh per hash,
/// glibc's heap fragmented so badly that twenty sign-ins left an idle server
/// at 130 MB; one thread with one buffer, allocated once and reused, keeps
/// it at one block. It also caps what password checks can cost at one core,
/// whatever the load.
fn on_argon2_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    static WORKER: std::sync::OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<Argon2Job>>> =
        std::sync::OnceLock::new();
    let worker = WORKER.get_or_init(|| {
        let (jobs, queue) = std::sync::mpsc::channel::<Argon2Job>();
        // If the thread cannot start, sends fail and callers get an error.
        let _ = std::thread::Builder::new()
            .name("argon2".into())
            .spawn(move || {
                while let Ok(job) = queue.recv() {
                    job();
                }
            });
        std::sync::Mutex::new(jobs)
    });
    let (reply, answer) = std::sync::mpsc::sync_channel(1);
    worker
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .send(Box::new(move || {
            let _ = reply.send(work());
        }))
        .map_err(|_| anyhow::anyhow!("the argon2 thread is not running"))?;
    answer
        .recv()
        .map_err(|_| anyhow::anyhow!("the argon2 thread dropped a job"))
}

/// A random password for a new account: 20 characters from an alphabet
/// without look-alikes (about 115 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| {
            let i = rand::Rng::random_range(&mut rng, 0..ALPHABET.len());
            char::from(ALPHABET[i])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("wiki.db")).unwrap();
        (dir, db)
    }

    #[test]
    fn passwords_verify_and_change() {
        let (_dir, db) = db();
        db.call_blocking(|c| {
            create(c, "alice", "correct horse", false)?;
            assert!(verify(c, "alice", "correct horse")?.is_some());
            assert!(verify(c, "ALICE", "correct horse")?.is_some());
            assert!(verify(c, "alice", "wrong password")?.is_none());
            assert!(verify(c, "bob", "correct horse")?.is_none());
            set_password(c, "alice", "battery staple")?;
            assert!(verify(c, "alice", "correct horse")?.is_none());
            assert!(verify(c, "alice", "battery staple")?.is_some());
            assert!(create(c, "Alice", "whatever123", false).is_err());
            assert!(create(c, "bad name", "whatever123", false).is_err());
            assert!(create(c, "short", "1234567", false).is_err());
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn groups_and_membership() {
        let (_dir, db) = db();
        db.call_blocking(|c| {
            create(c, "alice", "correct horse", false)?;
            add_to_group(c, "alice", "team")?;
            add_to_group(c, "alice", "team")?;
            let member = member(c, "alice")?.unwrap();
            assert_eq!(member.groups, vec!["team".to_owned()]);
            remove_from_group(c, "alice", "team")?;
            assert!(groups_of(c, member.user.id)?.is_empty());
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn generated_passwords_differ() {
        assert_ne!(generate_password(), generate_password());
        assert_eq!(generate_password().len(), 20);
    }
}

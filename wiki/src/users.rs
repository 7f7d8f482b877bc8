//! Accounts and groups: creating users, checking passwords (argon2), and the
//! group memberships page permissions refer to.
//!
//! A user's name is their identity everywhere (sessions, permissions,
//! `protocol::UserId`, chat authorship), so names are never renamed. Names
//! and group names compare case-insensitively.
//!
//! Every write here may change what someone can access, so the store bumps
//! the ACL epoch in the same transaction.

pub use crate::model::{Member, User};
use crate::store::{NewUser, Store};
use anyhow::bail;
use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Why a name was refused.
fn check_name(what: &str, name: &str) -> anyhow::Result<()> {
    let ok_char = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > 64 || !name.chars().all(ok_char) {
        bail!("{what} name {name:?} must be 1-64 letters, digits, '-', '_' or '.'");
    }
    Ok(())
}

/// Creates a user with `password`, in `groups` (created if missing). Fails
/// if the name is taken.
pub async fn create(
    store: &dyn Store,
    name: &str,
    password: &str,
    is_admin: bool,
    groups: &[String],
) -> anyhow::Result<User> {
    check_name("user", name)?;
    check_password(password)?;
    for group in groups {
        check_name("group", group)?;
    }
    let password_hash = hash_password(password).await?;
    store
        .create_user(NewUser {
            name: name.to_owned(),
            password_hash,
            is_admin,
            groups: groups.to_vec(),
        })
        .await
}

/// Replaces a user's password and signs out all their browser sessions.
pub async fn set_password(store: &dyn Store, name: &str, password: &str) -> anyhow::Result<()> {
    check_password(password)?;
    if store.user(name).await?.is_none() {
        bail!("no user {name:?}");
    }
    let hash = hash_password(password).await?;
    store.set_password_hash(name, &hash).await
}

fn check_password(password: &str) -> anyhow::Result<()> {
    if password.chars().count() < 8 {
        bail!("passwords must be at least 8 characters");
    }
    Ok(())
}

/// A user and their groups, by name.
pub async fn member(store: &dyn Store, name: &str) -> anyhow::Result<Option<Member>> {
    let Some(user) = store.user(name).await? else {
        return Ok(None);
    };
    let groups = store.groups_of(user.id).await?;
    Ok(Some(Member { user, groups }))
}

/// Checks `password` for `name`. Returns the user on success and `None` for
/// an unknown user or a wrong password (callers must not tell them apart).
pub async fn verify(store: &dyn Store, name: &str, password: &str) -> anyhow::Result<Option<User>> {
    let Some((user, hash)) = store.user_with_hash(name).await? else {
        // Spend the same time as a real check so timing does not reveal
        // which names exist.
        let _ = hash_password(password).await;
        return Ok(None);
    };
    let password = password.to_owned();
    let matches = argon2(move || password_matches(&password, &hash)).await??;
    Ok(matches.then_some(user))
}

/// Creates a group. Fails if the name is taken.
pub async fn create_group(store: &dyn Store, name: &str) -> anyhow::Result<()> {
    check_name("group", name)?;
    store.create_group(name).await
}

/// Adds `user` to `group`, creating the group if it does not exist yet.
pub async fn add_to_group(store: &dyn Store, user: &str, group: &str) -> anyhow::Result<()> {
    check_name("group", group)?;
    store.add_to_group(user, group, true).await
}

/// Adds an existing `user` to an existing `group` (no error if already in).
pub async fn add_member(store: &dyn Store, user: &str, group: &str) -> anyhow::Result<()> {
    store.add_to_group(user, group, false).await
}

/// Runs `work` on the argon2 thread from async code: the wait happens on
/// the blocking pool, never on an executor thread.
async fn argon2<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(move || on_argon2_thread(work))
        .await
        .map_err(|e| anyhow::anyhow!("argon2 task: {e}"))?
}

async fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let password = password.to_owned();
    argon2(move || {
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
    })
    .await?
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

    #[test]
    fn generated_passwords_differ() {
        assert_ne!(generate_password(), generate_password());
        assert_eq!(generate_password().len(), 20);
    }
}

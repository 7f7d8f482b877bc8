//! `backchannel migrate`: moves a single-node install (SQLite `wiki.db` and
//! `chat.db` in its data directory) into PostgreSQL, where
//! `serve --database-url` finds it.
//!
//! The target is opened exactly as `serve` opens it (the wiki's store in
//! schema `wiki`, the chat's in the connection's default schema, both
//! migrated by their own code), then [`crate::store::copy`] and
//! [`plugin::store::copy`] copy the rows, each in one transaction that
//! verifies its counts before committing. Both targets are checked empty
//! before either copy starts, so a refused migration changes nothing; if
//! the chat's copy fails after the wiki's committed, the wiki's tables are
//! emptied again so the command can simply be rerun.
//!
//! Uploaded files are not copied: they stay content-addressed under
//! `<data>/files`, and every PostgreSQL node serves them from its `--data`.

use crate::store::{copy as wiki_copy, PostgresStore};
use anyhow::{bail, Context as _};
use indicatif::{ProgressBar, ProgressStyle};
use infra::copy::Copied;
use plugin::store::copy as chat_copy;
use plugin::StoreMaintenance as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// What `--from` must look like, for error messages.
const FROM_FORMAT: &str = "sqlite:DIR, where DIR is the data directory holding wiki.db and \
                           chat.db (e.g. --from sqlite:./data)";

/// The data directory named by `--from`: `sqlite:DIR` or `sqlite://DIR`.
pub fn source_dir(from: &str) -> anyhow::Result<PathBuf> {
    let Some(rest) = from.strip_prefix("sqlite:") else {
        bail!("--from {from:?} is not a SQLite install: expected {FROM_FORMAT}");
    };
    // `sqlite://data` and `sqlite:///srv/data` read as URLs: the path
    // follows the `//`.
    let dir = rest.strip_prefix("//").unwrap_or(rest);
    if dir.is_empty() {
        bail!("--from {from:?} names no directory: expected {FROM_FORMAT}");
    }
    let dir = PathBuf::from(dir);
    if dir.is_file() {
        bail!(
            "--from {from:?} is a file; give the data directory that holds wiki.db and \
             chat.db instead (e.g. sqlite:{})",
            dir.parent().map_or(Path::new("."), |p| p).display()
        );
    }
    if !dir.is_dir() {
        bail!("--from {from:?}: there is no directory {}", dir.display());
    }
    for file in ["wiki.db", "chat.db"] {
        if !dir.join(file).is_file() {
            bail!(
                "--from {from:?}: {} has no {file}; is it a Backchannel data directory \
                 (one `backchannel serve --data` has run on)?",
                dir.display()
            );
        }
    }
    Ok(dir)
}

/// Checks that `--to` is a PostgreSQL URL.
fn check_target(to: &str) -> anyhow::Result<()> {
    if !(to.starts_with("postgres://") || to.starts_with("postgresql://")) {
        bail!("--to must be a PostgreSQL URL such as postgres://user@host/database, not {to:?}");
    }
    Ok(())
}

/// Runs the migration, with a progress bar per table on stderr and the
/// verified counts on stdout.
pub async fn run(from: &str, to: &str) -> anyhow::Result<()> {
    let dir = source_dir(from)?;
    check_target(to)?;

    // The same connections `serve --database-url` makes: they create and
    // migrate the schemas, so the copy lands in exactly what serve expects.
    let wiki = PostgresStore::connect(to)
        .await
        .context("connecting the wiki to PostgreSQL (--to)")?;
    let chat = plugin::store::PostgresStore::connect(to)
        .await
        .context("connecting the chat to PostgreSQL (--to)")?;
    wiki_copy::ensure_empty(&wiki).await?;
    let rooms = chat.rooms().await?.len();
    if rooms > 0 {
        bail!(
            "the PostgreSQL database already holds {rooms} chat room(s); migrate into an \
             empty database"
        );
    }

    let bars = Bars::default();
    let wiki_copied = wiki_copy::sqlite_to_postgres(&dir.join("wiki.db"), &wiki, &|t, d, n| {
        bars.show("wiki", t, d, n);
    })
    .await
    .context("copying the wiki (nothing of it was committed)")?;
    bars.finish();
    let chat_copied = match chat_copy::sqlite_to_postgres(
        &dir.join("chat.db"),
        &chat,
        &|t, d, n| {
            bars.show("chat", t, d, n);
        },
    )
    .await
    {
        Ok(copied) => copied,
        Err(e) => {
            bars.finish();
            let undone = match wiki_copy::undo(&wiki).await {
                Ok(()) => "the wiki's copied tables were emptied again, so you can rerun migrate",
                Err(_) => "emptying the wiki's copied tables failed too: drop schema `wiki` before rerunning",
            };
            return Err(e).context(format!(
                "copying the chat (nothing of it was committed; {undone})"
            ));
        }
    };
    bars.finish();

    println!("{}", report(&dir, to, &wiki_copied, &chat_copied));
    Ok(())
}

/// What a successful migration prints: the verified counts and what to do
/// next.
fn report(dir: &Path, to: &str, wiki: &Copied, chat: &Copied) -> String {
    let mut out =
        String::from("Copied, and verified that PostgreSQL holds as many rows as SQLite:\n");
    for (part, copied) in [("wiki", wiki), ("chat", chat)] {
        for (table, rows) in &copied.0 {
            out.push_str(&format!("  {part}  {table:<18} {rows:>9}\n"));
        }
    }
    let files = dir.join("files");
    out.push_str(&format!(
        "\nUploaded files were not copied: they stay in {} ({} file(s)). Start every \
         PostgreSQL node with this same --data directory (or a shared copy of it), or \
         file links will answer 404:\n  backchannel serve --data {} --database-url {}\n",
        files.display(),
        count_files(&files),
        dir.display(),
        redact(to)
    ));
    out
}

/// The URL without its password, for printing.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    let user = credentials
        .split_once(':')
        .map_or(credentials, |(user, _)| user);
    let hidden = if user.len() < credentials.len() {
        ":***"
    } else {
        ""
    };
    format!("{scheme}://{user}{hidden}@{host}")
}

/// Regular files under `dir`, recursively (0 if it does not exist).
fn count_files(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => count_files(&entry.path()),
            Ok(kind) if kind.is_file() => 1,
            _ => 0,
        })
        .sum()
}

/// One progress bar per table, each left on screen (one line per table)
/// when its table is done. indicatif hides them when stderr is not a
/// terminal.
#[derive(Default)]
struct Bars {
    /// The table being copied and its bar. A std `Mutex`: the progress
    /// callback is synchronous and never holds it across an `.await`.
    current: Mutex<Option<(&'static str, ProgressBar)>>,
}

impl Bars {
    fn show(&self, part: &str, table: &'static str, done: u64, total: u64) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_none_or(|(name, _)| *name != table) {
            if let Some((_, bar)) = current.take() {
                bar.finish();
            }
            let bar = ProgressBar::new(total).with_style(
                ProgressStyle::with_template("{msg:24} [{bar:40}] {pos}/{len} rows")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_message(format!("{part} {table}"));
            *current = Some((table, bar));
        }
        if let Some((_, bar)) = current.as_ref() {
            bar.set_length(total);
            bar.set_position(done);
        }
    }

    fn finish(&self) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, bar)) = current.take() {
            bar.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_takes_a_data_directory_and_explains_anything_else() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("wiki.db"), b"").unwrap();
        std::fs::write(dir.path().join("chat.db"), b"").unwrap();
        let shown = dir.path().display().to_string();
        assert_eq!(source_dir(&format!("sqlite:{shown}")).unwrap(), dir.path());
        assert_eq!(
            source_dir(&format!("sqlite://{shown}")).unwrap(),
            dir.path()
        );

        let bare = source_dir(&shown).unwrap_err().to_string();
        assert!(bare.contains("sqlite:DIR"), "{bare}");
        let pg = source_dir("postgres://db/x").unwrap_err().to_string();
        assert!(pg.contains("not a SQLite install"), "{pg}");
        let file = source_dir(&format!("sqlite:{shown}/wiki.db"))
            .unwrap_err()
            .to_string();
        assert!(
            file.contains("is a file") && file.contains(&shown),
            "{file}"
        );
        let empty = tempfile::tempdir().unwrap();
        let missing = source_dir(&format!("sqlite:{}", empty.path().display()))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("has no wiki.db"), "{missing}");
        assert!(check_target("mysql://db").is_err());
        assert!(check_target("postgresql://u@db/x").is_ok());
    }

    #[test]
    fn printed_urls_hide_the_password() {
        assert_eq!(redact("postgres://u:secret@db/x"), "postgres://u:***@db/x");
        assert_eq!(redact("postgres://u@db/x"), "postgres://u@db/x");
        assert_eq!(redact("postgres://db/x"), "postgres://db/x");
    }
}

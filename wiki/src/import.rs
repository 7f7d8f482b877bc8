//! `backchannel page import DIR`: a folder of markdown files becomes a page
//! tree.
//!
//! `DIR/Team/Planning.md` becomes the page `Team/Planning` titled
//! `Planning`; folders become parent pages (empty unless a file of the same
//! name sits next to the folder, e.g. `Team.md` beside `Team/`). With
//! `--under PATH` everything lands below that page. Only `*.md` and
//! `*.markdown` files are read; hidden files and folders are skipped.
//!
//! Re-importing is safe: every file goes through the store's page write, which
//! updates a changed page (one new revision) and leaves an unchanged one
//! alone, so running the same import twice writes nothing the second time.
//! Files are imported in sorted order, in batches of one transaction each.

use crate::pages::{self, PagePath};
use crate::store::{PageWrite, Store};
use anyhow::Context as _;
use std::path::{Path, PathBuf};

/// Who imported pages are recorded as.
pub const IMPORT_AUTHOR: &str = "import";
/// Files written per transaction.
const BATCH: usize = 200;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Files that could not be read as UTF-8 text, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

/// One file to import and where it goes.
struct Entry {
    file: PathBuf,
    path: PagePath,
    title: String,
}

/// Collects the markdown files under `dir`, sorted.
fn collect(dir: &Path, under: Option<&PagePath>) -> anyhow::Result<Vec<Entry>> {
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    let mut entries = Vec::with_capacity(files.len());
    for file in files {
        let relative = file.strip_prefix(dir).unwrap_or(&file);
        let mut segments: Vec<String> = Vec::new();
        if let Some(parent) = relative.parent() {
            for part in parent.components() {
                segments.push(pages::segment_from(&part.as_os_str().to_string_lossy()));
            }
        }
        let title = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        segments.push(pages::segment_from(&title));
        let joined = segments.join("/");
        let path = match under {
            Some(under) => under.child(&joined),
            None => PagePath::parse(&joined),
        }
        .with_context(|| format!("no page path for {}", file.display()))?;
        entries.push(Entry {
            file,
            path,
            title: title.trim().to_owned(),
        });
    }
    // Parents before children, so a folder's own file creates its page
    // rather than filling in an empty placeholder.
    entries.sort_by(|a, b| {
        let depth = |e: &Entry| e.path.segments().count();
        depth(a)
            .cmp(&depth(b))
            .then_with(|| a.path.as_str().cmp(b.path.as_str()))
    });
    Ok(entries)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let listing = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in listing {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            walk(&path, out)?;
        } else if kind.is_file()
            && path.extension().is_some_and(|ext| {
                ext.eq_ignore_ascii_case("md") || ext.eq_ignore_ascii_case("markdown")
            })
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Imports the markdown files under `dir` (below `under` if given),
/// calling `progress(done, total)` after each file.
pub async fn import_dir(
    store: &dyn Store,
    dir: &Path,
    under: Option<&PagePath>,
    mut progress: impl FnMut(usize, usize),
) -> anyhow::Result<Imported> {
    let entries = collect(dir, under)?;
    let total = entries.len();
    let mut done = Imported::default();
    let mut finished = 0;
    for batch in entries.chunks(BATCH) {
        let mut loaded = Vec::with_capacity(batch.len());
        for entry in batch {
            match std::fs::read(&entry.file).map(String::from_utf8) {
                Ok(Ok(text)) => loaded.push((entry, text)),
                Ok(Err(_)) => done
                    .skipped
                    .push((entry.file.clone(), "not UTF-8 text".to_owned())),
                Err(err) => done.skipped.push((entry.file.clone(), err.to_string())),
            }
        }
        let writes = loaded
            .iter()
            .map(|(entry, text)| PageWrite {
                path: entry.path.clone(),
                title: (!entry.title.is_empty()).then(|| entry.title.clone()),
                markdown: text.replace("\r\n", "\n"),
                keep: crate::store::Keep::All,
            })
            .collect();
        let first = loaded
            .first()
            .map(|(entry, _)| entry.file.display().to_string());
        let written = store
            .put_pages(writes, IMPORT_AUTHOR)
            .await
            .with_context(|| format!("importing the batch from {}", first.unwrap_or_default()))?;
        for written in written {
            match (written.created, written.changed) {
                (true, _) => done.created += 1,
                (false, true) => done.updated += 1,
                (false, false) => done.unchanged += 1,
            }
        }
        finished += batch.len();
        progress(finished, total);
    }
    Ok(done)
}

/// The CLI's `page import`, with an indicatif progress bar on stderr.
pub async fn run(
    data: &Path,
    database_url: Option<&str>,
    dir: &Path,
    under: Option<&str>,
) -> anyhow::Result<()> {
    let under = under.map(PagePath::parse).transpose()?;
    let store = crate::install::Install::at(data)?
        .wiki_store(database_url)
        .await?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let done = import_dir(store.as_ref(), dir, under.as_ref(), |finished, total| {
        bar.set_length(total as u64);
        bar.set_position(finished as u64);
    })
    .await?;
    bar.finish_and_clear();
    for (file, why) in &done.skipped {
        eprintln!("skipped {}: {why}", file.display());
    }
    println!(
        "imported {} file(s): {} created, {} updated, {} unchanged, {} skipped",
        done.created + done.updated + done.unchanged,
        done.created,
        done.updated,
        done.unchanged,
        done.skipped.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> PagePath {
        PagePath::parse(s).unwrap()
    }

    #[tokio::test]
    async fn folders_become_parents_and_reimport_is_idempotent() {
        let src = tempfile::tempdir().unwrap();
        let root = src.path();
        std::fs::create_dir_all(root.join("Team/Sub")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join("Team.md"), "team home").unwrap();
        std::fs::write(root.join("Team/Plan.md"), "the plan\r\n").unwrap();
        std::fs::write(root.join("Team/Sub/Deep.markdown"), "deep").unwrap();
        std::fs::write(root.join("Team/notes.txt"), "ignored").unwrap();
        std::fs::write(root.join(".git/x.md"), "hidden").unwrap();
        std::fs::write(root.join("bad.md"), [0xff, 0xfe]).unwrap();

        let data = tempfile::tempdir().unwrap();
        let store = crate::store::SqliteStore::open(&data.path().join("wiki.db")).unwrap();
        let under = PagePath::parse("Docs").unwrap();
        let mut calls = 0;
        let first = import_dir(&store, root, Some(&under), |_, _| calls += 1)
            .await
            .unwrap();
        assert_eq!(first.created, 3);
        assert_eq!(first.skipped.len(), 1);
        assert!(calls > 0);
        let plan = store
            .page_by_path(&path("Docs/Team/Plan"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(plan.markdown, "the plan\n");
        assert_eq!(plan.title, "Plan");
        let team = store
            .page_by_path(&path("Docs/Team"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(team.markdown, "team home");
        assert_eq!(plan.parent_id, Some(team.id));
        assert!(store
            .page_by_path(&path("Docs/Team/Sub"))
            .await
            .unwrap()
            .is_some());
        assert!(store.page_by_path(&path("Docs/x")).await.unwrap().is_none());

        let again = import_dir(&store, root, Some(&under), |_, _| {})
            .await
            .unwrap();
        assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3));
        std::fs::write(root.join("Team/Plan.md"), "a new plan").unwrap();
        let third = import_dir(&store, root, Some(&under), |_, _| {})
            .await
            .unwrap();
        assert_eq!((third.created, third.updated, third.unchanged), (0, 1, 2));
    }
}

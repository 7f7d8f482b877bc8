//! `cargo xtask layers`: the house's shape, checked. Modules inside a crate
//! import each other in one direction only, and no Rust file (code or test)
//! is longer than a newcomer can read in one sitting.
//!
//! The check reads each crate's `src/` as text, the way a reviewer does:
//! comments and `#[cfg(test)]` items are left out (tests may reach anywhere),
//! and every `crate::`, `super::` path (in `use` lines and inline) is an edge
//! from the module that names it to the module it names. Edges are compared
//! among siblings: `a::x` naming `b::y` is an edge `a -> b` between the
//! crate's top-level modules, and `a::x` naming `a::y` an edge `x -> y` inside
//! `a`. A module naming its own ancestor or descendant is not an edge (a
//! parent re-exporting its children is how Rust modules work). Any strongly
//! connected group of two or more siblings is a cycle, and fails.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The crates whose insides are checked.
const CRATES: &[&str] = &[
    "protocol",
    "transcript",
    "plugin",
    "wasm-ui",
    "wiki",
    "tests",
    "bench",
    "xtask",
    "infra",
];

/// The longest source file (tests beside the code included) before it must be split.
pub const MAX_LINES: usize = 800;

/// Files allowed past [`MAX_LINES`], each with the reason a reader would accept.
const LONG_FILES: &[(&str, &str)] = &[];

/// A module path inside one crate: `[]` is the crate root, `["store", "sqlite"]`
/// is `store::sqlite`.
type ModPath = Vec<String>;

/// What `cargo xtask layers` found.
#[derive(Default)]
pub struct Report {
    /// Each cycle as `crate: a -> b -> a` (members of one strongly connected group).
    pub cycles: Vec<String>,
    /// Files over [`MAX_LINES`] that [`LONG_FILES`] does not excuse.
    pub long_files: Vec<String>,
}

/// Checks every crate; fails with the list when anything is out of shape.
pub fn check(root: &Path) -> Result<()> {
    let report = scan(root)?;
    for cycle in &report.cycles {
        println!("cycle: {cycle}");
    }
    for file in &report.long_files {
        println!("too long: {file}");
    }
    if report.cycles.is_empty() && report.long_files.is_empty() {
        println!(
            "layers: no import cycles in {} crates; no file over {MAX_LINES} lines",
            CRATES.len()
        );
        Ok(())
    } else {
        bail!(
            "{} import cycle(s), {} file(s) over {MAX_LINES} lines (listed above)",
            report.cycles.len(),
            report.long_files.len()
        )
    }
}

/// Reads every crate and returns what is out of shape.
pub fn scan(root: &Path) -> Result<Report> {
    let mut report = Report::default();
    for name in CRATES {
        let src = root.join(name).join("src");
        if !src.is_dir() {
            continue;
        }
        // Every Rust file of the crate counts toward the length rule (its
        // integration tests too); only src/ makes up the module graph.
        let mut files = Vec::new();
        for dir in ["src", "tests", "benches", "examples"] {
            let dir = root.join(name).join(dir);
            if dir.is_dir() {
                collect_rs(&dir, &mut files)?;
            }
        }
        files.sort();
        let mut modules: BTreeMap<ModPath, String> = BTreeMap::new();
        for file in &files {
            let text =
                fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            let relative = file
                .strip_prefix(root)
                .unwrap_or(file)
                .display()
                .to_string();
            if text.lines().count() > MAX_LINES
                && !LONG_FILES.iter().any(|(path, _)| *path == relative)
            {
                report
                    .long_files
                    .push(format!("{relative} ({} lines)", text.lines().count()));
            }
            if !file.starts_with(&src) {
                continue;
            }
            if let Some(path) = module_path(&src, file) {
                modules.insert(path, text);
            }
        }
        let test_only = test_only_modules(&modules);
        let mut edges = BTreeSet::new();
        for (from, text) in &modules {
            if test_only.iter().any(|prefix| from.starts_with(prefix)) {
                continue;
            }
            let code = strip_tests(&strip_comments(text));
            for reference in references(&code, from) {
                if let Some(to) = resolve(&modules, &reference) {
                    if let Some(edge) = sibling_edge(from, &to) {
                        edges.insert(edge);
                    }
                }
            }
        }
        for cycle in cycles(&edges) {
            report.cycles.push(format!("{name}: {cycle}"));
        }
    }
    Ok(report)
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_rs(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `lib.rs` is the root. A
/// binary root beside a library (`main.rs`, `bin/*`) is its own crate and is
/// left out: it reaches the library by name, never by `crate::`.
fn module_path(src: &Path, file: &Path) -> Option<ModPath> {
    let relative = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?;
    if parts.first().is_some_and(|first| first == "bin") {
        return None;
    }
    match last.as_str() {
        "lib.rs" if parts.is_empty() => Some(parts),
        "main.rs" if parts.is_empty() => src.join("lib.rs").exists().then_some(parts),
        "mod.rs" => Some(parts),
        other => {
            parts.push(other.trim_end_matches(".rs").to_string());
            Some(parts)
        }
    }
}

/// Modules declared as `#[cfg(test)] mod name;`: test code, left out whole.
fn test_only_modules(modules: &BTreeMap<ModPath, String>) -> Vec<ModPath> {
    let mut out = Vec::new();
    for (path, text) in modules {
        let mut lines = text.lines().map(str::trim);
        while let Some(line) = lines.next() {
            if line.starts_with("#[cfg(test)]") {
                let next = lines.next().unwrap_or_default();
                let declaration = next
                    .trim_start_matches("pub(crate) ")
                    .trim_start_matches("pub ");
                if let Some(name) = declaration
                    .strip_prefix("mod ")
                    .and_then(|rest| rest.strip_suffix(';'))
                {
                    let mut child = path.clone();
                    child.push(name.trim().to_string());
                    out.push(child);
                }
            }
        }
    }
    out
}

/// The text with comments blanked out; string and char literals are kept
/// whole, so a `//` inside `"http://"` is not a comment.
fn strip_comments(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            i += end;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map_or(rest.len(), |at| at + 2);
            // Keep line breaks so the line count stays honest.
            out.extend(rest[..end].chars().filter(|c| *c == '\n'));
            i += end;
        } else {
            let len =
                literal_len(rest).unwrap_or_else(|| rest.chars().next().map_or(1, char::len_utf8));
            out.push_str(&rest[..len]);
            i += len;
        }
    }
    out
}

/// The length of a string or char literal at the start of `text`, if one starts there.
fn literal_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if let Some(rest) = text.strip_prefix('r').or_else(|| text.strip_prefix("br")) {
        let prefix = text.len() - rest.len();
        let hashes = rest.bytes().take_while(|b| *b == b'#').count();
        if rest.as_bytes().get(hashes) == Some(&b'"') {
            let close = format!("\"{}", "#".repeat(hashes));
            let body = &rest[hashes + 1..];
            let end = body.find(&close).map_or(body.len(), |at| at + close.len());
            return Some(prefix + hashes + 1 + end);
        }
        return None;
    }
    match bytes.first()? {
        b'"' => {
            let mut i = 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'"' => return Some(i + 1),
                    _ => i += 1,
                }
            }
            Some(bytes.len())
        }
        b'\'' => {
            // A char literal ('x', '\n', '\u{7b}'), not a lifetime ('a).
            if bytes.get(1) == Some(&b'\\') {
                let end = text[2..].find('\'')?;
                return Some(end + 3);
            }
            let c = text[1..].chars().next()?;
            let after = 1 + c.len_utf8();
            (bytes.get(after) == Some(&b'\'')).then_some(after + 1)
        }
        _ => None,
    }
}

/// The code without `#[cfg(test)]` items (a test module, function or `use`).
fn strip_tests(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at + "#[cfg(test)]".len()..];
        rest = &item[item_len(item)..];
    }
    out.push_str(rest);
    out
}

/// How far the item at the start of `text` reaches: to its `;`, or to the
/// brace that closes its first `{`, whichever comes first.
fn item_len(text: &str) -> usize {
    let mut depth = 0usize;
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if let Some(len) = literal_len(rest) {
            i += len;
            continue;
        }
        match rest.as_bytes()[0] {
            b';' if depth == 0 => return i + 1,
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    text.len()
}

/// Every path the code names through `crate::` or `super::`, made absolute.
/// Brace groups (`use crate::{a, b::{c, d}}`) are expanded.
fn references(code: &str, from: &ModPath) -> Vec<ModPath> {
    let mut out = Vec::new();
    for (keyword, base) in [
        ("crate::", Vec::new()),
        ("super::", from[..from.len().saturating_sub(1)].to_vec()),
    ] {
        let mut search = 0;
        while let Some(found) = code[search..].find(keyword) {
            let at = search + found;
            search = at + keyword.len();
            let preceded_by_ident = code[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            if preceded_by_ident {
                continue;
            }
            let mut prefix = base.clone();
            let mut tail = &code[search..];
            // `super::super::x` climbs twice.
            while let Some(after) = tail.strip_prefix("super::") {
                prefix.pop();
                tail = after;
            }
            expand(tail, prefix, &mut out);
        }
    }
    out
}

/// Reads one path (or brace group of paths) at the start of `text`.
fn expand(text: &str, mut prefix: ModPath, out: &mut Vec<ModPath>) {
    let mut text = text.trim_start();
    loop {
        if let Some(group) = text.strip_prefix('{') {
            for part in split_group(group) {
                expand(part, prefix.clone(), out);
            }
            return;
        }
        let ident: String = text
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if ident.is_empty() || ident == "self" {
            out.push(prefix);
            return;
        }
        prefix.push(ident.clone());
        text = text[ident.len()..].trim_start();
        match text.strip_prefix("::") {
            Some(rest) => text = rest.trim_start(),
            None => {
                out.push(prefix);
                return;
            }
        }
    }
}

/// The comma-separated parts of a brace group, up to its closing brace.
fn split_group(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                parts.push(&text[start..i]);
                return parts;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The longest prefix of `path` that is a module of the crate.
fn resolve(modules: &BTreeMap<ModPath, String>, path: &ModPath) -> Option<ModPath> {
    (0..=path.len())
        .rev()
        .map(|len| path[..len].to_vec())
        .find(|prefix| modules.contains_key(prefix))
}

/// The edge between the two siblings under the modules' common parent, as
/// `(parent, from child, to child)`; none when one contains the other.
fn sibling_edge(from: &ModPath, to: &ModPath) -> Option<(ModPath, String, String)> {
    let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    if common == from.len() || common == to.len() {
        return None;
    }
    Some((
        from[..common].to_vec(),
        from[common].clone(),
        to[common].clone(),
    ))
}

/// Strongly connected groups of two or more siblings, each as `parent: a -> b -> ...`.
fn cycles(edges: &BTreeSet<(ModPath, String, String)>) -> Vec<String> {
    let mut by_parent: BTreeMap<&ModPath, BTreeMap<&str, BTreeSet<&str>>> = BTreeMap::new();
    for (parent, from, to) in edges {
        let graph = by_parent.entry(parent).or_default();
        graph.entry(from).or_default().insert(to);
        graph.entry(to).or_default();
    }
    let mut out = Vec::new();
    for (parent, graph) in by_parent {
        for group in strongly_connected(&graph) {
            if group.len() < 2 {
                continue;
            }
            let scope = if parent.is_empty() {
                String::new()
            } else {
                format!("{}: ", parent.join("::"))
            };
            let mut line = format!("{scope}{{{}}}", group.join(", "));
            // One concrete loop through the group, so the reader knows where to cut.
            if let Some(path) = one_loop(&graph, &group) {
                line.push_str(&format!(" e.g. {}", path.join(" -> ")));
            }
            out.push(line);
        }
    }
    out
}

/// Tarjan's algorithm, small enough to read: the groups in which every module
/// reaches every other.
fn strongly_connected<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<Vec<&'a str>> {
    struct Walk<'a, 'g> {
        graph: &'g BTreeMap<&'a str, BTreeSet<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        groups: Vec<Vec<&'a str>>,
    }
    impl<'a> Walk<'a, '_> {
        fn visit(&mut self, node: &'a str) {
            let index = self.index.len();
            self.index.insert(node, index);
            self.low.insert(node, index);
            self.stack.push(node);
            self.on_stack.insert(node);
            for &next in self.graph.get(node).into_iter().flatten() {
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut group = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    group.push(member);
                    if member == node {
                        break;
                    }
                }
                group.sort_unstable();
                self.groups.push(group);
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for &node in graph.keys() {
        if !walk.index.contains_key(node) {
            walk.visit(node);
        }
    }
    walk.groups
}

/// The shortest loop from the group's first member back to itself.
fn one_loop<'a>(
    graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    group: &[&'a str],
) -> Option<Vec<&'a str>> {
    let start = *group.first()?;
    let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for &next in graph.get(node).into_iter().flatten() {
            if !group.contains(&next) {
                continue;
            }
            if next == start {
                let mut path = vec![start, node];
                let mut at = node;
                while let Some(&before) = previous.get(at) {
                    path.push(before);
                    at = before;
                }
                path.pop();
                path.push(start);
                path.reverse();
                path.dedup();
                if path.len() == 1 {
                    path.push(start);
                }
                return Some(path);
            }
            if next != start && !previous.contains_key(next) {
                previous.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> ModPath {
        text.split("::")
            .filter(|part| !part.is_empty())
            .map(String::from)
            .collect()
    }

    #[test]
    fn groups_and_super_paths_are_expanded() {
        let code = "use crate::{api::{Json, MaybeCaller}, state::AppState};\n\
                    fn f() { super::sibling::g(); crate::clock::now(); }";
        let found = references(code, &path("store::sqlite"));
        assert_eq!(
            found,
            vec![
                path("api::Json"),
                path("api::MaybeCaller"),
                path("state::AppState"),
                path("clock::now"),
                path("store::sibling::g"),
            ]
        );
    }

    #[test]
    fn comments_strings_and_test_items_are_not_code() {
        let text = "// use crate::a;\nlet s = \"crate::b // not a comment\";\n\
                    /* crate::c */\n#[cfg(test)]\nmod tests { use crate::d; fn x() { '{'; } }\n\
                    use crate::e;";
        let code = strip_tests(&strip_comments(text));
        let found = references(&code, &path(""));
        assert_eq!(found, vec![path("b"), path("e")]);
    }

    #[test]
    fn a_cycle_between_siblings_is_found_and_parent_child_is_not() {
        let mut edges = BTreeSet::new();
        for (from, to) in [("api", "chat"), ("chat", "state"), ("state", "api")] {
            edges.insert(sibling_edge(&path(from), &path(to)).expect("siblings"));
        }
        assert!(sibling_edge(&path("store::sqlite"), &path("store")).is_none());
        assert!(sibling_edge(&path("store"), &path("store::sqlite")).is_none());
        edges.insert(sibling_edge(&path("store::sqlite"), &path("clock::x")).expect("edge"));
        let found = cycles(&edges);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("{api, chat, state}"), "{found:?}");
        assert!(
            found[0].contains("api -> chat -> state -> api"),
            "{found:?}"
        );
    }

    #[test]
    fn the_tree_itself_scans() {
        // The real tree parses without error; its verdict is the CI step's.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root");
        scan(root).expect("scan");
    }
}

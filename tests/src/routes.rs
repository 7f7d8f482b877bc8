//! The routes the server declares, read from the source of the `wiki` and
//! `plugin` crates: every `.route(PATH, method_router)` call, its path (a
//! string literal, or a `const NAME: &str` of the same crate) and the HTTP
//! methods chained on it (`get(..).post(..)`, `axum::routing::post(..)`).
//!
//! axum keeps no list of routes to ask at run time, so suites that must
//! cover every route of a kind (the CSRF suite covers every state-changing
//! one) compare their tables with this scan, and a new route that no table
//! lists fails them.

use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// One declared route: `("POST", "/api/rooms/{room}/messages")`.
pub type Route = (String, String);

/// Every route declared under `<crate>/src` for the given crates
/// (directories relative to the workspace root), with its methods.
pub fn declared(crates: &[&str]) -> Result<BTreeSet<Route>> {
    let root = crate::workspace::root();
    let mut routes = BTreeSet::new();
    for name in crates {
        let files = rust_files(&root.join(name).join("src"))?;
        let mut sources = Vec::new();
        for file in &files {
            let text =
                fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            sources.push(text);
        }
        let consts = string_consts(&sources);
        for text in &sources {
            routes.extend(routes_in(text, &consts));
        }
    }
    Ok(routes)
}

/// The state-changing ones: POST, PUT, PATCH and DELETE.
pub fn state_changing(routes: &BTreeSet<Route>) -> BTreeSet<Route> {
    routes
        .iter()
        .filter(|(method, _)| matches!(method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE"))
        .cloned()
        .collect()
}

fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(rust_files(&path)?);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// `const NAME: &str = "value";` anywhere in the crate.
fn string_consts(sources: &[String]) -> Vec<(String, String)> {
    let mut consts = Vec::new();
    for text in sources {
        for line in text.lines() {
            let line = line.trim_start().trim_start_matches("pub ");
            let Some(rest) = line.strip_prefix("const ") else {
                continue;
            };
            let Some((name, value)) = rest.split_once(": &str = \"") else {
                continue;
            };
            if let Some((value, _)) = value.split_once('"') {
                consts.push((name.trim().to_owned(), value.to_owned()));
            }
        }
    }
    consts
}

/// The routes one source file declares.
fn routes_in(text: &str, consts: &[(String, String)]) -> Vec<Route> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(".route(") {
        let args = &rest[at + ".route(".len()..];
        let inside = balanced(args);
        rest = &args[inside.len()..];
        let Some((first, methods)) = inside.split_once(',') else {
            continue;
        };
        let first = first.trim();
        let path = match first.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
            Some(literal) => literal.to_owned(),
            None => match consts.iter().find(|(name, _)| name == first) {
                Some((_, value)) => value.clone(),
                None => format!("<{first}>"),
            },
        };
        for method in ["get", "post", "put", "patch", "delete"] {
            if calls(methods, method) {
                found.push((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    found
}

/// The text up to the parenthesis closing the one just opened.
fn balanced(text: &str) -> &str {
    let mut depth = 1_usize;
    let mut in_string = false;
    for (at, c) in text.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return &text[..at];
                }
            }
            _ => {}
        }
    }
    text
}

/// Whether `method(` is called in `text` as a method router (not as part of
/// a longer name like `get_any(`).
fn calls(text: &str, method: &str) -> bool {
    let needle = format!("{method}(");
    text.match_indices(&needle).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        !matches!(before, Some(c) if c.is_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chained_and_qualified_method_routers_are_read() {
        let source = r#"
            const HOOK: &str = "/hook";
            Router::new()
                .route("/a/{x}", get(show).post(save))
                .route(
                    "/b",
                    get(get_any).put(put_any).delete(delete_page),
                )
                .route("/c", axum::routing::post(form).layer(limit(max(1, 2))))
                .route(HOOK, post(hook))
        "#;
        let consts = string_consts(&[source.to_owned()]);
        let found = routes_in(source, &consts);
        let want: Vec<Route> = [
            ("GET", "/a/{x}"),
            ("POST", "/a/{x}"),
            ("GET", "/b"),
            ("PUT", "/b"),
            ("DELETE", "/b"),
            ("POST", "/c"),
            ("POST", "/hook"),
        ]
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
        assert_eq!(found, want);
    }

    #[test]
    fn the_servers_routes_include_the_known_writes() {
        let routes = declared(&["wiki", "plugin"]).expect("the sources are readable");
        let writes = state_changing(&routes);
        for (method, path) in [
            ("POST", "/api/rooms/{room}/messages"),
            ("PATCH", "/api/rooms/{room}/messages/{seq}"),
            ("PUT", "/api/pages/{*path}"),
            ("POST", "/login"),
        ] {
            assert!(
                writes.contains(&(method.to_owned(), path.to_owned())),
                "{method} {path} not found in {writes:?}"
            );
        }
        assert!(routes.contains(&("GET".to_owned(), "/api/ws".to_owned())));
    }
}

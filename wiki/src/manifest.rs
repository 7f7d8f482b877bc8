//! The plugin manifest (`manifest.json` at the workspace root, modelled on an
//! Atlassian Connect descriptor), parsed into typed structs and checked.
//!
//! The wiki compiles the manifest in and registers one macro per
//! `modules.dynamicContentMacros[]` entry; a manifest that does not parse or
//! does not make sense stops the server at start with a message that names
//! the offending field.

use anyhow::{bail, Context as _};
use serde::Deserialize;
use std::collections::HashSet;

/// The manifest shipped with this build.
pub const BUNDLED: &str = include_str!("../../manifest.json");

/// A translatable string: `{"value": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct I18n {
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Unique plugin key, e.g. `backchannel`.
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Where the plugin is served from; the wiki calls it in-process, so this
    /// matters only to external hosts.
    pub base_url: String,
    pub authentication: Authentication,
    pub lifecycle: Lifecycle,
    #[serde(default)]
    pub scopes: Vec<String>,
    pub modules: Modules,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Authentication {
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Lifecycle {
    pub installed: String,
    #[serde(default)]
    pub uninstalled: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Modules {
    pub dynamic_content_macros: Vec<MacroModule>,
    #[serde(default)]
    pub general_pages: Vec<GeneralPage>,
}

/// A macro editors can put on a page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MacroModule {
    /// What editors type: `{key:...}`.
    pub key: String,
    pub name: I18n,
    #[serde(default)]
    pub description: Option<I18n>,
    /// Path template; `{page.id}` and `{param}` placeholders are filled in.
    pub url: String,
    pub output_type: OutputType,
    #[serde(default)]
    pub body_type: Option<String>,
    pub parameters: Vec<MacroParameter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputType {
    /// Replaces a whole paragraph when it stands alone on one.
    Block,
    /// Flows within a line of text.
    Inline,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MacroParameter {
    pub identifier: String,
    pub name: I18n,
    #[serde(default)]
    pub description: Option<I18n>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GeneralPage {
    pub key: String,
    pub name: I18n,
    pub url: String,
    #[serde(default)]
    pub location: Option<String>,
}

/// Context placeholders a macro URL may use besides its own parameters.
pub const CONTEXT_PLACEHOLDERS: &[&str] = &["page.id"];

impl Manifest {
    /// Parses and checks a manifest.
    pub fn parse(json: &str) -> anyhow::Result<Manifest> {
        let manifest: Manifest =
            serde_json::from_str(json).context("manifest.json is not a valid plugin manifest")?;
        manifest
            .validate()
            .context("manifest.json is inconsistent")?;
        Ok(manifest)
    }

    /// The manifest compiled into this binary.
    pub fn bundled() -> anyhow::Result<Manifest> {
        Manifest::parse(BUNDLED)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.key.trim().is_empty() {
            bail!("key: must not be empty");
        }
        let mut keys = HashSet::new();
        for (i, module) in self.modules.dynamic_content_macros.iter().enumerate() {
            let at = format!("modules.dynamicContentMacros[{i}]");
            if !is_macro_key(&module.key) {
                bail!(
                    "{at}.key: {:?} must start with a letter and hold only letters, digits, '-' or '_'",
                    module.key
                );
            }
            if !keys.insert(module.key.to_ascii_lowercase()) {
                bail!("{at}.key: {:?} is declared twice", module.key);
            }
            if !module.url.starts_with('/') {
                bail!(
                    "{at}.url: {:?} must be a path starting with '/'",
                    module.url
                );
            }
            let mut identifiers = HashSet::new();
            for (j, param) in module.parameters.iter().enumerate() {
                if param.identifier.is_empty() || param.identifier.contains(['{', '}', '|', '=']) {
                    bail!(
                        "{at}.parameters[{j}].identifier: {:?} is not a usable name",
                        param.identifier
                    );
                }
                if !identifiers.insert(param.identifier.as_str()) {
                    bail!(
                        "{at}.parameters[{j}].identifier: {:?} is declared twice",
                        param.identifier
                    );
                }
            }
            for placeholder in placeholders(&module.url)? {
                if !CONTEXT_PLACEHOLDERS.contains(&placeholder)
                    && !identifiers.contains(placeholder)
                {
                    bail!("{at}.url: placeholder {{{placeholder}}} is neither a parameter nor one of {CONTEXT_PLACEHOLDERS:?}");
                }
            }
        }
        Ok(())
    }
}

/// Whether `key` is a valid macro key (what follows `{` in page markdown).
pub fn is_macro_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The `{name}` placeholders in a URL template.
pub fn placeholders(template: &str) -> anyhow::Result<Vec<&str>> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .with_context(|| format!("unclosed '{{' in {template:?}"))?;
        found.push(&after[..close]);
        rest = &after[close + 1..];
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_manifest_parses() {
        let manifest = Manifest::bundled().unwrap();
        assert_eq!(manifest.key, "backchannel");
        let chat = &manifest.modules.dynamic_content_macros[0];
        assert_eq!(chat.key, "chat");
        assert_eq!(chat.url, "/macro/chat?page={page.id}&room={room}");
        assert_eq!(chat.parameters[0].identifier, "room");
        assert!(chat.parameters[0].required);
    }

    #[test]
    fn broken_manifests_are_rejected_clearly() {
        let err = Manifest::parse("{ not json").unwrap_err();
        assert!(
            format!("{err:#}").contains("not a valid plugin manifest"),
            "{err:#}"
        );

        let missing_modules = r#"{"key":"x","name":"x","baseUrl":"/","authentication":{"type":"jwt"},"lifecycle":{"installed":"/i"}}"#;
        let err = Manifest::parse(missing_modules).unwrap_err();
        assert!(format!("{err:#}").contains("modules"), "{err:#}");

        let bad_placeholder = BUNDLED.replace("room={room}", "room={rooom}");
        let err = Manifest::parse(&bad_placeholder).unwrap_err();
        assert!(format!("{err:#}").contains("{rooom}"), "{err:#}");

        let bad_key = BUNDLED.replace("\"key\": \"chat\"", "\"key\": \"chat room\"");
        let err = Manifest::parse(&bad_key).unwrap_err();
        assert!(
            format!("{err:#}").contains("dynamicContentMacros[0].key"),
            "{err:#}"
        );
    }
}

//! Typing a command: while the input holds `/name` and nothing after it, a
//! hint under the input lists the commands that start so (those the server
//! said this reader may use, `body[data-commands]`), and Tab completes the
//! name when only one matches. Arguments that name people (`/invite @ca`)
//! complete like any `@` mention.

use super::{Effect, Model};

/// The commands starting with the `/name` being typed, if `text` is one
/// (a leading `/`, then letters only so far).
pub fn command_matches<'a>(text: &str, commands: &'a [String]) -> Option<Vec<&'a str>> {
    let typed = text.strip_prefix('/')?;
    if !typed.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let typed = typed.to_ascii_lowercase();
    Some(
        commands
            .iter()
            .map(String::as_str)
            .filter(|name| name.starts_with(&typed))
            .collect(),
    )
}

impl Model {
    /// Shows (or hides) the hint for `text`.
    pub(super) fn hint_commands(&mut self, text: &str, fx: &mut Vec<Effect>) {
        let hint = match command_matches(text, &self.commands) {
            Some(names) if names.is_empty() => "No such command: /help lists them.".to_owned(),
            Some(names) => names
                .iter()
                .map(|name| format!("/{name}"))
                .collect::<Vec<_>>()
                .join("  "),
            None => String::new(),
        };
        fx.push(Effect::ShowCommandHint(hint));
    }

    /// Completes the `/name` being typed when exactly one command matches.
    pub(super) fn complete_command(&mut self, fx: &mut Vec<Effect>) {
        let draft = self.draft.clone();
        if let Some([only]) = command_matches(&draft, &self.commands).as_deref() {
            let text = format!("/{only} ");
            self.draft = text.clone();
            fx.push(Effect::SetInput {
                caret: text.len(),
                text,
            });
            fx.push(Effect::ShowCommandHint(String::new()));
        }
    }

    /// Whether Tab should complete a command (a `/name` is being typed).
    pub fn typing_command(&self) -> bool {
        command_matches(&self.draft, &self.commands).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::connected;
    use super::super::{update, Effect, Msg};
    use super::*;

    #[test]
    fn a_slash_name_is_hinted_and_tab_completes_a_single_match() {
        let names: Vec<String> = ["me", "topic", "help"].map(String::from).to_vec();
        assert_eq!(command_matches("/t", &names), Some(vec!["topic"]));
        assert_eq!(
            command_matches("/", &names),
            Some(vec!["me", "topic", "help"])
        );
        assert_eq!(command_matches("/topic x", &names), None);
        assert_eq!(command_matches("hi /t", &names), None);

        let mut m = connected(0);
        let fx = update(&mut m, Msg::DraftChanged("/to".into()));
        assert!(
            fx.contains(&Effect::ShowCommandHint("/topic".into())),
            "{fx:?}"
        );
        assert!(m.typing_command());
        let fx = update(&mut m, Msg::CompleteCommand);
        assert!(fx.contains(&Effect::SetInput {
            text: "/topic ".into(),
            caret: 7
        }));
        let fx = update(&mut m, Msg::DraftChanged("/zz".into()));
        assert!(fx.contains(&Effect::ShowCommandHint(
            "No such command: /help lists them.".into()
        )));
        let fx = update(&mut m, Msg::DraftChanged("hello".into()));
        assert!(fx.contains(&Effect::ShowCommandHint(String::new())));
    }

    #[test]
    fn typing_a_command_tells_nobody() {
        let mut m = connected(0);
        let fx = update(&mut m, Msg::DraftChanged("/topic new".into()));
        assert!(
            !fx.iter()
                .any(|e| matches!(e, Effect::Send(protocol::ClientFrame::Typing { .. }))),
            "{fx:?}"
        );
    }
}

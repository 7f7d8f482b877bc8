//! The authorization matrix's vocabulary: who asks ([`Role`]), when
//! ([`Phase`]), what a read path needs ([`Need`]), the answer a probe got
//! ([`Answer`]), how a cell is judged ([`judge`]) and the table of every
//! failed cell ([`Failures`]), printed once at the end so one run shows
//! every hole instead of the first.
//!
//! A cell is judged by what the role may do in that phase:
//! - allowed: the answer must show the protected thing (`granted`);
//! - refused, but the role may see the room (a reader asking to post): any
//!   4xx-style refusal will do;
//! - refused and the role may not see the room at all: the answer must not
//!   show the thing *and* must look exactly like the answer for a target
//!   that does not exist (status, `Location`, and the body with the
//!   targets' names replaced by placeholders). A hidden page answers like a
//!   missing one, so existence never leaks.

use std::fmt::{self, Write as _};

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// No session at all.
    Anonymous,
    /// Signed in, not named by the page's rules.
    Outsider,
    /// May view the page (so read its room).
    Reader,
    /// May view and edit the page (so post in its room).
    Editor,
    /// A site administrator (admin access to every page).
    Admin,
}

impl Role {
    /// Every role, in table order.
    pub const ALL: [Role; 5] = [
        Role::Anonymous,
        Role::Outsider,
        Role::Reader,
        Role::Editor,
        Role::Admin,
    ];

    /// The account name, or `None` for the anonymous caller.
    pub fn user(self) -> Option<&'static str> {
        match self {
            Role::Anonymous => None,
            Role::Outsider => Some("outsider"),
            Role::Reader => Some("reader"),
            Role::Editor => Some("editor"),
            Role::Admin => Some("boss"),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Anonymous => "anonymous",
            Role::Outsider => "outsider",
            Role::Reader => "reader",
            Role::Editor => "editor",
            Role::Admin => "admin",
        })
    }
}

/// When the probe runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The page's rules as set up: readers view, editors edit.
    Before,
    /// After the page's rules were tightened: the reader lost the page, the
    /// editor kept view but lost edit, the admin kept everything.
    AclTightened,
    /// After each caller's own session was ended (`DELETE /api/session`);
    /// the caller keeps sending the dead token.
    SessionEnded,
    /// After each browser signed out (`POST /logout`); it keeps sending
    /// the dead cookie.
    SignedOut,
    /// After an admin reset each caller's password (`backchannel user
    /// passwd`), which ends their browser sessions. Last: the accounts'
    /// passwords change.
    PasswordChanged,
}

impl Phase {
    /// Every phase, in the order the suite runs them.
    pub const ALL: [Phase; 5] = [
        Phase::Before,
        Phase::AclTightened,
        Phase::SessionEnded,
        Phase::SignedOut,
        Phase::PasswordChanged,
    ];

    /// Whether the phase ends the callers' sessions.
    pub fn ends_sessions(self) -> bool {
        matches!(
            self,
            Phase::SessionEnded | Phase::SignedOut | Phase::PasswordChanged
        )
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Before => "before",
            Phase::AclTightened => "acl-tightened",
            Phase::SessionEnded => "session-ended",
            Phase::SignedOut => "signed-out",
            Phase::PasswordChanged => "password-changed",
        })
    }
}

/// What a role may do on the page (and so in its room) in a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    None,
    View,
    Edit,
    /// Administer the page (and so manage its room's members).
    Admin,
}

/// What a read path needs to answer with the protected thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// View the page: read its room, history, files, transcripts.
    View,
    /// Edit the page: post, type, or open its edit forms.
    Edit,
    /// Administer the page, or moderate its room: see who is invited.
    Admin,
    /// Be signed in (paths about the caller, not a page: their rooms, the
    /// directory, the person picker).
    SignedIn,
    /// Be the reader the fixture invited, while they may view the page
    /// (their invitations and notifications).
    Invitee,
    /// The invitee as above, or an admin (who manages the room's members).
    InviteeOrAdmin,
    /// Nobody, whatever their rights (e.g. a page's revision shown under
    /// another page's path).
    Never,
    /// Everybody, signed in or not (people's public profiles).
    Anyone,
}

/// The access `role` has in `phase`: the fixture's rules, written once.
pub fn access(role: Role, phase: Phase) -> Access {
    if phase.ends_sessions() {
        return Access::None;
    }
    match (phase, role) {
        (_, Role::Anonymous | Role::Outsider) => Access::None,
        (Phase::AclTightened, Role::Reader) => Access::None,
        (Phase::AclTightened, Role::Editor) => Access::View,
        (_, Role::Reader) => Access::View,
        (_, Role::Editor) => Access::Edit,
        (_, Role::Admin) => Access::Admin,
    }
}

/// What the cell should see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The protected thing.
    Allowed,
    /// A refusal; the role may see the room, so the refusal may say why.
    Refused,
    /// A refusal indistinguishable from the answer for a missing target.
    Hidden,
}

impl Expect {
    /// The expectation for a path needing `need` asked by `role` in `phase`.
    pub fn of(need: Need, role: Role, phase: Phase) -> Self {
        let have = access(role, phase);
        let signed_in = role != Role::Anonymous && !phase.ends_sessions();
        let invitee = role == Role::Reader && have >= Access::View;
        let judged = |allowed: bool| match (allowed, signed_in) {
            (true, _) => Expect::Allowed,
            (false, true) => Expect::Hidden,
            (false, false) => Expect::Refused,
        };
        let want = match need {
            Need::SignedIn => return judged(signed_in),
            Need::Invitee => return judged(invitee),
            Need::InviteeOrAdmin => return judged(invitee || have >= Access::Admin),
            Need::View => Access::View,
            Need::Edit => Access::Edit,
            Need::Admin => Access::Admin,
            Need::Never => return Expect::Refused,
            Need::Anyone => return Expect::Allowed,
        };
        if have >= want {
            Expect::Allowed
        } else if have == Access::None {
            Expect::Hidden
        } else {
            Expect::Refused
        }
    }
}

/// One answer, from HTTP or a WebSocket frame, as the judge compares it.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// The HTTP status; 0 for a WebSocket frame or a stream event.
    pub status: u16,
    /// The `Location` header, if any (redirects to the sign-in page).
    pub location: Option<String>,
    /// The body, or the frame's JSON.
    pub body: String,
    /// Any `access-control-*` headers: none may ever be sent.
    pub cors: Vec<String>,
}

impl Answer {
    /// A 2xx status.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body mentions `text`.
    pub fn has(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// Status, location and body with every `(value, placeholder)` of
    /// `names` replaced, so a real target and a missing one compare equal
    /// when they answer alike. `names` should list longer values first.
    pub fn shape(&self, names: &[(String, &'static str)]) -> String {
        let mut text = format!(
            "{} {}\n{}",
            self.status,
            self.location.as_deref().unwrap_or("-"),
            self.body
        );
        for (value, placeholder) in names {
            if !value.is_empty() {
                text = text.replace(value.as_str(), placeholder);
            }
        }
        text
    }

    /// A short description for the failure table.
    pub fn brief(&self) -> String {
        let body: String = self.body.chars().take(90).collect();
        let body = body.replace(['\n', '\r'], " ");
        match self.status {
            0 => body,
            status => format!("{status} {body}"),
        }
    }
}

/// Values an answer may hold, each with the placeholder it becomes before
/// two answers are compared ([`Answer::shape`]).
pub type Names = [(String, &'static str)];

/// The answer for a target that does not exist, to compare a refusal with.
#[derive(Debug, Clone, Copy)]
pub struct Twin<'a> {
    pub answer: &'a Answer,
    /// The real target's names, for the real answer.
    pub real_names: &'a Names,
    /// The missing target's names, for this answer.
    pub missing_names: &'a Names,
}

/// Judges one cell. `granted` says whether `real` shows the protected thing;
/// `missing` is the same probe against a target that does not exist.
pub fn judge(
    expect: Expect,
    real: &Answer,
    granted: bool,
    missing: Option<Twin<'_>>,
) -> Result<(), String> {
    if !real.cors.is_empty() {
        return Err(format!("CORS headers sent: {:?}", real.cors));
    }
    match expect {
        Expect::Allowed if granted => Ok(()),
        Expect::Allowed => Err(format!("refused, want allowed: {}", real.brief())),
        _ if granted => Err(format!("ALLOWED, want refused: {}", real.brief())),
        _ if real.status >= 500 => Err(format!("server error: {}", real.brief())),
        Expect::Refused => Ok(()),
        Expect::Hidden => {
            let Some(twin) = missing else {
                return Ok(());
            };
            let (a, b) = (
                real.shape(twin.real_names),
                twin.answer.shape(twin.missing_names),
            );
            if a == b {
                Ok(())
            } else {
                Err(format!(
                    "answers unlike a missing target: {}",
                    first_difference(&a, &b)
                ))
            }
        }
    }
}

/// Where two shapes part: a little of each from the first differing byte.
fn first_difference(real: &str, missing: &str) -> String {
    let at = real
        .char_indices()
        .zip(missing.chars())
        .find(|((_, a), b)| a != b)
        .map_or(real.len().min(missing.len()), |((at, _), _)| at);
    let start = real[..at]
        .char_indices()
        .rev()
        .nth(20)
        .map_or(0, |(start, _)| start);
    let excerpt = |text: &str| -> String {
        text.get(start..)
            .unwrap_or_default()
            .chars()
            .take(70)
            .collect::<String>()
            .replace(['\n', '\r'], " ")
    };
    format!("{:?} vs missing {:?}", excerpt(real), excerpt(missing))
}

/// One failed cell.
#[derive(Debug, Clone)]
pub struct Failure {
    pub path: String,
    pub role: Role,
    pub phase: Phase,
    pub backend: &'static str,
    pub what: String,
}

/// Every failed cell of a run, and how many were checked.
#[derive(Debug, Default)]
pub struct Failures {
    failed: Vec<Failure>,
    checked: usize,
}

impl Failures {
    /// Records a judged cell.
    pub fn record(
        &mut self,
        path: &str,
        role: Role,
        phase: Phase,
        backend: &'static str,
        verdict: Result<(), String>,
    ) {
        self.checked += 1;
        if let Err(what) = verdict {
            self.failed.push(Failure {
                path: path.to_owned(),
                role,
                phase,
                backend,
                what,
            });
        }
    }

    /// Cells judged so far.
    pub fn checked(&self) -> usize {
        self.checked
    }

    /// The failures so far.
    pub fn failed(&self) -> &[Failure] {
        &self.failed
    }

    /// The table of failures, aligned, one line each.
    pub fn table(&self) -> String {
        let width = |f: fn(&Failure) -> usize, title: &str| {
            self.failed
                .iter()
                .map(f)
                .max()
                .unwrap_or(0)
                .max(title.len())
        };
        let path_w = width(|f| f.path.len(), "path");
        let role_w = width(|f| f.role.to_string().len(), "role");
        let phase_w = width(|f| f.phase.to_string().len(), "phase");
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:path_w$}  {:role_w$}  {:phase_w$}  {:8}  what",
            "path", "role", "phase", "backend"
        );
        for f in &self.failed {
            let _ = writeln!(
                out,
                "{:path_w$}  {:role_w$}  {:phase_w$}  {:8}  {}",
                f.path,
                f.role.to_string(),
                f.phase.to_string(),
                f.backend,
                f.what
            );
        }
        out
    }

    /// Panics with the table if any cell failed.
    pub fn finish(self, suite: &str) {
        if !self.failed.is_empty() {
            panic!(
                "{suite}: {} of {} cells failed:\n{}",
                self.failed.len(),
                self.checked,
                self.table()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_rules_give_each_role_its_access() {
        use Role::*;
        let row = |phase| Role::ALL.map(|role| access(role, phase));
        assert_eq!(
            row(Phase::Before),
            [
                Access::None,
                Access::None,
                Access::View,
                Access::Edit,
                Access::Admin
            ]
        );
        assert_eq!(access(Reader, Phase::AclTightened), Access::None);
        assert_eq!(access(Admin, Phase::AclTightened), Access::Admin);
        assert_eq!(
            Expect::of(Need::Admin, Editor, Phase::Before),
            Expect::Refused
        );
        assert_eq!(access(Editor, Phase::AclTightened), Access::View);
        assert_eq!(access(Admin, Phase::SessionEnded), Access::None);
        assert_eq!(
            Expect::of(Need::Edit, Reader, Phase::Before),
            Expect::Refused
        );
        assert_eq!(
            Expect::of(Need::View, Outsider, Phase::Before),
            Expect::Hidden
        );
    }

    #[test]
    fn a_hidden_target_must_answer_like_a_missing_one() {
        let real = Answer {
            status: 404,
            location: None,
            body: "no page Vault".into(),
            cors: Vec::new(),
        };
        let missing = Answer {
            status: 404,
            location: None,
            body: "no page Gone".into(),
            cors: Vec::new(),
        };
        let real_names = [("Vault".to_owned(), "{page}")];
        let missing_names = [("Gone".to_owned(), "{page}")];
        let compare = Some(Twin {
            answer: &missing,
            real_names: &real_names,
            missing_names: &missing_names,
        });
        assert!(judge(Expect::Hidden, &real, false, compare).is_ok());
        let other = Answer {
            status: 403,
            ..real.clone()
        };
        assert!(judge(Expect::Hidden, &other, false, compare).is_err());
        assert!(judge(Expect::Hidden, &real, true, compare).is_err());
        assert!(judge(Expect::Allowed, &real, false, None).is_err());
    }

    #[test]
    fn the_table_lists_every_failure() {
        let mut failures = Failures::default();
        failures.record("a", Role::Reader, Phase::Before, "sqlite", Ok(()));
        failures.record(
            "b",
            Role::Admin,
            Phase::SessionEnded,
            "postgres",
            Err("x".into()),
        );
        assert_eq!(failures.checked(), 2);
        let table = failures.table();
        assert!(table.contains("session-ended"), "{table}");
        assert_eq!(table.lines().count(), 2, "{table}");
    }
}

//! Room commands (seed 001: "customized commands, like in IRC"): one table
//! that every front end reads (`POST /api/rooms/{id}/commands`, the popup,
//! the no-JavaScript form; later XMPP and e-mail), each command run through
//! the same operation, with the same rights check, as its button.
//!
//! Syntax: a message that starts with `/` and a letter is a command; `//`
//! at the start posts the rest as text (`//etc/hosts` posts `/etc/hosts`).
//! An unknown command is an error and is never posted. `/me` is the one
//! command that posts: the message keeps its `/me ` prefix, which every
//! renderer shows as an action line ("* Alice waves").

use crate::chat::{self, Authorized, Draft};
use crate::error::AppError;
use crate::host::{Access, Caller};
use crate::invitations::{self, InviteDraft};
use crate::members::{self, SettingsDraft};
use crate::state::AppState;
use protocol::{ErrorCode, Message, Presence, RoomId};

/// What a command needs of its caller in the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Read the room.
    Read,
    /// Post in it.
    Post,
    /// Invite people into it.
    Invite,
    /// Change its settings (an owner; a page room's admin).
    Settings,
    /// Remove members (a moderator or owner; a page room's admin).
    Manage,
    /// Be a member.
    Member,
}

/// One command of the table.
pub struct Command {
    pub name: &'static str,
    /// Its arguments, as `/help` shows them.
    pub usage: &'static str,
    pub help: &'static str,
    need: Need,
}

/// Every command, in the order `/help` lists them.
pub const COMMANDS: &[Command] = &[
    Command {
        name: "me",
        usage: "ACTION",
        help: "say what you are doing, as an action line (\"* Alice waves\")",
        need: Need::Post,
    },
    Command {
        name: "topic",
        usage: "TEXT",
        help: "set the room's topic (empty: none)",
        need: Need::Settings,
    },
    Command {
        name: "invite",
        usage: "@PERSON [COMMENT]",
        help: "invite someone into the room",
        need: Need::Invite,
    },
    Command {
        name: "call",
        usage: "@PERSON",
        help: "ask someone into the room now",
        need: Need::Post,
    },
    Command {
        name: "kick",
        usage: "@PERSON",
        help: "remove a member from the room",
        need: Need::Manage,
    },
    Command {
        name: "leave",
        usage: "",
        help: "leave the room",
        need: Need::Member,
    },
    Command {
        name: "away",
        usage: "",
        help: "show yourself as away here",
        need: Need::Read,
    },
    Command {
        name: "back",
        usage: "",
        help: "show yourself as here again",
        need: Need::Read,
    },
    Command {
        name: "help",
        usage: "",
        help: "list the commands you may use here",
        need: Need::Read,
    },
];

/// What a message's text is.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// Text to post (a `//` escape already undone).
    Text(&'a str),
    /// `/name args`: the name in lower case, the arguments trimmed.
    Command { name: String, args: &'a str },
}

/// Reads `body` as a command or as text.
pub fn parse(body: &str) -> Parsed<'_> {
    let trimmed = body.trim_start();
    if trimmed.starts_with("//") {
        return Parsed::Text(&trimmed[1..]);
    }
    let Some(rest) = trimmed.strip_prefix('/') else {
        return Parsed::Text(body);
    };
    if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Parsed::Text(body);
    }
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    Parsed::Command {
        name: rest[..end].to_ascii_lowercase(),
        args: rest[end..].trim(),
    }
}

/// Refuses a command sent as a plain message (to the messages API or over
/// a WebSocket): it is run through [`run`], never posted as text.
pub fn refuse(room: &RoomId, body: &str) -> Result<(), AppError> {
    match parse(body) {
        Parsed::Text(_) => Ok(()),
        Parsed::Command { name, .. } => Err(AppError::new(
            ErrorCode::BadRequest,
            format!(
                "/{name} is a command: send it to POST /api/rooms/{room}/commands \
                 (start with // to post text that begins with /)"
            ),
        )),
    }
}

/// What running a command did.
#[derive(Debug)]
pub enum Outcome {
    /// A message was posted (text, or `/me`).
    Posted(Box<Message>),
    /// Nothing was posted; this is for the caller's eyes only.
    Said(String),
}

/// Runs `draft`'s text: a command, or else a post.
pub async fn run(
    state: &AppState,
    caller: Option<&Caller>,
    room: &RoomId,
    draft: Draft,
) -> Result<Outcome, AppError> {
    let (name, args) = match parse(&draft.body) {
        Parsed::Text(text) => {
            let draft = Draft {
                body: text.to_owned(),
                ..draft
            };
            let message = chat::post(state, caller, room, draft).await?;
            return Ok(Outcome::Posted(Box::new(message)));
        }
        Parsed::Command { name, args } => (name, args.to_owned()),
    };
    let me = caller.ok_or_else(AppError::unauthenticated)?;
    let Some(command) = COMMANDS.iter().find(|c| c.name == name) else {
        return Err(AppError::new(
            ErrorCode::BadRequest,
            format!("there is no /{name} command; /help lists the ones you may use here"),
        ));
    };
    let authorized = chat::authorize(state, Some(me), room).await?;
    if !may(state, me, &authorized, command.need).await? {
        return Err(AppError::forbidden(format!(
            "you may not use /{name} in this room"
        )));
    }
    match command.name {
        "me" => {
            if args.is_empty() {
                return Err(usage(command));
            }
            let draft = Draft {
                body: format!("/me {args}"),
                ..draft
            };
            let message = chat::post(state, caller, room, draft).await?;
            Ok(Outcome::Posted(Box::new(message)))
        }
        "topic" => {
            let settings = SettingsDraft {
                topic: Some(args.clone()),
                ..SettingsDraft::default()
            };
            members::update_settings(state, caller, room, settings).await?;
            Ok(Outcome::Said(if args.is_empty() {
                "The topic is cleared.".into()
            } else {
                format!("The topic is now: {args}")
            }))
        }
        "invite" => {
            let (person, comment) = person_and_rest(state, command, &args).await?;
            let draft = InviteDraft {
                comment: comment.to_owned(),
                ttl_secs: None,
                starts_at: None,
            };
            invitations::invite(state, caller, room, &person.id, draft).await?;
            Ok(Outcome::Said(format!("{} is invited.", person.name)))
        }
        "call" => {
            let (person, _) = person_and_rest(state, command, &args).await?;
            crate::notifications::call(state, caller, room, &person.id).await?;
            Ok(Outcome::Said(format!("{} is called.", person.name)))
        }
        "kick" => {
            let (person, _) = person_and_rest(state, command, &args).await?;
            members::remove(state, caller, room, &person.id).await?;
            Ok(Outcome::Said(format!(
                "{} is removed from the room.",
                person.name
            )))
        }
        "leave" => {
            members::leave(state, caller, room).await?;
            Ok(Outcome::Said("You left the room.".into()))
        }
        "away" | "back" => {
            let status = if command.name == "away" {
                Presence::Away
            } else {
                Presence::Active
            };
            chat::set_presence(state, caller, room, Some(status)).await?;
            Ok(Outcome::Said(format!(
                "You are {} here.",
                if status == Presence::Away {
                    "away"
                } else {
                    "back"
                }
            )))
        }
        _ => Ok(Outcome::Said(help(state, me, room).await?)),
    }
}

/// The commands `caller` may use in `room`, in table order.
pub async fn allowed(
    state: &AppState,
    caller: &Caller,
    room: &RoomId,
) -> Result<Vec<&'static Command>, AppError> {
    // A room the caller may not read is its 404.
    let authorized = chat::authorize(state, Some(caller), room).await?;
    let mut allowed = Vec::new();
    for command in COMMANDS {
        if may(state, caller, &authorized, command.need).await? {
            allowed.push(command);
        }
    }
    Ok(allowed)
}

/// The commands `caller` may use in `room`, one per line.
pub async fn help(state: &AppState, caller: &Caller, room: &RoomId) -> Result<String, AppError> {
    let mut lines = vec!["Commands you may use here:".to_owned()];
    for command in allowed(state, caller, room).await? {
        let usage = if command.usage.is_empty() {
            format!("/{}", command.name)
        } else {
            format!("/{} {}", command.name, command.usage)
        };
        lines.push(format!("{usage} — {}", command.help));
    }
    lines.push("Start with // to post text that begins with /.".into());
    Ok(lines.join("\n"))
}

/// Whether `caller`, authorized in a room as `authorized`, has what
/// `need` asks there.
async fn may(
    state: &AppState,
    caller: &Caller,
    authorized: &Authorized,
    need: Need,
) -> Result<bool, AppError> {
    Ok(match need {
        Need::Read => true,
        Need::Post => authorized.access >= Access::Write,
        Need::Invite => invitations::may_invite(state, caller, authorized).await?,
        Need::Settings => members::owns(state, caller, &authorized.room).await?,
        Need::Manage => {
            authorized.access >= Access::Admin
                || members::may_manage(state, caller, authorized).await?
        }
        Need::Member => state
            .store
            .member(&authorized.room.id, &caller.id)
            .await?
            .is_some(),
    })
}

/// The person a command names first (`@name` or a name only one person's
/// starts with), and the rest of its arguments.
async fn person_and_rest<'a>(
    state: &AppState,
    command: &Command,
    args: &'a str,
) -> Result<(protocol::Profile, &'a str), AppError> {
    let (first, rest) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
    if first.is_empty() {
        return Err(usage(command));
    }
    let person = crate::nojs::person(state, first).await?;
    Ok((person, rest.trim()))
}

fn usage(command: &Command) -> AppError {
    AppError::new(
        ErrorCode::InvalidInput,
        format!("usage: /{} {}", command.name, command.usage),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_escapes_and_text_are_told_apart() {
        let command = |name: &str, args| Parsed::Command {
            name: name.into(),
            args,
        };
        assert_eq!(parse("/me waves"), command("me", "waves"));
        assert_eq!(parse("  /TOPIC  Plans  "), command("topic", "Plans"));
        assert_eq!(parse("/help"), command("help", ""));
        assert_eq!(parse("//etc/hosts"), Parsed::Text("/etc/hosts"));
        assert_eq!(parse("/ not a command"), Parsed::Text("/ not a command"));
        assert_eq!(parse("/1 two"), Parsed::Text("/1 two"));
        assert_eq!(parse("a /kick b"), Parsed::Text("a /kick b"));
    }

    #[test]
    fn every_command_has_a_unique_name_and_help() {
        for (i, command) in COMMANDS.iter().enumerate() {
            assert!(!command.help.is_empty(), "/{}", command.name);
            assert!(
                COMMANDS[i + 1..].iter().all(|c| c.name != command.name),
                "/{} twice",
                command.name
            );
        }
    }
}

//! The `backchannel` command line: `serve`, `user add|passwd`,
//! `transcripts rebuild` and `chat prune`.
//!
//! Every subcommand takes `--data` (or `BACKCHANNEL_DATA`) so they all act
//! on the same install.

use crate::install::Install;
use crate::users;
use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand};
use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Backchannel: a wiki with real-time, persistent chat rooms inside its pages.
#[derive(Debug, Parser)]
#[command(name = "backchannel", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the wiki and chat server. The first start creates the `admin`
    /// account (its password is printed once) and the Welcome page.
    Serve {
        /// Address and port to listen on.
        #[arg(long, env = "BACKCHANNEL_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        backends: Backends,
    },
    /// Regenerate transcript pages from the chat history (idempotent:
    /// unchanged days write nothing).
    Transcripts {
        #[command(subcommand)]
        command: TranscriptCommand,
    },
    /// Chat history maintenance.
    Chat {
        #[command(subcommand)]
        command: ChatCommand,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. Without --password-stdin a random password is
    /// generated and printed once.
    #[command(
        after_help = "Example: echo 'a long password' | backchannel user add alice --password-stdin --data ./data"
    )]
    Add {
        /// The user name: letters, digits, '-', '_' or '.'.
        name: String,
        /// Make the account an administrator (admin rights on every page).
        #[arg(long)]
        admin: bool,
        /// Add the user to this group (created if missing); repeatable.
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Set a user's password and sign out their browser sessions. Without
    /// --password-stdin a random password is generated and printed once.
    Passwd {
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Debug, Subcommand)]
pub enum TranscriptCommand {
    /// Re-publish every day with activity as a transcript page.
    #[command(
        after_help = "Example: backchannel transcripts rebuild --since 2026-11-01 --data ./data"
    )]
    Rebuild {
        /// Only this room (its id, as in /rooms/ID); default: every room.
        #[arg(long, value_name = "ROOM_ID")]
        room: Option<String>,
        /// Only days from this date on (YYYY-MM-DD, in each page's zone).
        #[arg(long, value_name = "DATE")]
        since: Option<chrono::NaiveDate>,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        backends: Backends,
    },
}

#[derive(Debug, Subcommand)]
pub enum ChatCommand {
    /// Delete chat messages older than a number of days (each room keeps its
    /// newest message). Transcript pages are never deleted. Clients whose
    /// cursor falls before what is left get a `reset`.
    Prune {
        /// Delete messages created more than this many days ago.
        #[arg(long, value_name = "DAYS")]
        older_than_days: u32,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        backends: Backends,
    },
}

/// Where the chat lives when one machine is not enough (default: SQLite in
/// the data directory and an in-process bus).
#[derive(Debug, Clone, Args)]
pub struct Backends {
    /// PostgreSQL for chat storage, e.g. postgres://user@db/backchannel.
    #[arg(long, env = "BACKCHANNEL_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// NATS for fan-out between nodes, e.g. nats://127.0.0.1:4222.
    #[arg(long, env = "BACKCHANNEL_NATS_URL", value_name = "URL")]
    pub nats_url: Option<String>,
    /// This node's name on the bus (default: the host name).
    #[arg(long, env = "BACKCHANNEL_NODE_ID", value_name = "NAME")]
    pub node_id: Option<String>,
}

/// The `--data` option every subcommand shares.
#[derive(Debug, Args)]
pub struct DataDir {
    /// Data directory: wiki.db, chat.db and uploaded files.
    #[arg(
        long = "data",
        value_name = "DIR",
        env = "BACKCHANNEL_DATA",
        default_value = "./data"
    )]
    pub path: PathBuf,
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            data,
            backends,
        } => {
            crate::server::run(crate::server::Options {
                listen,
                data: data.path,
                backends,
            })
            .await
        }
        Command::Transcripts {
            command:
                TranscriptCommand::Rebuild {
                    room,
                    since,
                    data,
                    backends,
                },
        } => crate::maintenance::rebuild_transcripts(&data.path, &backends, room, since).await,
        Command::Chat {
            command:
                ChatCommand::Prune {
                    older_than_days,
                    data,
                    backends,
                },
        } => crate::maintenance::prune(&data.path, &backends, older_than_days).await,
        Command::User { command } => tokio::task::spawn_blocking(move || user(command))
            .await
            .context("the user command panicked")?,
    }
}

fn user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            name,
            admin,
            groups,
            password_stdin,
            data,
        } => {
            let (password, generated) = password(password_stdin)?;
            let db = Install::at(&data.path)?.wiki_db()?;
            db.call_blocking(|conn| {
                let tx = conn.transaction()?;
                users::create(&tx, &name, &password, admin)?;
                for group in &groups {
                    users::add_to_group(&tx, &name, group)?;
                }
                tx.commit()?;
                Ok(())
            })?;
            let role = if admin { "admin account" } else { "account" };
            println!("created {role} {name}");
            if generated {
                println!("password for {name}: {password} (shown once)");
            }
        }
        UserCommand::Passwd {
            name,
            password_stdin,
            data,
        } => {
            let (password, generated) = password(password_stdin)?;
            let db = Install::at(&data.path)?.wiki_db()?;
            db.call_blocking(|conn| users::set_password(conn, &name, &password))?;
            println!("changed the password of {name}");
            if generated {
                println!("new password for {name}: {password} (shown once)");
            }
        }
    }
    Ok(())
}

/// The password to set and whether it was generated.
fn password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((users::generate_password(), true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("--password-stdin: standard input held no password");
    }
    Ok((password, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "backchannel",
            "user",
            "add",
            "alice",
            "--password-stdin",
            "--data",
            "/tmp/x",
        ])
        .unwrap();
        let Command::User {
            command:
                UserCommand::Add {
                    name,
                    password_stdin,
                    admin,
                    data,
                    ..
                },
        } = cli.command
        else {
            panic!("not user add");
        };
        assert_eq!(name, "alice");
        assert!(password_stdin && !admin);
        assert_eq!(data.path, PathBuf::from("/tmp/x"));
    }
}

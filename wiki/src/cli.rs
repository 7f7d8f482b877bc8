//! The `backchannel` command line: `serve`, `user add|passwd|token`,
//! `group add|member`, `page import`, `site readers`, `transcripts
//! rebuild`, `chat prune` and `migrate`.
//!
//! Commands that change accounts or groups bump the ACL epoch in the
//! database; a running server notices within a second and open chat streams
//! recheck access.
//!
//! Every subcommand takes `--data` (or `BACKCHANNEL_DATA`) so they all act
//! on the same install.

use crate::backends::Backends;
use crate::install::Install;
use crate::store::Store;
use crate::users;
use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand};
use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

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
        #[command(flatten)]
        edge: crate::edge::EdgeArgs,
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
    /// Manage groups (used in page permissions as group:NAME).
    Group {
        #[command(subcommand)]
        command: GroupCommand,
    },
    /// Page tools.
    Page {
        #[command(subcommand)]
        command: PageCommand,
    },
    /// Site-wide settings.
    Site {
        #[command(subcommand)]
        command: SiteCommand,
    },
    /// Copy a single-node install (SQLite) into PostgreSQL for
    /// `serve --database-url`.
    ///
    /// Copies every user, group, session, API token, page, revision,
    /// permission, room, message, edit, read mark and transcript, with ids
    /// and seqs unchanged, and verifies the row counts before each part
    /// commits. The target must be an empty database.
    #[command(after_help = MIGRATE_HELP)]
    Migrate {
        /// The install to copy: sqlite:DIR, DIR being its data directory
        /// (the one holding wiki.db and chat.db).
        #[arg(long, value_name = "sqlite:DIR")]
        from: String,
        /// The PostgreSQL database to fill, as later given to
        /// `serve --database-url`; it must hold no Backchannel data yet.
        #[arg(long, value_name = "postgres://URL")]
        to: String,
    },
}

/// `migrate --help`'s closing text: the steps around the command.
const MIGRATE_HELP: &str = "\
Uploaded files are not copied: they stay in DIR/files. Start every PostgreSQL
node with that same --data directory (or a shared copy of it, e.g. on NFS).
Stop the server first: the copy is a consistent snapshot, but whatever is
posted after it started is not in it.

Example:
  # stop `backchannel serve --data ./data`, then
  backchannel migrate --from sqlite:./data --to postgres://backchannel@db.internal/backchannel
  backchannel serve --data ./data --database-url postgres://backchannel@db.internal/backchannel
";

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Who may read pages that have no rules up their chain: `signed-in`
    /// (a fresh install's default) or `anonymous` (anyone: a public wiki).
    /// A running server applies it at its next restart.
    #[command(after_help = "Example: backchannel site readers anonymous --data ./data")]
    Readers {
        #[arg(value_parser = ["signed-in", "anonymous"])]
        who: String,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        database: Database,
    },
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group.
    Add {
        name: String,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        database: Database,
    },
    /// Add users to a group or remove them.
    Member {
        #[command(subcommand)]
        command: MemberCommand,
    },
    /// List groups and their members.
    List {
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        database: Database,
    },
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Add USER to GROUP (both must exist).
    Add {
        group: String,
        user: String,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        database: Database,
    },
    /// Remove USER from GROUP.
    Remove {
        group: String,
        user: String,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        database: Database,
    },
}

#[derive(Debug, Subcommand)]
pub enum PageCommand {
    /// Turn a folder of markdown files into a page tree: folders become
    /// parent pages, each file's name (without .md) its title. Re-running
    /// updates changed pages and leaves the rest alone.
    #[command(
        after_help = "Example: backchannel page import ./handbook --under Handbook --data ./data"
    )]
    Import {
        /// The folder to import.
        dir: PathBuf,
        /// Put the pages below this page path (default: top level).
        #[arg(long, value_name = "PATH")]
        under: Option<String>,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        database: Database,
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
        #[command(flatten)]
        database: Database,
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
        #[command(flatten)]
        database: Database,
    },
    /// Print a new API token for a user: use it as `Authorization: Bearer
    /// TOKEN`. It does not expire.
    Token {
        name: String,
        /// A note saying what the token is for.
        #[arg(long, default_value = "")]
        label: String,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        database: Database,
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

/// `--database-url` for the commands that only touch the wiki's tables
/// (the serving and chat commands take it as part of [`Backends`]).
#[derive(Debug, Clone, Args)]
pub struct Database {
    /// PostgreSQL holding the wiki's tables (as given to `serve`); default:
    /// wiki.db in the data directory.
    #[arg(long, env = "BACKCHANNEL_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
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
            edge,
        } => {
            crate::server::run(crate::server::Options {
                listen,
                data: data.path,
                backends,
                edge,
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
        Command::Migrate { from, to } => crate::migrate::run(&from, &to).await,
        Command::User { command } => user(command).await,
        Command::Group { command } => group(command).await,
        Command::Site {
            command:
                SiteCommand::Readers {
                    who,
                    data,
                    database,
                },
        } => {
            let store = open(&data, &database).await?;
            store
                .set_setting(crate::install::SITE_READERS_KEY, &who)
                .await?;
            println!("pages without rules of their own are now readable by: {who} (restart a running server)");
            Ok(())
        }
        Command::Page {
            command:
                PageCommand::Import {
                    dir,
                    under,
                    data,
                    database,
                },
        } => {
            crate::import::run(
                &data.path,
                database.database_url.as_deref(),
                &dir,
                under.as_deref(),
            )
            .await
        }
    }
}

/// The wiki store a command acts on.
async fn open(data: &DataDir, database: &Database) -> anyhow::Result<Arc<dyn Store>> {
    Install::at(&data.path)?
        .wiki_store(database.database_url.as_deref())
        .await
}

async fn group(command: GroupCommand) -> anyhow::Result<()> {
    match command {
        GroupCommand::Add {
            name,
            data,
            database,
        } => {
            users::create_group(open(&data, &database).await?.as_ref(), &name).await?;
            println!("created group {name}");
        }
        GroupCommand::Member {
            command:
                MemberCommand::Add {
                    group,
                    user,
                    data,
                    database,
                },
        } => {
            users::add_member(open(&data, &database).await?.as_ref(), &user, &group).await?;
            println!("added {user} to {group}");
        }
        GroupCommand::Member {
            command:
                MemberCommand::Remove {
                    group,
                    user,
                    data,
                    database,
                },
        } => {
            let store = open(&data, &database).await?;
            store.remove_from_group(&user, &group).await?;
            println!("removed {user} from {group}");
        }
        GroupCommand::List { data, database } => {
            let store = open(&data, &database).await?;
            for name in store.groups().await? {
                let members = store.members_of(&name).await?.unwrap_or_default();
                println!("{name}: {}", members.join(", "));
            }
        }
    }
    Ok(())
}

async fn user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            name,
            admin,
            groups,
            password_stdin,
            data,
            database,
        } => {
            let (password, generated) = password(password_stdin)?;
            let store = open(&data, &database).await?;
            users::create(store.as_ref(), &name, &password, admin, &groups).await?;
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
            database,
        } => {
            let (password, generated) = password(password_stdin)?;
            let store = open(&data, &database).await?;
            users::set_password(store.as_ref(), &name, &password).await?;
            println!("changed the password of {name}");
            if generated {
                println!("new password for {name}: {password} (shown once)");
            }
        }
        UserCommand::Token {
            name,
            label,
            data,
            database,
        } => {
            let store = open(&data, &database).await?;
            let user = store
                .user(&name)
                .await?
                .with_context(|| format!("no user {name:?}"))?;
            let token = crate::sessions::create(
                store.as_ref(),
                user.id,
                crate::sessions::Kind::Api,
                &label,
            )
            .await?;
            // Only the token on stdout, so scripts can capture it.
            println!("{token}");
            eprintln!("API token for {name} (shown once; use it as Authorization: Bearer TOKEN)");
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
        let cli = Cli::try_parse_from([
            "backchannel",
            "serve",
            "--public-url",
            "https://wiki.example.org",
            "--trusted-proxy",
            "127.0.0.1,10.0.0.0/8",
            "--trusted-proxy",
            "::1",
        ])
        .unwrap();
        let Command::Serve { edge, .. } = cli.command else {
            panic!("not serve");
        };
        assert_eq!(edge.public_url.as_deref(), Some("https://wiki.example.org"));
        assert_eq!(edge.trusted_proxies, ["127.0.0.1", "10.0.0.0/8", "::1"]);
        for args in [
            &["backchannel", "group", "add", "team", "--data", "/tmp/x"][..],
            &["backchannel", "group", "member", "add", "team", "alice"],
            &["backchannel", "group", "member", "remove", "team", "alice"],
            &["backchannel", "user", "token", "alice", "--label", "ci"],
            &["backchannel", "site", "readers", "anonymous"],
            &["backchannel", "page", "import", "./docs", "--under", "Docs"],
            &[
                "backchannel",
                "migrate",
                "--from",
                "sqlite:./data",
                "--to",
                "postgres://db/x",
            ],
        ] {
            Cli::try_parse_from(args).unwrap();
        }
    }
}

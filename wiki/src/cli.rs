//! The `backchannel` command line: `serve` and `user add|passwd`.
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
        Command::Serve { listen, data } => {
            crate::server::run(crate::server::Options {
                listen,
                data: data.path,
            })
            .await
        }
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

//! Account management from the command line:
//!
//! ```text
//! server user add --name NAME --role requester|manager   (password on stdin)
//! server user list
//! server user remove --name NAME
//! server token create --user NAME [--expires 90d]         (prints the token once)
//! server token list
//! server token revoke --id ID
//! ```

use std::io::BufRead;

use backend::accounts;
use backend::clock::{self, from_ms};
use backend::{Db, ServiceError};
use domain::Role;

pub const USAGE: &str = "usage:
  server [serve]                                   run the web server and workflow worker
  server user add --name NAME --role requester|manager   (reads the password from stdin)
  server user list
  server user remove --name NAME
  server token create --user NAME [--expires 90d]  (prints a new API token once)
  server token list
  server token revoke --id ID";

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}\n\n{USAGE}")]
    Usage(String),
    #[error("{0}")]
    Service(#[from] ServiceError),
    #[error("reading the password from stdin: {0}")]
    Stdin(std::io::Error),
}

/// What the command line asks for.
pub enum Command {
    Serve,
    Admin(Vec<String>),
}

pub fn parse(args: Vec<String>) -> Command {
    match args.first().map(String::as_str) {
        None | Some("serve") => Command::Serve,
        _ => Command::Admin(args),
    }
}

fn flag(args: &[String], name: &str) -> Result<String, CliError> {
    optional_flag(args, name).ok_or_else(|| CliError::Usage(format!("missing {name}")))
}

fn optional_flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .filter(|v| !v.starts_with("--"))
        .cloned()
}

fn read_password() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(CliError::Stdin)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn when(ms: i64) -> String {
    from_ms(ms).format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub async fn run(db: &Db, args: &[String]) -> Result<(), CliError> {
    let words: Vec<&str> = args.iter().take(2).map(String::as_str).collect();
    match words.as_slice() {
        ["user", "add"] => {
            let name = flag(args, "--name")?;
            let role_raw = flag(args, "--role")?;
            let role = Role::parse(&role_raw).ok_or_else(|| {
                CliError::Usage(format!(
                    "unknown role {role_raw:?}: use requester or manager"
                ))
            })?;
            let password = read_password()?;
            let user = accounts::add_user(db, &name, role, &password).await?;
            println!("added {} ({})", user.name, user.role.as_str());
        }
        ["user", "list"] => {
            for user in accounts::list_users(db).await? {
                println!(
                    "{:<32} {:<10} since {}",
                    user.name,
                    user.role.as_str(),
                    when(user.created_at)
                );
            }
        }
        ["user", "remove"] => {
            let name = flag(args, "--name")?;
            accounts::remove_user(db, &name).await?;
            println!("removed {name} (their sessions and tokens are gone too)");
        }
        ["token", "create"] => {
            let user = flag(args, "--user")?;
            let valid_for = match optional_flag(args, "--expires") {
                None => None,
                Some(raw) => Some(humantime::parse_duration(&raw).map_err(|e| {
                    CliError::Usage(format!(
                        "--expires {raw:?} is not a duration like 90d ({e})"
                    ))
                })?),
            };
            let (id, token) = accounts::create_api_token(db, &user, valid_for).await?;
            let until = valid_for.map_or(String::new(), |d| {
                format!(
                    ", valid until {}",
                    when(clock::now_ms() + d.as_millis() as i64)
                )
            });
            eprintln!("token {id} for {user}{until}; it is shown only now:");
            println!("{token}");
        }
        ["token", "list"] => {
            let now = clock::now_ms();
            for token in accounts::list_api_tokens(db).await? {
                let state = match (token.revoked_at, token.expires_at) {
                    (Some(t), _) => format!("revoked {}", when(t)),
                    (None, Some(t)) if t <= now => format!("expired {}", when(t)),
                    (None, Some(t)) => format!("active until {}", when(t)),
                    (None, None) => "active".to_owned(),
                };
                let used = token.last_used_at.map_or("never used".to_owned(), |t| {
                    format!("last used {}", when(t))
                });
                println!(
                    "{:>5}  {:<32} created {}  {state}  {used}",
                    token.id,
                    token.user_name,
                    when(token.created_at)
                );
            }
        }
        ["token", "revoke"] => {
            let raw = flag(args, "--id")?;
            let id: i64 = raw
                .parse()
                .map_err(|_| CliError::Usage(format!("--id {raw:?} is not a number")))?;
            if accounts::revoke_api_token(db, id).await? {
                println!("revoked token {id}");
            } else {
                return Err(CliError::Usage(format!("no active token with id {id}")));
            }
        }
        ["help"] | ["--help"] | ["-h"] => println!("{USAGE}"),
        _ => {
            return Err(CliError::Usage(format!(
                "unknown command {:?}",
                args.join(" ")
            )))
        }
    }
    Ok(())
}

//! Account management from the command line:
//!
//! ```text
//! server user add --name NAME --role requester|manager|director [--email ADDRESS]
//!                                                         (password on stdin)
//! server user email --name NAME --email ADDRESS | --clear
//! server user list
//! server user remove --name NAME
//! server token create --user NAME [--expires 90d]         (prints the token once)
//! server token list
//! server token revoke --id ID
//! server delegation add --from NAME --to NAME --until 2026-12-24 [--starts 2026-12-01]
//! server delegation list
//! server delegation revoke --id ID
//! ```
//!
//! and, for operators, looking at and acting on stuck orders (these talk to daprd):
//!
//! ```text
//! server order show ID
//! server order stuck
//! server order redrive ID [--by NAME]
//! server order terminate ID --reason TEXT [--by NAME]
//! ```

use std::io::BufRead;

use backend::kernel::clock::{self, from_ms};
use backend::kernel::email::Email;
use backend::services::accounts;
use backend::{ops::operator, services::delegation};
use backend::{Db, OrderService, ServiceError};
use domain::{Role, ValidationErrors};

pub const USAGE: &str = "usage:
  server [serve]                                   run the web server and workflow worker
  server user add --name NAME --role requester|manager|director [--email ADDRESS]
                                                   (reads the password from stdin)
  server user email --name NAME --email ADDRESS | --clear
                                                   where their notifications go
  server user list
  server user remove --name NAME
  server token create --user NAME [--expires 90d]  (prints a new API token once)
  server token list
  server token revoke --id ID
  server delegation add --from NAME --to NAME --until DAY [--starts DAY]
                                                   NAME's decisions go to the other, through DAY (UTC)
  server delegation list                           the delegations that have not ended
  server delegation revoke --id ID                 end one now
  server order show ID                             the order beside its workflow in Dapr
  server order stuck                               orders that need an operator, and why
  server order redrive ID [--by NAME]              do now what the reconciler would do
  server order terminate ID --reason TEXT [--by NAME]   end its workflow, close it as failed";

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

fn parse_email(raw: &str) -> Result<Email, CliError> {
    Email::parse(raw).map_err(|m| ServiceError::Invalid(ValidationErrors::one("email", m)).into())
}

const DAY_MS: i64 = 86_400_000;

/// The end (UTC) of a day written `2026-12-24`.
fn day_end(raw: &str) -> Result<i64, CliError> {
    chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|start| start.and_utc().timestamp_millis() + DAY_MS)
        .ok_or_else(|| CliError::Usage(format!("{raw:?} is not a day like 2026-12-24")))
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
                    "unknown role {role_raw:?}: use requester, manager or director"
                ))
            })?;
            let email = optional_flag(args, "--email")
                .map(|raw| parse_email(&raw))
                .transpose()?;
            let password = read_password()?;
            let user = accounts::add_user(db, &name, role, &password, email.as_ref()).await?;
            println!("added {} ({})", user.name, user.role.as_str());
        }
        ["user", "list"] => {
            for account in accounts::list_users(db).await? {
                let user = &account.user;
                println!(
                    "{:<32} {:<10} since {}  {}",
                    user.name,
                    user.role.as_str(),
                    when(user.created_at),
                    account.email.as_deref().unwrap_or("(no e-mail)")
                );
            }
        }
        ["user", "email"] => {
            let name = flag(args, "--name")?;
            let email = match (
                optional_flag(args, "--email"),
                args.iter().any(|a| a == "--clear"),
            ) {
                (Some(raw), false) => Some(parse_email(&raw)?),
                (None, true) => None,
                _ => {
                    return Err(CliError::Usage(
                        "give either --email ADDRESS or --clear".into(),
                    ))
                }
            };
            accounts::set_email(db, &name, email.as_ref()).await?;
            match email {
                Some(email) => println!("{name} is notified at {email}"),
                None => println!("{name} has no e-mail address now"),
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
        ["delegation", "add"] => {
            let from = flag(args, "--from")?;
            let to = flag(args, "--to")?;
            let now = clock::now_ms();
            let ends_at = day_end(&flag(args, "--until")?)?;
            let starts_at = match optional_flag(args, "--starts") {
                Some(day) => day_end(&day)? - DAY_MS,
                None => now,
            };
            let delegator = accounts::list_users(db)
                .await?
                .into_iter()
                .map(|a| a.user)
                .find(|u| u.name == from)
                .ok_or_else(|| CliError::Usage(format!("no account {from:?}")))?;
            let d = delegation::add(db, &delegator, &to, starts_at, ends_at, now).await?;
            println!(
                "delegation {}: {} decides for {} from {} until {}",
                d.id,
                d.delegate,
                d.delegator,
                when(d.starts_at),
                when(d.ends_at)
            );
        }
        ["delegation", "list"] => {
            for d in delegation::current(db, None, clock::now_ms()).await? {
                println!(
                    "{:>5}  {} decides for {}  from {} until {}",
                    d.id,
                    d.delegate,
                    d.delegator,
                    when(d.starts_at),
                    when(d.ends_at)
                );
            }
        }
        ["delegation", "revoke"] => {
            let raw = flag(args, "--id")?;
            let id: i64 = raw
                .parse()
                .map_err(|_| CliError::Usage(format!("--id {raw:?} is not a number")))?;
            if delegation::revoke(db, id, None, clock::now_ms()).await? {
                println!("ended delegation {id}");
            } else {
                return Err(CliError::Usage(format!(
                    "no running delegation with id {id}"
                )));
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

/// Who is acting, for the record: `--by NAME`, else the login name.
fn actor(args: &[String]) -> String {
    optional_flag(args, "--by")
        .or_else(|| std::env::var("USER").ok())
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "operator".to_owned())
}

fn instance(args: &[String]) -> Result<&str, CliError> {
    args.get(2)
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .ok_or_else(|| CliError::Usage("missing the order's instance id (po-…)".into()))
}

fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "—".to_owned())
}

pub async fn run_order(orders: &OrderService, args: &[String]) -> Result<(), CliError> {
    let words: Vec<&str> = args.iter().take(2).map(String::as_str).collect();
    match words.as_slice() {
        ["order", "show"] => {
            let found = operator::inspect(orders, instance(args)?).await?;
            let row = &found.row;
            println!("{}  (order {})", row.instance_id, row.order_id);
            println!(
                "read model  {} · created {} · deadline {} · decided by {} at {}",
                row.status.as_str(),
                when(row.created_at),
                or_dash(row.deadline.map(when)),
                or_dash(row.decided_by.clone()),
                or_dash(row.decided_at.map(when)),
            );
            if let Some(claimed) = row.claimed_at {
                println!("            decision claimed {}", when(claimed));
            }
            if let Some(failure) = &row.failure {
                println!("            failure: {failure}");
            }
            if let Some(why) = &row.attention {
                println!(
                    "            NEEDS ATTENTION since {}: {why}",
                    or_dash(row.attention_since.map(when))
                );
            }
            match &found.workflow {
                Ok(state) => {
                    println!(
                        "dapr        {} · created {} · updated {}",
                        state.runtime_status.name(),
                        or_dash(state.created_at.map(|t| t.to_rfc3339())),
                        or_dash(state.last_updated_at.map(|t| t.to_rfc3339())),
                    );
                    if let Some(output) = &state.serialized_output {
                        println!("            output: {output}");
                    }
                    if let Some(failure) = &state.failure {
                        println!("            failure: {}", failure.message);
                    }
                }
                Err(e) => println!("dapr        cannot say: {e}"),
            }
            for action in &found.actions {
                println!(
                    "action      {} {:?} by {}{}",
                    when(action.at),
                    action.action,
                    action.actor,
                    action
                        .reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                );
            }
        }
        ["order", "stuck"] => {
            let rows = operator::stuck(orders, 500).await?;
            if rows.is_empty() {
                println!("no order needs attention");
            }
            for row in rows {
                println!(
                    "{}\t{}\tsince {}\t{}",
                    row.instance_id,
                    row.status.as_str(),
                    or_dash(row.attention_since.map(when)),
                    row.attention.unwrap_or_default()
                );
            }
        }
        ["order", "redrive"] => {
            let id = instance(args)?;
            let repairs = operator::redrive(orders, id, &actor(args)).await?;
            if repairs.is_empty() {
                println!("{id}: nothing to do");
            }
            for repair in repairs {
                println!("{id}: {repair}");
            }
        }
        ["order", "terminate"] => {
            let id = instance(args)?;
            let reason = flag(args, "--reason")?;
            operator::terminate(orders, id, &actor(args), &reason).await?;
            println!("{id}: terminated");
        }
        _ => {
            return Err(CliError::Usage(format!(
                "unknown command {:?}",
                args.join(" ")
            )))
        }
    }
    Ok(())
}

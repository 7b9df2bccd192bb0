//! The command line, on clap: `server` (or `server serve`) runs the web server and
//! workflow worker; the other commands manage accounts, API tokens and delegations,
//! and, for operators, look at and act on stuck orders (`order …`, which talk to
//! daprd). `server --help`, `server user add --help` etc. say what each takes.
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
//! server order show ID
//! server order stuck
//! server order redrive ID [--by NAME]
//! server order terminate ID --reason TEXT [--by NAME]
//! ```
//!
//! The settings (environment variables, or flags before the command) are
//! [`crate::config::Config`].

use std::ffi::OsStr;
use std::io::BufRead;
use std::time::Duration;

use backend::kernel::clock::{self, from_ms};
use backend::kernel::email::Email;
use backend::services::accounts;
use backend::services::orders::OrderService;
use backend::store::db::Db;
use backend::workflow::history::{self, Recorded};
use backend::ServiceError;
use backend::{ops::operator, services::delegation};
use chrono::NaiveDate;
use clap::builder::{PossibleValue, TypedValueParser};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use domain::Role;

use crate::config::Config;

/// The Approvals server: web server, Dapr workflow worker and read-model owner in one
/// process, and the commands that manage its accounts and orders.
#[derive(Debug, Parser)]
#[command(name = "server", version)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    /// What to do; without one, serve.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server and workflow worker (the same as no command)
    Serve,
    #[command(flatten)]
    Accounts(AccountCommand),
    /// Look at and act on orders that need an operator (talks to the Dapr sidecar)
    #[command(subcommand)]
    Order(OrderCommand),
    /// Take a consistent copy of the read model, online, into a new or empty folder
    Backup {
        /// The folder to write it to
        #[arg(long, value_name = "DIR")]
        to: std::path::PathBuf,
    },
    /// Put a backup back in place of the read model (stop every replica first), then
    /// bring it to this build's schema
    Restore {
        /// The folder `server backup` wrote
        #[arg(long, value_name = "DIR")]
        from: std::path::PathBuf,
        /// Dapr's state was lost too (a new machine, an empty state store): the orders
        /// that waited get a workflow again at their next start, at their level and
        /// with their deadline
        #[arg(long)]
        workflows_lost: bool,
    },
    /// Check the settings, the database, daprd with its token, the state store, the
    /// bindings and the clock, and say what to fix
    Doctor,
}

/// The commands that need only the database.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Add, list and remove accounts, and say where their notifications go
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens: for scripts and other programs calling the JSON API
    #[command(subcommand)]
    Token(TokenCommand),
    /// Out of office: one person's decisions go to another for a while
    #[command(subcommand)]
    Delegation(DelegationCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account; reads its password from the first line of stdin
    Add {
        /// The name they sign in with
        #[arg(long)]
        name: String,
        /// What they may do: submit orders, or also decide other people's
        #[arg(long, value_parser = RoleParser)]
        role: Role,
        /// Where their notifications go (optional)
        #[arg(long, value_name = "ADDRESS", value_parser = email)]
        email: Option<Email>,
    },
    /// Set or clear where a person's notifications go
    Email {
        /// Whose address
        #[arg(long)]
        name: String,
        /// The new address
        #[arg(
            long,
            value_name = "ADDRESS",
            value_parser = email,
            required_unless_present = "clear",
            conflicts_with = "clear"
        )]
        email: Option<Email>,
        /// Remove their address: no e-mail for them
        #[arg(long)]
        clear: bool,
    },
    /// List the accounts with their roles and e-mail addresses
    List,
    /// Remove an account, with its sessions and tokens; its name is never given again
    Remove {
        /// Whose account
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a new API token and print it, once
    Create {
        /// Whose token: it acts as them
        #[arg(long)]
        user: String,
        /// How long it works (90d, 12h, …); without it, until revoked
        #[arg(long, value_name = "DURATION", value_parser = lifetime)]
        expires: Option<Duration>,
    },
    /// List the tokens with their expiry and last use
    List,
    /// Revoke a token now
    Revoke {
        /// Its number, from `token list`
        #[arg(long)]
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum DelegationCommand {
    /// Let another person decide for someone, through a day (UTC)
    Add {
        /// Whose decisions are passed on
        #[arg(long, value_name = "NAME")]
        from: String,
        /// Who decides for them
        #[arg(long, value_name = "NAME")]
        to: String,
        /// The last day it holds, like 2026-12-24 (to its end, UTC)
        #[arg(long, value_name = "DAY", value_parser = day)]
        until: NaiveDate,
        /// The first day it holds (from its start, UTC); without it, now
        #[arg(long, value_name = "DAY", value_parser = day)]
        starts: Option<NaiveDate>,
    },
    /// List the delegations that have not ended
    List,
    /// End a delegation now
    Revoke {
        /// Its number, from `delegation list`
        #[arg(long)]
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrderCommand {
    /// Show an order's read-model row beside its workflow in Dapr, and its actions
    Show {
        /// The order's workflow instance id (po-…)
        #[arg(value_name = "ID")]
        instance_id: String,
    },
    /// Print the order's workflow history as daprd recorded it, one event a line
    History {
        /// The order's workflow instance id (po-…)
        #[arg(value_name = "ID")]
        instance_id: String,
        /// JSON: each event as daprd sent it (protobuf, base64) beside its line, as a
        /// replay fixture keeps them
        #[arg(long)]
        json: bool,
    },
    /// List the orders that need an operator, and why
    Stuck,
    /// Do now what the reconciler would do for an order
    Redrive {
        /// The order's workflow instance id (po-…)
        #[arg(value_name = "ID")]
        instance_id: String,
        /// Who is acting, for the record [default: $USER]
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
    /// End an order's workflow and close the order as failed
    Terminate {
        /// The order's workflow instance id (po-…)
        #[arg(value_name = "ID")]
        instance_id: String,
        /// Why, for the record and the requester
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// Who is acting, for the record [default: $USER]
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
}

/// The command line's parser. A variable set to nothing (`METRICS_ADDR=` in a script or
/// a compose file) counts as unset, as it always has: clap would hand "" to the value's
/// parser, which refuses it or, for a name, takes an empty one.
pub fn command() -> clap::Command {
    Cli::command().mut_args(|arg| {
        let blank = arg
            .get_env()
            .and_then(std::env::var_os)
            .is_some_and(|value| value.to_string_lossy().trim().is_empty());
        if blank {
            arg.env(None::<&'static str>)
        } else {
            arg
        }
    })
}

/// The command line and the environment, read; on a bad one, clap's message and exit
/// code 2 (`--help` and `--version` exit 0).
pub fn parse() -> Cli {
    let mut command = command();
    let mut matches = command.get_matches_mut();
    Cli::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.format(&mut command).exit())
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Service(#[from] ServiceError),
    #[error("reading the password from stdin: {0}")]
    Stdin(std::io::Error),
}

/// `--role`: the domain's roles, with the domain's parse; listed in `--help`.
// `Role` lives in `domain`, which the browser's WASM build shares and so has no clap:
// a parser here instead of `ValueEnum` there.
#[derive(Clone)]
struct RoleParser;

/// Every role, in the order `--help` lists them.
const ROLES: [Role; 3] = [Role::Requester, Role::Manager, Role::Director];

impl TypedValueParser for RoleParser {
    type Value = Role;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Role, clap::Error> {
        // Through clap's own mapping parser, so the error reads as any other bad value's.
        clap::builder::StringValueParser::new()
            .try_map(|raw| {
                Role::parse(raw.trim()).ok_or_else(|| {
                    format!("unknown role {raw:?}: use requester, manager or director")
                })
            })
            .parse_ref(command, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            ROLES.iter().map(|role| PossibleValue::new(role.as_str())),
        ))
    }
}

fn email(raw: &str) -> Result<Email, String> {
    Email::parse(raw)
}

/// A token's lifetime (`90d`); unlike the settings' durations, zero is allowed.
fn lifetime(raw: &str) -> Result<Duration, String> {
    humantime::parse_duration(raw.trim())
        .map_err(|e| format!("{raw:?} is not a duration like 90d ({e})"))
}

fn day(raw: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{raw:?} is not a day like 2026-12-24"))
}

fn read_password() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(CliError::Stdin)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// The start (UTC, in ms) of `day`.
fn day_start(day: NaiveDate) -> i64 {
    day.and_time(chrono::NaiveTime::MIN)
        .and_utc()
        .timestamp_millis()
}

const DAY_MS: i64 = 86_400_000;

fn when(ms: i64) -> String {
    from_ms(ms).format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub async fn run(db: &Db, command: AccountCommand) -> Result<(), CliError> {
    match command {
        AccountCommand::User(UserCommand::Add { name, role, email }) => {
            let password = read_password()?;
            let user = accounts::add_user(db, &name, role, &password, email.as_ref()).await?;
            println!("added {} ({})", user.name, user.role.as_str());
        }
        AccountCommand::User(UserCommand::List) => {
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
        AccountCommand::User(UserCommand::Email { name, email, .. }) => {
            // clap has made sure of exactly one of --email and --clear.
            accounts::set_email(db, &name, email.as_ref()).await?;
            match email {
                Some(email) => println!("{name} is notified at {email}"),
                None => println!("{name} has no e-mail address now"),
            }
        }
        AccountCommand::User(UserCommand::Remove { name }) => {
            accounts::remove_user(db, &name).await?;
            println!("removed {name} (their sessions and tokens are gone too)");
        }
        AccountCommand::Token(TokenCommand::Create { user, expires }) => {
            let (id, token) = accounts::create_api_token(db, &user, expires).await?;
            let until = expires.map_or(String::new(), |d| {
                format!(
                    ", valid until {}",
                    when(clock::now_ms() + d.as_millis() as i64)
                )
            });
            eprintln!("token {id} for {user}{until}; it is shown only now:");
            println!("{token}");
        }
        AccountCommand::Token(TokenCommand::List) => {
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
        AccountCommand::Token(TokenCommand::Revoke { id }) => {
            if accounts::revoke_api_token(db, id).await? {
                println!("revoked token {id}");
            } else {
                return Err(CliError::Refused(format!("no active token with id {id}")));
            }
        }
        AccountCommand::Delegation(DelegationCommand::Add {
            from,
            to,
            until,
            starts,
        }) => {
            let now = clock::now_ms();
            let ends_at = day_start(until) + DAY_MS;
            let starts_at = starts.map_or(now, day_start);
            let delegator = accounts::list_users(db)
                .await?
                .into_iter()
                .map(|a| a.user)
                .find(|u| u.name == from)
                .ok_or_else(|| CliError::Refused(format!("no account {from:?}")))?;
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
        AccountCommand::Delegation(DelegationCommand::List) => {
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
        AccountCommand::Delegation(DelegationCommand::Revoke { id }) => {
            if delegation::revoke(db, id, None, clock::now_ms()).await? {
                println!("ended delegation {id}");
            } else {
                return Err(CliError::Refused(format!(
                    "no running delegation with id {id}"
                )));
            }
        }
    }
    Ok(())
}

/// Who is acting, for the record: `--by NAME`, else the login name.
// `USER` is who runs the command, not a setting of the server: read here, not in Config.
fn actor(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "operator".to_owned())
}

fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "—".to_owned())
}

pub async fn run_order(orders: &OrderService, command: OrderCommand) -> Result<(), CliError> {
    match command {
        OrderCommand::Show { instance_id } => {
            let found = operator::inspect(orders, &instance_id).await?;
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
            match &found.recent {
                Ok(events) => {
                    for event in events {
                        println!("step        {}", history::describe(event));
                    }
                }
                Err(e) => println!("step        cannot say: {e}"),
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
        OrderCommand::History { instance_id, json } => {
            let events = operator::history(orders, &instance_id).await?;
            if json {
                let recorded = Recorded::new(&instance_id, &events);
                let text = serde_json::to_string_pretty(&recorded)
                    .map_err(|e| CliError::Refused(format!("writing JSON: {e}")))?;
                println!("{text}");
            } else {
                for event in &events {
                    println!("{}", history::describe(event));
                }
            }
        }
        OrderCommand::Stuck => {
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
        OrderCommand::Redrive { instance_id, by } => {
            let repairs = operator::redrive(orders, &instance_id, &actor(by)).await?;
            if repairs.is_empty() {
                println!("{instance_id}: nothing to do");
            }
            for repair in repairs {
                println!("{instance_id}: {repair}");
            }
        }
        OrderCommand::Terminate {
            instance_id,
            reason,
            by,
        } => {
            operator::terminate(orders, &instance_id, &actor(by), &reason).await?;
            println!("{instance_id}: terminated");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("server").chain(args.iter().copied()))
    }

    #[test]
    fn the_parser_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_role_is_offered_and_read_back() {
        // A new role fails to compile here until ROLES has it too.
        for role in ROLES {
            match role {
                Role::Requester | Role::Manager | Role::Director => {}
            }
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(ROLES.len(), 3);
    }

    #[test]
    fn the_spellings_scripts_and_tests_use_still_parse() {
        for args in [
            &[][..],
            &["serve"],
            &["user", "add", "--name", "dave", "--role", "manager"],
            &[
                "user",
                "add",
                "--name",
                "erin",
                "--role",
                "requester",
                "--email",
                "e@x.org",
            ],
            &[
                "user",
                "email",
                "--name",
                "dave",
                "--email",
                "d@example.com",
            ],
            &["user", "email", "--name", "dave", "--clear"],
            &["user", "list"],
            &["user", "remove", "--name", "dave"],
            &["token", "create", "--user", "alice"],
            &["token", "create", "--user", "alice", "--expires", "90d"],
            &["token", "list"],
            &["token", "revoke", "--id", "1"],
            &[
                "delegation",
                "add",
                "--from",
                "dora",
                "--to",
                "carol",
                "--until",
                "2026-12-24",
                "--starts",
                "2026-12-01",
            ],
            &["delegation", "list"],
            &["delegation", "revoke", "--id", "3"],
            &["order", "show", "po-1"],
            &["order", "stuck"],
            &["order", "redrive", "po-1", "--by", "olga"],
            &[
                "order",
                "terminate",
                "po-1",
                "--reason",
                "ordered twice",
                "--by",
                "olga",
            ],
        ] {
            if let Err(e) = parse(args) {
                panic!("{args:?}: {e}");
            }
        }
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        for (args, says) in [
            (
                &["user", "add", "--name", "eve", "--role", "boss"][..],
                "unknown role",
            ),
            (
                &[
                    "user",
                    "add",
                    "--name",
                    "erin",
                    "--role",
                    "requester",
                    "--email",
                    "erin@example",
                ],
                "dot",
            ),
            (&["user", "email", "--name", "dave"], "--email"),
            (
                &[
                    "user",
                    "email",
                    "--name",
                    "dave",
                    "--email",
                    "d@example.com",
                    "--clear",
                ],
                "--clear",
            ),
            (&["token", "revoke", "--id", "one"], "--id"),
            (
                &["token", "create", "--user", "a", "--expires", "soon"],
                "90d",
            ),
            (
                &[
                    "delegation",
                    "add",
                    "--from",
                    "a",
                    "--to",
                    "b",
                    "--until",
                    "24.12.2026",
                ],
                "2026-12-24",
            ),
            (&["order", "terminate", "po-1"], "--reason"),
            (&["order", "show"], "ID"),
            (
                &["user", "add", "--name", "x", "--role", "manager", "--nope"],
                "--nope",
            ),
            (&["frobnicate"], "frobnicate"),
        ] {
            let error = parse(args).expect_err("refused");
            assert_eq!(error.exit_code(), 2, "{args:?}");
            let text = error.to_string();
            assert!(text.contains(says), "{args:?}: {text}");
        }
    }

    #[test]
    fn a_delegation_runs_from_the_start_of_its_first_day_to_the_end_of_its_last() {
        let first = day("2026-12-01").expect("a day");
        let last = day(" 2026-12-24 ").expect("a day");
        assert_eq!(when(day_start(first)), "2026-12-01 00:00:00 UTC");
        assert_eq!(when(day_start(last) + DAY_MS), "2026-12-25 00:00:00 UTC");
    }
}

//! What became of every order and every answer, once the stack has settled: the
//! read model, Dapr's own state (daprd's API, not our server's `/status`), and what
//! each client was told, held against each other.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::faults::Fault;
use super::{Answer, Attempt, Plan, Record};
use crate::Result;

/// One property that must hold for every order, and the orders it failed for.
pub struct Check {
    pub what: &'static str,
    pub failures: Vec<String>,
}

pub struct Verdict {
    pub orders: usize,
    pub created: usize,
    pub plans: BTreeMap<&'static str, usize>,
    pub outcomes: BTreeMap<String, usize>,
    pub answers: BTreeMap<String, usize>,
    /// Decisions answered 202 ("accepted, being confirmed") whose order then timed out:
    /// allowed (202 promises nothing), and worth knowing.
    pub accepted_then_timed_out: usize,
    /// Finished workflows daprd had already purged (retention), when that is expected.
    pub purged: usize,
    /// What a few of the requests that got no answer met (a killed server, a timeout).
    pub no_answer_examples: Vec<String>,
    pub checks: Vec<Check>,
    pub settled_in: Duration,
}

impl Verdict {
    pub fn violations(&self) -> usize {
        self.checks.iter().map(|c| c.failures.len()).sum()
    }
}

/// What [`dapr_state`] reports for an instance daprd no longer has.
const GONE: &str = "GONE";

const FINAL: [&str; 6] = [
    "auto_approved",
    "approved",
    "rejected",
    "timed_out",
    "cancelled",
    "failed",
];

fn plan_name(plan: Plan) -> &'static str {
    match plan {
        Plan::Auto => "auto-approved",
        Plan::One { .. } => "one manager decides",
        Plan::Race => "two managers race",
        Plan::CancelRace => "a manager and the requester's cancel race",
        Plan::Undecided => "left to time out",
    }
}

fn answer_name(what: &str, answer: &Answer) -> String {
    match answer {
        Answer::Status { code, .. } => format!("{what} {code}"),
        Answer::NoAnswer(_) => format!("{what}: no answer"),
    }
}

/// The read model's row: status and who decided.
async fn row(db: &sqlx::SqlitePool, id: &str) -> Result<Option<(String, Option<String>)>> {
    Ok(
        sqlx::query_as("SELECT status, decided_by FROM orders WHERE instance_id = ?")
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// Dapr's runtime status and output status text, from daprd itself.
async fn dapr_state(
    http: &reqwest::Client,
    dapr: &str,
    token: &str,
    id: &str,
) -> Result<(String, Option<String>)> {
    let response = http
        .get(format!("{dapr}/v1.0/workflows/dapr/{id}"))
        .header("dapr-api-token", token)
        .send()
        .await?;
    if !response.status().is_success() {
        // Purged by the retention policy, or never there.
        return Ok((GONE.to_owned(), None));
    }
    let state: Value = response.json().await?;
    let status = state["runtimeStatus"]
        .as_str()
        .unwrap_or("UNKNOWN")
        .to_owned();
    let output = state["properties"]["dapr.workflow.output"]
        .as_str()
        .and_then(|o| serde_json::from_str::<Value>(o).ok())
        .and_then(|o| o["status"].as_str().map(str::to_owned));
    Ok((status, output))
}

/// The seed's output text for a final read-model row.
fn outcome_text(status: &str, by: Option<&str>) -> Option<String> {
    let by = by.unwrap_or_default();
    Some(match status {
        "auto_approved" => "Auto-Approved".to_owned(),
        "approved" => format!("Approved by {by}"),
        "rejected" => format!("Rejected by {by}"),
        "timed_out" => "Cancelled due to timeout".to_owned(),
        "cancelled" => format!("Cancelled by {by}"),
        _ => return None,
    })
}

/// Whether the order's outcome is this attempt's decision.
fn is_outcome(row: &(String, Option<String>), attempt: &Attempt) -> bool {
    row.0 == attempt.decision.outcome().as_str() && row.1.as_deref() == Some(attempt.by)
}

pub async fn judge(
    db: &sqlx::SqlitePool,
    dapr: &str,
    token: &str,
    records: &[Record],
    settle_within: Duration,
    retention_purges: bool,
) -> Result<Verdict> {
    let began = Instant::now();
    let created: Vec<&Record> = records.iter().filter(|r| r.created()).collect();
    loop {
        let mut open = 0;
        for record in &created {
            let settled = row(db, &record.instance_id)
                .await?
                .is_some_and(|(status, _)| FINAL.contains(&status.as_str()));
            open += usize::from(!settled);
        }
        if open == 0 || began.elapsed() > settle_within {
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let settled_in = began.elapsed();

    let http = reqwest::Client::new();
    let mut verdict = Verdict {
        orders: records.len(),
        created: created.len(),
        plans: BTreeMap::new(),
        outcomes: BTreeMap::new(),
        answers: BTreeMap::new(),
        accepted_then_timed_out: 0,
        purged: 0,
        no_answer_examples: Vec::new(),
        checks: Vec::new(),
        settled_in,
    };
    let mut final_once = verdict_check("every order reached exactly one final state");
    let mut agree = verdict_check("Dapr's outcome and the read model agree");
    let mut no_failed = verdict_check("no workflow FAILED, no order failed");
    let mut nothing_left = verdict_check("a start told 'nothing was recorded' left no order");
    let mut ok_is_outcome = verdict_check("every decision answered 200 is the outcome");
    let mut unchanged = verdict_check("no decision told 'nothing was changed' became the outcome");
    let mut timed_out = verdict_check("orders nobody decided timed out");
    let mut only_503 = verdict_check("every 5xx was a 503 with a message");

    for record in records {
        let id = record.instance_id.as_str();
        *verdict.plans.entry(plan_name(record.plan)).or_default() += 1;
        let attempts = record.decisions.iter();
        for answer in &record.starts {
            *verdict
                .answers
                .entry(answer_name("start", answer))
                .or_default() += 1;
        }
        for attempt in attempts.clone() {
            *verdict
                .answers
                .entry(answer_name("decision", &attempt.answer))
                .or_default() += 1;
        }
        let every_answer = record
            .starts
            .iter()
            .chain(record.decisions.iter().map(|a| &a.answer));
        for answer in every_answer {
            match answer {
                Answer::Status { code, message }
                    if *code >= 500 && (*code != 503 || message.is_empty()) =>
                {
                    only_503.failures.push(format!("{id}: {code} {message:?}"));
                }
                Answer::NoAnswer(why) if verdict.no_answer_examples.len() < 3 => {
                    verdict.no_answer_examples.push(format!("{id}: {why}"));
                }
                _ => {}
            }
        }
        let row = row(db, id).await?;
        if !record.created() {
            let certain = record
                .starts
                .iter()
                .all(|a| matches!(a, Answer::Status { code: 503, .. }));
            if certain && row.is_some() {
                nothing_left.failures.push(format!("{id} exists"));
            }
            continue;
        }
        let Some(row) = row else {
            final_once.failures.push(format!("{id}: no row"));
            continue;
        };
        *verdict.outcomes.entry(row.0.clone()).or_default() += 1;
        if !FINAL.contains(&row.0.as_str()) {
            final_once.failures.push(format!("{id}: still {}", row.0));
        }
        if row.0 == "failed" {
            no_failed
                .failures
                .push(format!("{id}: failed in the read model"));
        }
        let (dapr_status, dapr_output) = dapr_state(&http, dapr, token, id).await?;
        if dapr_status == "FAILED" {
            no_failed.failures.push(format!("{id}: FAILED in Dapr"));
        }
        let expected = outcome_text(&row.0, row.1.as_deref());
        if dapr_status == GONE && retention_purges {
            verdict.purged += 1;
        } else if dapr_status != "COMPLETED" || dapr_output != expected {
            agree.failures.push(format!(
                "{id}: Dapr {dapr_status} {dapr_output:?}, read model {} by {:?}",
                row.0, row.1
            ));
        }
        for attempt in &record.decisions {
            match &attempt.answer {
                Answer::Status { code: 200, .. } if !is_outcome(&row, attempt) => {
                    ok_is_outcome.failures.push(format!(
                        "{id}: {} answered 200, outcome {} by {:?}",
                        attempt.by, row.0, row.1
                    ));
                }
                Answer::Status { code: 202, .. } if row.0 == "timed_out" => {
                    verdict.accepted_then_timed_out += 1;
                }
                Answer::Status { code: 503, .. } if is_outcome(&row, attempt) => {
                    // Fine if the same decision by the same person was taken by another
                    // attempt of theirs.
                    let taken_later = record.decisions.iter().any(|other| {
                        other.by == attempt.by
                            && other.decision == attempt.decision
                            && !matches!(other.answer, Answer::Status { code: 503, .. })
                    });
                    if !taken_later {
                        unchanged
                            .failures
                            .push(format!("{id}: {} told 503, yet the outcome", attempt.by));
                    }
                }
                _ => {}
            }
        }
        if record.plan == Plan::Undecided && row.0 != "timed_out" {
            timed_out.failures.push(format!("{id}: {}", row.0));
        }
    }
    let mut calm = verdict_check("no order needs attention");
    let flagged: Vec<(String, String)> = sqlx::query_as(
        "SELECT instance_id, attention FROM orders WHERE attention IS NOT NULL LIMIT 20",
    )
    .fetch_all(db)
    .await?;
    calm.failures
        .extend(flagged.into_iter().map(|(id, why)| format!("{id}: {why}")));
    verdict.checks = vec![
        final_once,
        agree,
        no_failed,
        nothing_left,
        ok_is_outcome,
        unchanged,
        timed_out,
        only_503,
        calm,
    ];
    Ok(verdict)
}

fn verdict_check(what: &'static str) -> Check {
    Check {
        what,
        failures: Vec::new(),
    }
}

/// Resident memory at one moment of the soak run.
pub struct MemorySample {
    pub at: Duration,
    pub daprd_kib: Option<u64>,
    pub server_kib: Option<u64>,
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "–".to_owned(), |k| format!("{:.0}", k as f64 / 1024.0))
}

pub fn report(
    verdict: &Verdict,
    faults: &[(Duration, Fault, bool)],
    memory: &[MemorySample],
    mode: &str,
    commit: &str,
) -> String {
    let mut out = String::new();
    let (title, how) = match mode {
        "full" => (
            "Chaos suite",
            "`make chaos`: `scripts/chaos.sh`, release build",
        ),
        "soak" => (
            "Soak run",
            "`make soak`: `scripts/chaos.sh --soak`, release build, no faults",
        ),
        _ => (
            "Chaos suite (short run)",
            "`scripts/chaos.sh --short`, debug build, in `make test`",
        ),
    };
    out.push_str(&format!(
        "# {title}\n\n{how}; commit {commit}, {}.\n\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    ));
    if !memory.is_empty() {
        out.push_str(
            "## Memory over time (RSS, MiB)\n\n| minute | daprd | server |\n|---:|---:|---:|\n",
        );
        for sample in memory {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                sample.at.as_secs() / 60,
                mib(sample.daprd_kib),
                mib(sample.server_kib)
            ));
        }
        out.push('\n');
    }
    if !faults.is_empty() {
        out.push_str(
            "## Faults, in turn, under a steady mixed load\n\n| at | fault | done |\n|---:|---|---|\n",
        );
    }
    for (at, fault, done) in faults {
        out.push_str(&format!(
            "| {} s | {fault} | {} |\n",
            at.as_secs(),
            if *done { "yes" } else { "**no**" }
        ));
    }
    out.push_str(&format!(
        "\n## Orders\n\n{} started, {} created; every created order settled {} s after the load.\n\n| plan | orders |\n|---|---:|\n",
        verdict.orders,
        verdict.created,
        verdict.settled_in.as_secs()
    ));
    for (plan, n) in &verdict.plans {
        out.push_str(&format!("| {plan} | {n} |\n"));
    }
    out.push_str("\n| outcome (read model) | orders |\n|---|---:|\n");
    for (status, n) in &verdict.outcomes {
        out.push_str(&format!("| {status} | {n} |\n"));
    }
    out.push_str("\n| answer | count |\n|---|---:|\n");
    for (answer, n) in &verdict.answers {
        out.push_str(&format!("| {answer} | {n} |\n"));
    }
    for example in &verdict.no_answer_examples {
        out.push_str(&format!("\nNo answer, e.g. {example}"));
    }
    if verdict.purged > 0 {
        out.push_str(&format!(
            "\n\nFinished workflows already purged by daprd's retention: {}.",
            verdict.purged
        ));
    }
    out.push_str(&format!(
        "\n\nDecisions answered 202 (accepted, not yet confirmed) whose order then timed out: {}.\n\n## Checks\n\n| check | violations |\n|---|---:|\n",
        verdict.accepted_then_timed_out
    ));
    for check in &verdict.checks {
        out.push_str(&format!("| {} | {} |\n", check.what, check.failures.len()));
    }
    for check in verdict.checks.iter().filter(|c| !c.failures.is_empty()) {
        out.push_str(&format!("\n**{}**:\n", check.what));
        for failure in check.failures.iter().take(10) {
            out.push_str(&format!("- {failure}\n"));
        }
    }
    out.push_str(&format!(
        "\n**{}**\n",
        if verdict.violations() == 0 {
            "Every check held."
        } else {
            "Some checks failed."
        }
    ));
    out
}

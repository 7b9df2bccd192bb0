//! Backup and restore (`server backup`, `server restore`) and `server doctor`, on the
//! real stack.

use std::time::Duration;

use crate::common::decide;
use crate::support::{output_status, Stack, WAIT};

/// The whole cycle: orders wait, a backup is taken, everything is lost (the next stack
/// is a new machine: its own daprd, state store, scheduler and read model), the backup
/// is restored with `--workflows-lost`, and the orders that waited wait again, each
/// with the deadline it had: one is decided, another's timer fires at its old deadline.
/// A decision taken after the backup is not in it: that order waits again (the
/// recovery point the README states).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restored_on_a_new_machine_keeps_orders_waiting_to_their_deadlines() {
    let old = Stack::start("45s").await;
    let mut deadlines = Vec::new();
    for id in ["bk-decide", "bk-late", "bk-after"] {
        let row = old.start_waiting(id, 2_000.0).await;
        deadlines.push(row["approval_deadline"].clone());
    }
    let folder = tempfile::tempdir().expect("temp dir");
    let to = folder.path().join("backup");
    let to_arg = to.display().to_string();
    let (ok, out) = old.admin(&["backup", "--to", &to_arg], "");
    assert!(ok, "{out}");
    assert!(out.contains("Dapr's state store is not in it"), "{out}");
    let (ok, again) = old.admin(&["backup", "--to", &to_arg], "");
    assert!(!ok && again.contains("not empty"), "{again}");
    // Decided after the backup was taken.
    assert_eq!(decide(&old, "bob", "bk-after", true).await.0, 200);
    old.wait_for_completion("po-bk-after", WAIT).await;
    drop(old);

    let mut new = Stack::start("45s").await;
    // Restoring under a running server is refused: it holds the reconciler's lease.
    let from = ["restore", "--from", to_arg.as_str(), "--workflows-lost"];
    let (ok, refused) = new.admin(&from, "");
    assert!(!ok && refused.contains("stop every replica"), "{refused}");
    new.stop_server();
    let (ok, out) = new.admin(&from, "");
    assert!(ok, "{out}");
    assert!(
        out.contains("3 waiting orders get their workflows again"),
        "{out}"
    );
    new.start_server().await;

    for (id, deadline) in ["bk-decide", "bk-late", "bk-after"].iter().zip(&deadlines) {
        let row = new
            .wait_for_status(&format!("po-{id}"), "awaiting_approval", WAIT)
            .await;
        assert_eq!(
            &row["approval_deadline"], deadline,
            "{id} keeps its deadline"
        );
    }
    assert_eq!(decide(&new, "bob", "bk-decide", true).await.0, 200);
    let state = new.wait_for_completion("po-bk-decide", WAIT).await;
    assert_eq!(output_status(&state), "Approved by bob");
    // Approved after the backup, on the machine that was lost: it waits again.
    assert_eq!(decide(&new, "carol", "bk-after", false).await.0, 200);
    let state = new.wait_for_completion("po-bk-after", WAIT).await;
    assert_eq!(output_status(&state), "Rejected by carol");

    // Nobody decides this one: its timer fires at the deadline it had before the loss.
    let late = new
        .wait_for_status("po-bk-late", "timed_out", Duration::from_secs(90))
        .await;
    let deadline = chrono::DateTime::parse_from_rfc3339(deadlines[1].as_str().expect("a deadline"))
        .expect("RFC 3339");
    let decided =
        chrono::DateTime::parse_from_rfc3339(late["decided_at"].as_str().expect("decided at"))
            .expect("RFC 3339");
    assert!(
        decided >= deadline && decided - deadline < chrono::Duration::seconds(15),
        "timed out at {decided}, its deadline was {deadline}"
    );
}

/// `server doctor` on a stack that works says nothing needs fixing; with daprd's token
/// wrong, or a binding daprd does not have, it says what to fix and fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_finds_what_is_wrong_and_says_how_to_fix_it() {
    let stack = Stack::start("60s").await;
    // daprd answers healthy before it has joined the scheduler (a moment later; longer
    // on a loaded machine): until then the doctor rightly says so.
    let give_up = std::time::Instant::now() + WAIT;
    let (ok, out) = loop {
        let (ok, out) = stack.admin(&["doctor"], "");
        if ok || std::time::Instant::now() > give_up || !out.contains("FIX   scheduler") {
            break (ok, out);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(ok, "{out}");
    for line in [
        "ok    settings",
        "ok    database",
        "ok    clock",
        "the token accepted",
        "ok    state store",
        "ok    binding          attachments (bindings.localstorage) for ATTACHMENTS_BINDING",
        "ok    scheduler",
        "nothing to fix",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
    let (ok, out) = stack.admin_with(&["doctor"], "", &[("DAPR_API_TOKEN", "not-the-token")]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("FIX   daprd") && out.contains("refused the token"),
        "{out}"
    );
    let (ok, out) = stack.admin_with(
        &["doctor"],
        "",
        &[("NOTIFY_EMAIL_BINDING", "no-such-binding")],
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains("FIX   binding") && out.contains("no-such-binding"),
        "{out}"
    );
    let (ok, out) = stack.admin_with(&["doctor"], "", &[("ATTACHMENTS_BINDING", "no-files")]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("FIX   binding") && out.contains("ATTACHMENTS_BINDING names no-files"),
        "{out}"
    );
}

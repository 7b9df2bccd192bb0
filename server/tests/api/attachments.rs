//! Attach the quote (issue 25 §4): files go through daprd's real local-storage binding
//! into the stack's data directory, are told by their content, held to their limits,
//! and come back only to those who may see the order, byte for byte, with headers that
//! make a browser save them.

use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::Value;

use crate::support::{Stack, DEMO_PASSWORD, WAIT};

/// A small but real PDF.
fn pdf(text: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
         2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% {text}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde";

/// `who` posts `bytes` as `name` to the order's attachments; the answer.
async fn upload(stack: &Stack, who: &str, id: &str, name: &str, bytes: Vec<u8>) -> (u16, Value) {
    let form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_owned()));
    let response = stack
        .as_user(Method::POST, who, &format!("/api/orders/{id}/attachments"))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `who` downloads a file: status, headers and bytes.
async fn download(
    stack: &Stack,
    who: &str,
    id: &str,
    file: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = stack
        .as_user(
            Method::GET,
            who,
            &format!("/api/orders/{id}/attachments/{file}"),
        )
        .send()
        .await
        .expect("download");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (
        status,
        headers,
        response.bytes().await.expect("body").to_vec(),
    )
}

/// Every stored file under the binding's directory, with its bytes.
fn stored_files(stack: &Stack) -> Vec<Vec<u8>> {
    let dir = stack.data_dir().join("attachments/orders");
    std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| std::fs::read(e.path()).expect("a stored file"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn files_are_told_by_content_held_to_their_limits_and_shown_only_to_those_who_see_the_order()
{
    let stack = Stack::start("120s").await;
    let (ok, out) = stack.admin(
        &["user", "add", "--name", "mallory", "--role", "requester"],
        &format!("{DEMO_PASSWORD}\n"),
    );
    assert!(ok, "{out}");
    stack.start_waiting("att-1", 2500.0).await;
    let id = "po-att-1";

    // The requester attaches the quote: its name cleaned, its type from its content.
    let quote = pdf("the quote");
    let (code, file) = upload(
        &stack,
        "alice",
        id,
        "../../Quote\u{202E}March.pdf",
        quote.clone(),
    )
    .await;
    assert_eq!(code, 201, "{file}");
    assert_eq!(file["name"], "QuoteMarch.pdf");
    assert_eq!(file["content_type"], "application/pdf");
    assert_eq!(file["size"], quote.len());
    assert_eq!(file["added_by"], "alice");
    // Through the real binding, into the data directory, byte for byte.
    assert_eq!(stored_files(&stack), vec![quote.clone()]);

    // Refused by content, size and count, with nothing stored.
    let html_as_pdf =
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>".to_vec();
    let (code, body) = upload(&stack, "alice", id, "invoice.pdf", html_as_pdf).await;
    assert_eq!(code, 415, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("not a PDF, PNG or JPEG")),
        "{body}"
    );
    let (code, body) = upload(&stack, "alice", id, "empty.pdf", Vec::new()).await;
    assert_eq!(code, 422, "{body}");
    let mut too_big = pdf("big");
    too_big.resize(10 * 1024 * 1024 + 1, b' ');
    let (code, body) = upload(&stack, "alice", id, "big.pdf", too_big).await;
    assert_eq!(code, 413, "{body}");
    let response = stack
        .as_user(
            Method::POST,
            "alice",
            &format!("/api/orders/{id}/attachments"),
        )
        .json(&serde_json::json!({"file": "quote.pdf"}))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 400, "not multipart");
    assert_eq!(stored_files(&stack).len(), 1, "nothing refused was stored");

    // A file of exactly 10 MB goes through daprd whole (base64, past gRPC's 4 MiB).
    let mut largest = pdf("largest");
    largest.resize(10 * 1024 * 1024, b' ');
    let (code, big) = upload(&stack, "alice", id, "drawing.pdf", largest.clone()).await;
    assert_eq!(code, 201, "{big}");

    // Only the requester attaches; a stranger learns nothing; nobody is asked who.
    let (code, body) = upload(&stack, "bob", id, "bob.png", PNG.to_vec()).await;
    assert_eq!(code, 403, "{body}");
    let (code, body) = upload(&stack, "mallory", id, "m.png", PNG.to_vec()).await;
    assert_eq!(code, 404, "{body}");
    let (code, _) = upload(&stack, "", id, "anon.png", PNG.to_vec()).await;
    assert_eq!(code, 401);

    // Listed and downloaded by the requester and a decider, byte for byte, as files
    // to save; a stranger gets the order's 404, as for an unknown file.
    for who in ["alice", "bob"] {
        let (code, list) = stack
            .get(who, &format!("/api/orders/{id}/attachments"))
            .await;
        assert_eq!(code, 200, "{list}");
        let names: Vec<&str> = list
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|f| f["name"].as_str())
            .collect();
        assert_eq!(names, ["QuoteMarch.pdf", "drawing.pdf"]);
        let (code, headers, bytes) = download(&stack, who, id, &file["id"].to_string()).await;
        assert_eq!(code, 200);
        assert_eq!(bytes, quote);
        assert_eq!(headers["content-type"], "application/pdf");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let disposition = headers["content-disposition"].to_str().expect("ASCII");
        assert!(
            disposition.starts_with("attachment; filename=\"QuoteMarch.pdf\""),
            "{disposition}"
        );
        let (code, _, bytes) = download(&stack, who, id, &big["id"].to_string()).await;
        assert_eq!(code, 200);
        assert!(bytes == largest, "the 10 MB file came back changed");
    }
    let (code, _) = stack
        .get("mallory", &format!("/api/orders/{id}/attachments"))
        .await;
    assert_eq!(code, 404);
    let (code, _, _) = download(&stack, "mallory", id, &file["id"].to_string()).await;
    assert_eq!(code, 404);
    for unknown in ["999999", "abc", "-1"] {
        let (code, _, _) = download(&stack, "alice", id, unknown).await;
        assert_eq!(code, 404, "{unknown}");
    }

    // Five at most; the inbox row counts them.
    for n in 3..=5 {
        let (code, body) =
            upload(&stack, "alice", id, &format!("photo-{n}.png"), PNG.to_vec()).await;
        assert_eq!(code, 201, "{body}");
    }
    let (code, body) = upload(&stack, "alice", id, "sixth.png", PNG.to_vec()).await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(stored_files(&stack).len(), 5);
    let row = stack.order(id).await.expect("the order's row");
    assert_eq!(row["attachments"], 5, "{row}");

    // Once decided, nothing more is attached; what is there stays readable.
    stack.start_waiting("att-2", 2500.0).await;
    let (code, body) = stack
        .post(
            "bob",
            "/signal-approval/po-att-2",
            serde_json::json!({"approver_name": "bob", "approved": true}),
        )
        .await;
    assert!(code == 200 || code == 202, "{code} {body}");
    stack.wait_for_status("po-att-2", "approved", WAIT).await;
    let (code, body) = upload(&stack, "alice", "po-att-2", "late.pdf", pdf("late")).await;
    assert_eq!(code, 409, "{body}");
}

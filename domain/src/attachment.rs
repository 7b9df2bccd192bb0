//! Files attached to an order (the quote, a drawing): the kinds taken, the limits, and
//! the name a file is shown and downloaded under. Server only: the pages list files in
//! server-rendered HTML, so the browser's bundle has no use for any of it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The largest file taken, in bytes (10 MB).
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
/// How many files one order may carry.
pub const MAX_ATTACHMENTS: i64 = 5;
/// The longest name kept, in characters (the extension included).
pub const MAX_FILE_NAME_CHARS: usize = 100;

/// The kinds of file taken, told by their content (never by the name or the type the
/// browser claims).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Pdf,
    Png,
    Jpeg,
}

impl FileType {
    pub const ALL: [FileType; 3] = [FileType::Pdf, FileType::Png, FileType::Jpeg];

    /// Its media type, as stored and as downloads declare it.
    pub fn mime(self) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Png => "image/png",
            FileType::Jpeg => "image/jpeg",
        }
    }

    pub fn from_mime(mime: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.mime() == mime)
    }

    /// The extension a name of this kind ends with.
    pub fn extension(self) -> &'static str {
        match self {
            FileType::Pdf => "pdf",
            FileType::Png => "png",
            FileType::Jpeg => "jpg",
        }
    }

    /// The extensions people give files of this kind (any case).
    fn extensions(self) -> &'static [&'static str] {
        match self {
            FileType::Pdf => &["pdf"],
            FileType::Png => &["png"],
            FileType::Jpeg => &["jpg", "jpeg", "jpe"],
        }
    }

    /// What people call it.
    pub fn label(self) -> &'static str {
        match self {
            FileType::Pdf => "PDF",
            FileType::Png => "PNG",
            FileType::Jpeg => "JPEG",
        }
    }
}

/// A file on an order, as the API lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttachmentView {
    pub id: i64,
    /// The cleaned name it downloads under.
    #[schema(example = "quote-march.pdf")]
    pub name: String,
    /// In bytes.
    pub size: i64,
    /// `application/pdf`, `image/png` or `image/jpeg`, told from the content.
    #[schema(example = "application/pdf")]
    pub content_type: String,
    pub added_by: String,
    #[serde(deserialize_with = "crate::rfc3339::de")]
    pub at: DateTime<Utc>,
}

/// The name a file is shown and downloaded under, from whatever the uploader's browser
/// or client sent: the last part of any path, without control or invisible formatting
/// characters (bidirectional overrides could dress `exe.pdf` up as something else),
/// without characters that mean something in a path or a header, spaces collapsed, at
/// most [`MAX_FILE_NAME_CHARS`], and ending in an extension of its kind (one is added
/// when it ends in another). An empty result becomes `attachment.<ext>`.
pub fn clean_file_name(raw: &str, kind: FileType) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut name = String::with_capacity(last.len());
    for c in last.chars() {
        let c = if c.is_control() || crate::is_format_char(c) {
            continue;
        } else if matches!(
            c,
            '"' | '\'' | ';' | ':' | '*' | '?' | '<' | '>' | '|' | '%'
        ) || c.is_whitespace()
        {
            ' '
        } else {
            c
        };
        if c == ' ' && (name.is_empty() || name.ends_with(' ')) {
            continue;
        }
        name.push(c);
    }
    // Leading dots make hidden files; trailing dots and spaces vanish on some systems.
    let name = name.trim_matches(|c: char| c == ' ' || c == '.');
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, ext))
            if kind
                .extensions()
                .iter()
                .any(|e| e.eq_ignore_ascii_case(ext)) =>
        {
            (stem.trim_end_matches([' ', '.']), ext.to_ascii_lowercase())
        }
        _ => (name, kind.extension().to_owned()),
    };
    let stem = if stem.is_empty() { "attachment" } else { stem };
    let room = MAX_FILE_NAME_CHARS - extension.chars().count() - 1;
    let stem: String = stem.chars().take(room).collect();
    format!("{}.{extension}", stem.trim_end_matches([' ', '.']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_before_anyone_sees_them() {
        let cases = [
            ("quote.pdf", FileType::Pdf, "quote.pdf"),
            ("Quote March.PDF", FileType::Pdf, "Quote March.pdf"),
            ("C:\\Users\\alice\\quote.pdf", FileType::Pdf, "quote.pdf"),
            ("../../etc/passwd", FileType::Pdf, "passwd.pdf"),
            (
                "invoice\u{202E}fdp.exe",
                FileType::Pdf,
                "invoicefdp.exe.pdf",
            ),
            ("photo.jpeg", FileType::Jpeg, "photo.jpeg"),
            ("photo.png", FileType::Jpeg, "photo.png.jpg"),
            ("a\"b;c\r\nd.png", FileType::Png, "a b cd.png"),
            ("   ", FileType::Png, "attachment.png"),
            ("...", FileType::Pdf, "attachment.pdf"),
            (".hidden.pdf", FileType::Pdf, "hidden.pdf"),
            ("", FileType::Jpeg, "attachment.jpg"),
            ("%2e%2e.pdf", FileType::Pdf, "2e 2e.pdf"),
            (
                "Angebot – Müller.pdf",
                FileType::Pdf,
                "Angebot – Müller.pdf",
            ),
        ];
        for (raw, kind, cleaned) in cases {
            assert_eq!(clean_file_name(raw, kind), cleaned, "{raw:?}");
        }
    }

    #[test]
    fn long_names_keep_their_extension() {
        let long = format!("{}.pdf", "x".repeat(300));
        let cleaned = clean_file_name(&long, FileType::Pdf);
        assert_eq!(cleaned.chars().count(), MAX_FILE_NAME_CHARS);
        assert!(cleaned.ends_with(".pdf"));
    }

    #[test]
    fn every_kind_maps_both_ways() {
        for kind in FileType::ALL {
            assert_eq!(FileType::from_mime(kind.mime()), Some(kind));
            assert_eq!(
                clean_file_name("x", kind),
                format!("x.{}", kind.extension())
            );
        }
        assert_eq!(FileType::from_mime("text/html"), None);
    }
}

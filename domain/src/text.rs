//! Free text people type (product names, comments) that others will read.

/// Unicode format characters (general category Cf): invisible, yet they change what
/// a reader sees — bidi overrides and isolates reorder text ("Approve $1,000" can
/// display as something else), zero-width characters hide differences between two
/// names. Ordinary letters of every script, accents and emoji are not among them.
pub fn is_format_char(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// Why `text` cannot be shown to others as typed: control or format characters.
pub fn hidden_characters(text: &str, what: &str) -> Option<String> {
    if text.chars().any(char::is_control) {
        return Some(format!("The {what} cannot contain control characters."));
    }
    text.chars().find(|c| is_format_char(*c)).map(|c| {
        format!(
            "The {what} cannot contain invisible formatting characters (found U+{:04X}).",
            c as u32
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_formatting_is_refused_and_ordinary_text_kept() {
        for ok in [
            "Desk",
            "Schreibtisch für Büro",
            "書桌",
            "стол",
            "مكتب",
            "Chair 🪑",
            "Café",
        ] {
            assert_eq!(hidden_characters(ok, "product"), None, "{ok}");
        }
        for bad in [
            "Approve\u{202E}evil",
            "zero\u{200B}width",
            "iso\u{2067}late",
            "bom\u{FEFF}",
            "tab\there",
            "tag\u{E0041}",
        ] {
            assert!(hidden_characters(bad, "product").is_some(), "{bad:?}");
        }
    }
}

/// The longest text a list of orders is searched for. Longer text is refused with a
/// message rather than run: nobody types it, and SQLite refuses a `LIKE` pattern past
/// 50,000 bytes (a 60,000-character search once answered 500).
pub const MAX_SEARCH_CHARS: usize = 200;

/// A list's search text as a person typed it (`q`): trimmed, `None` when empty, refused
/// past [`MAX_SEARCH_CHARS`].
pub fn parse_search(text: &str) -> Result<Option<String>, crate::ValidationErrors> {
    let text = text.trim();
    if text.chars().count() > MAX_SEARCH_CHARS {
        return Err(crate::ValidationErrors::one(
            "q",
            format!("Search for at most {MAX_SEARCH_CHARS} characters."),
        ));
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

#[cfg(test)]
mod search_tests {
    use super::*;

    #[test]
    fn search_text_is_trimmed_and_bounded() {
        assert_eq!(parse_search("  desk "), Ok(Some("desk".to_owned())));
        assert_eq!(parse_search("   "), Ok(None));
        let longest = "x".repeat(MAX_SEARCH_CHARS);
        assert_eq!(parse_search(&longest), Ok(Some(longest.clone())));
        let errors = parse_search(&format!("{longest}x")).expect_err("too long");
        assert!(errors.for_field("q").is_some(), "{errors}");
    }
}

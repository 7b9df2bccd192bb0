//! People's e-mail addresses: where notifications about orders go. The grammar is the
//! RFC's (the `email_address` crate); on top of it, an address must be a plain one
//! (no "Name <…>", no IP literal) on a domain with a dot, as a company's mail is.

use email_address::{EmailAddress, Options};

/// The longest address SMTP can carry (RFC 5321's path limit, less its brackets).
pub const MAX_LEN: usize = 254;

/// An address that passed [`Email::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Checks `raw` (surrounding spaces ignored); the error says what to change.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("Enter an e-mail address, like name@example.com.".into());
        }
        if raw.len() > MAX_LEN {
            return Err(format!(
                "Use an e-mail address of at most {MAX_LEN} characters."
            ));
        }
        let options = Options::default()
            .with_required_tld()
            .without_display_text()
            .without_domain_literal();
        EmailAddress::parse_with_options(raw, options)
            .map(|address| Self(address.as_str().to_owned()))
            .map_err(|e| {
                use email_address::Error as E;
                let why = match e {
                    E::MissingSeparator => "it needs an @ between the name and the domain",
                    E::LocalPartEmpty => "the part before the @ is empty",
                    E::DomainEmpty => "the domain after the @ is empty",
                    E::DomainTooFew => "the domain needs a dot, like example.com",
                    E::UnsupportedDisplayName | E::MissingDisplayName | E::MissingEndBracket => {
                        "give the address alone, without a name or <brackets>"
                    }
                    E::UnsupportedDomainLiteral | E::InvalidIPAddress => {
                        "use a domain name, not an IP address"
                    }
                    E::InvalidCharacter => "it contains a character addresses cannot have",
                    _ => "it is not a valid address",
                };
                format!("That is not an e-mail address we can send to: {why}.")
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_plain_addresses_and_says_what_is_wrong_with_others() {
        assert_eq!(
            Email::parse("  bob@example.com ").map(|e| e.to_string()),
            Ok("bob@example.com".into())
        );
        assert!(Email::parse("dana.o'neil+po@mail.example.co.uk").is_ok());
        for (raw, says) in [
            ("", "Enter an e-mail address"),
            ("bob.example.com", "needs an @"),
            ("@example.com", "before the @ is empty"),
            ("bob@", "after the @ is empty"),
            ("bob@localhost", "needs a dot"),
            ("Bob <bob@example.com>", "without a name"),
            ("bob@[127.0.0.1]", "not an IP address"),
            ("bo b@example.com", "character"),
        ] {
            let refused = Email::parse(raw).expect_err(raw);
            assert!(refused.contains(says), "{raw:?}: {refused}");
        }
        let long = format!("{}@example.com", "a".repeat(MAX_LEN));
        assert!(Email::parse(&long)
            .expect_err("long")
            .contains("at most 254"));
    }
}

//! E-mail addresses as account identities: unique regardless of case (CONTRACT section 3).

use crate::validation::FieldError;

/// A plausible address, trimmed; [`EmailAddress::normalized`] is the lower-cased form that identifies an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(text: &str) -> Result<EmailAddress, FieldError> {
        let text = text.trim();
        let valid = text.len() <= 254
            && text.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && local.len() <= 64
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            })
            && !text
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>\"(),;:[]\\".contains(c));
        if valid {
            Ok(EmailAddress(text.to_owned()))
        } else {
            Err(FieldError::new("email", "is not a valid e-mail address"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalizes() {
        let email = EmailAddress::parse("  Ana.Lopez@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Ana.Lopez@Example.COM");
        assert_eq!(email.normalized(), "ana.lopez@example.com");
        for bad in [
            "",
            "ana",
            "@example.com",
            "ana@",
            "ana@localhost",
            "a b@example.com",
            "<a>@x.com",
            "a@b@c.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }
}

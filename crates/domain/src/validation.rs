use std::fmt;

/// A rejected input value: the JSON path of the field (e.g. `pricing.usage[0].tiers[1].up_to`), what kind of
/// problem it is, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub kind: FieldErrorKind,
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    Missing,
    Invalid,
    UnknownDimension,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: FieldErrorKind::Invalid,
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn missing(path: impl Into<String>) -> Self {
        Self {
            kind: FieldErrorKind::Missing,
            path: path.into(),
            message: "is required".into(),
        }
    }

    pub fn unknown_dimension(path: impl Into<String>, name: &str) -> Self {
        Self {
            kind: FieldErrorKind::UnknownDimension,
            path: path.into(),
            message: format!("unknown dimension {name:?}"),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for FieldError {}

/// A required, trimmed, non-empty text of at most `max` characters, free of control characters.
pub fn required_text(path: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldError::new(path, "must not be empty"));
    }
    optional_text(path, value, max).map(|v| v.unwrap_or_default())
}

/// Like [`required_text`], but an empty value means "not given".
pub fn optional_text(path: &str, value: &str, max: usize) -> Result<Option<String>, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > max {
        return Err(FieldError::new(path, format!("must be at most {max} characters")));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(FieldError::new(path, "must not contain control characters"));
    }
    Ok(Some(value.to_owned()))
}

/// An absolute `http` or `https` URL, as product redirect and terms URLs must be.
pub fn http_url(path: &str, value: &str) -> Result<String, FieldError> {
    let value = value.trim();
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| FieldError::new(path, "must be an absolute http or https URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty()
        || value.len() > 2000
        || value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>')
    {
        return Err(FieldError::new(path, "must be an absolute http or https URL"));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(http_url("u", "https://example.com/welcome").is_ok());
        assert!(http_url("u", "http://localhost:8080").is_ok());
        for bad in [
            "javascript:alert(1)",
            "ftp://x",
            "https://",
            "/relative",
            "https://a b",
            "https://x/\"<",
        ] {
            assert!(http_url("u", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(required_text("n", "  Backup  ", 10).unwrap(), "Backup");
        assert!(required_text("n", "   ", 10).is_err());
        assert!(required_text("n", "abcdefghijk", 10).is_err());
        assert!(required_text("n", "a\u{0}b", 10).is_err());
        assert_eq!(optional_text("n", " ", 10).unwrap(), None);
    }
}

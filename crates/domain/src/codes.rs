//! The shapes of codes and keys that people and programs type (CONTRACT sections 3 and 5, R12). Randomness comes
//! from the caller, so these stay pure.

/// Alphabet of product and offering codes: `A-Z0-9`.
const CODE_ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// RFC 4648 base32 without padding: unambiguous to read aloud and to type.
const KEY_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub const CODE_LEN: usize = 8;
/// How long an activation key works after it is made (R12).
pub const ACTIVATION_KEY_LIFETIME_SECONDS: i64 = 3600;
/// 28 base32 characters carry 140 bits, within the 30-character limit of R12.
pub const ACTIVATION_KEY_LEN: usize = 28;
pub const ACTIVATION_KEY_MAX_LEN: usize = 30;

/// An 8-character product or offering code from 8 random bytes.
pub fn product_code(random: [u8; CODE_LEN]) -> String {
    random
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(*b) % 36] as char)
        .collect()
}

pub fn is_product_code(text: &str) -> bool {
    text.len() == CODE_LEN && text.bytes().all(|b| CODE_ALPHABET.contains(&b))
}

/// An activation key from 18 random bytes (only the first 140 bits are used).
pub fn activation_key(random: [u8; 18]) -> String {
    let mut bits: u128 = 0;
    for b in &random[..16] {
        bits = (bits << 8) | u128::from(*b);
    }
    let extra = u16::from(random[16]) << 8 | u16::from(random[17]);
    (0..ACTIVATION_KEY_LEN)
        .map(|i| {
            let index = if i < 25 {
                (bits >> (i * 5)) & 31
            } else {
                u128::from(extra >> ((i - 25) * 5)) & 31
            };
            KEY_ALPHABET[index as usize] as char
        })
        .collect()
}

/// Whether a text has the shape of an activation key (R12: at most 30 characters of the key alphabet). Lower-case
/// letters are accepted because people retype keys; callers upper-case them first via [`normalize_activation_key`].
pub fn is_activation_key(text: &str) -> bool {
    !text.is_empty() && text.len() <= ACTIVATION_KEY_MAX_LEN && text.bytes().all(|b| KEY_ALPHABET.contains(&b))
}

pub fn normalize_activation_key(text: &str) -> String {
    text.trim().to_ascii_uppercase()
}

/// R12: a key is valid while `now − created ≤ 1 hour`, to the millisecond; a clock behind the key's creation (which
/// the business clock never is) does not make it valid longer.
pub fn activation_key_is_live(created_at_ms: i64, now_ms: i64) -> bool {
    now_ms - created_at_ms <= ACTIVATION_KEY_LIFETIME_SECONDS * 1000
}

/// The seller's redirect URL with `ActivationKey` and `ProductCode` appended (reference 4.1), before any fragment.
pub fn activation_redirect(redirect_url: &str, activation_key: &str, product_code: &str) -> String {
    let (base, fragment) = match redirect_url.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (redirect_url, None),
    };
    let separator = if !base.contains('?') {
        "?"
    } else if base.ends_with('?') || base.ends_with('&') {
        ""
    } else {
        "&"
    };
    let mut url = format!("{base}{separator}ActivationKey={activation_key}&ProductCode={product_code}");
    if let Some(fragment) = fragment {
        url.push('#');
        url.push_str(fragment);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as11_keys_live_one_hour() {
        let made = 36_000_000; // 10:00:00
        assert!(activation_key_is_live(made, made));
        assert!(activation_key_is_live(made, made + 3_599_000)); // 10:59:59
        assert!(activation_key_is_live(made, made + 3_600_000)); // 11:00:00, exactly one hour
        assert!(!activation_key_is_live(made, made + 3_600_001));
        assert!(!activation_key_is_live(made, made + 3_601_000)); // 11:00:01
    }

    #[test]
    fn redirect_carries_key_and_code() {
        assert_eq!(
            activation_redirect("https://example.com/welcome", "KEY", "774F4FF8"),
            "https://example.com/welcome?ActivationKey=KEY&ProductCode=774F4FF8"
        );
        assert_eq!(
            activation_redirect("https://x.io/a?b=1", "K", "C"),
            "https://x.io/a?b=1&ActivationKey=K&ProductCode=C"
        );
        assert_eq!(
            activation_redirect("https://x.io/a?#top", "K", "C"),
            "https://x.io/a?ActivationKey=K&ProductCode=C#top"
        );
    }

    #[test]
    fn product_codes_are_eight_alphanumerics() {
        let code = product_code([0, 1, 35, 36, 200, 255, 7, 9]);
        assert_eq!(code, "AB9AUDHJ");
        assert!(is_product_code(&code));
        assert!(!is_product_code("774f4ff8"));
        assert!(!is_product_code("774F4FF"));
    }

    #[test]
    fn activation_keys_fit_thirty_characters() {
        let key = activation_key([0xAB; 18]);
        assert_eq!(key.len(), ACTIVATION_KEY_LEN);
        assert!(is_activation_key(&key));
        assert_ne!(activation_key([1; 18]), activation_key([2; 18]));
        assert!(!is_activation_key(&"A".repeat(31)));
        assert!(!is_activation_key("ADMAY7DVLJ-WHJ76"));
        assert!(is_activation_key(&normalize_activation_key(
            " admay7dvljtwhj76mmbmqexample "
        )));
    }
}

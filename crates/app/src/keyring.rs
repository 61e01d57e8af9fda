//! The server's secret key (`TOLLGATE_SECRET_KEY`, CONTRACT section 1): encrypts the secrets that must stay usable,
//! such as derived secret access keys, with AES-256-GCM.

use std::io::Write;
use std::path::{Path, PathBuf};

use aes_gcm::aead::Aead;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const KEY_FILE: &str = "secret.key";
const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    /// Never prints the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    /// 32 bytes written in base64.
    pub fn parse(text: &str) -> anyhow::Result<SecretKey> {
        let bytes = STANDARD
            .decode(text.trim())
            .context("TOLLGATE_SECRET_KEY must be base64")?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("TOLLGATE_SECRET_KEY must be 32 bytes"))?;
        Ok(SecretKey(key))
    }

    /// The configured key; else, on SQLite, the one in `secret.key` beside the database, made (mode 0600) on first
    /// run. PostgreSQL serves several processes, which must share one key, so there it must be configured.
    pub fn load(configured: Option<&str>, database_url: &str) -> anyhow::Result<SecretKey> {
        if let Some(text) = configured.filter(|t| !t.trim().is_empty()) {
            return SecretKey::parse(text);
        }
        let Some(path) = key_file_beside(database_url) else {
            bail!("TOLLGATE_SECRET_KEY is required with PostgreSQL (32 bytes, base64), the same on every process");
        };
        if path.exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            return SecretKey::parse(&text).with_context(|| format!("in {}", path.display()));
        }
        let key = SecretKey(rand::random());
        write_private(&path, &STANDARD.encode(key.0)).with_context(|| format!("writing {}", path.display()))?;
        Ok(key)
    }

    /// `base64(nonce ‖ ciphertext)`, a fresh random nonce each time.
    pub fn encrypt(&self, plaintext: &str) -> anyhow::Result<String> {
        let cipher = Aes256Gcm::new_from_slice(&self.0).map_err(|e| anyhow::anyhow!("{e}"))?;
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = cipher
            .encrypt(&Nonce::from(nonce), plaintext.as_bytes())
            .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        Ok(STANDARD.encode([nonce.as_slice(), &sealed].concat()))
    }

    pub fn decrypt(&self, sealed: &str) -> anyhow::Result<String> {
        let bytes = STANDARD.decode(sealed)?;
        anyhow::ensure!(bytes.len() > NONCE_LEN, "sealed secret too short");
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let cipher = Aes256Gcm::new_from_slice(&self.0).map_err(|e| anyhow::anyhow!("{e}"))?;
        let plain = cipher
            .decrypt(&Nonce::try_from(nonce)?, ciphertext)
            .map_err(|_| anyhow::anyhow!("the secret does not open with this key"))?;
        Ok(String::from_utf8(plain)?)
    }
}

fn key_file_beside(database_url: &str) -> Option<PathBuf> {
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = Path::new(path.split('?').next().unwrap_or(path));
    Some(
        path.parent()
            .map_or_else(|| PathBuf::from(KEY_FILE), |dir| dir.join(KEY_FILE)),
    )
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens() {
        let key = SecretKey(rand::random());
        let sealed = key.encrypt("s3cret").unwrap();
        assert_ne!(sealed, key.encrypt("s3cret").unwrap(), "a fresh nonce each time");
        assert_eq!(key.decrypt(&sealed).unwrap(), "s3cret");
        assert!(SecretKey(rand::random()).decrypt(&sealed).is_err());
        assert_eq!(format!("{key:?}"), "SecretKey(…)");
    }

    #[test]
    fn made_once_beside_an_sqlite_database_and_required_with_postgres() {
        let dir = std::env::temp_dir().join(format!("tollgate-key-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/tollgate.db", dir.display());
        let first = SecretKey::load(None, &url).unwrap();
        let again = SecretKey::load(None, &url).unwrap();
        assert_eq!(first.0, again.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(SecretKey::load(None, "postgres://localhost/db").is_err());
        let configured = STANDARD.encode([7u8; 32]);
        assert_eq!(
            SecretKey::load(Some(&configured), "postgres://localhost/db").unwrap().0,
            [7u8; 32]
        );
        assert!(SecretKey::parse("c2hvcnQ=").is_err());
        std::fs::remove_dir_all(dir).ok();
    }
}

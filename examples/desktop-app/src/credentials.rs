//! The activation's result, kept in the user's config directory. The secret access key proves this computer's
//! activation to Tollgate, so only the user may read the file.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// What `activate-desktop-product` answers, kept as it came.
#[derive(Debug, Serialize, Deserialize)]
pub struct Credentials {
    pub user_token: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

pub struct CredentialStore {
    path: PathBuf,
}

impl CredentialStore {
    pub fn new(path: PathBuf) -> CredentialStore {
        CredentialStore { path }
    }

    /// The stored credentials; none before the first activation. A file that no longer reads as credentials
    /// counts as none, so that the user is asked to activate again rather than stuck.
    pub fn load(&self) -> anyhow::Result<Option<Credentials>> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", self.path.display())),
        };
        match serde_json::from_str(&text) {
            Ok(credentials) => Ok(Some(credentials)),
            Err(e) => {
                eprintln!("Ignoring {}, which is damaged ({e}).", self.path.display());
                Ok(None)
            }
        }
    }

    /// Writes a private file beside the old one and renames it into place, so that a crash never leaves half a
    /// file and the secret is never readable by others, not even for a moment.
    pub fn save(&self, credentials: &Credentials) -> anyhow::Result<()> {
        let dir = self.path.parent().context("the credentials path has no directory")?;
        create_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
        let partial = self.path.with_extension("json.partial");
        let _ = fs::remove_file(&partial);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&partial)
            .with_context(|| format!("creating {}", partial.display()))?;
        file.write_all(serde_json::to_string_pretty(credentials)?.as_bytes())?;
        file.sync_all()?;
        fs::rename(&partial, &self.path).with_context(|| format!("writing {}", self.path.display()))
    }

    pub fn forget(&self) -> anyhow::Result<()> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", self.path.display()))
            }
            _ => Ok(()),
        }
    }
}

/// The program's own directory is kept private too, also when it existed before; the config directory above it is
/// left as it is.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    #[cfg(unix)]
    fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    Ok(())
}

//! Where Backup Pro finds Tollgate and which product it is. A seller builds the product token into the program;
//! the flag and the variable let the same binary run against a test server.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "backup-pro",
    version,
    about = "Backup Pro: encrypted backups for your laptop"
)]
pub struct Config {
    /// The Tollgate server that sells Backup Pro.
    #[arg(long, env = "TOLLGATE_URL", default_value = "http://127.0.0.1:8080")]
    pub tollgate_url: String,

    /// Backup Pro's product token, from the seller console or `GET /api/v1/products`.
    #[arg(long, env = "BACKUP_PRO_PRODUCT_TOKEN", hide_env_values = true)]
    pub product_token: String,

    /// Forget this computer's activation and ask for a new activation key.
    #[arg(long)]
    pub activate: bool,
}

impl Config {
    pub fn tollgate_url(&self) -> &str {
        self.tollgate_url.trim_end_matches('/')
    }

    /// `$XDG_CONFIG_HOME/backup-pro/credentials.json`, else under `$HOME/.config`, as the XDG base directory
    /// specification asks (a relative `XDG_CONFIG_HOME` is to be ignored).
    pub fn credentials_path(&self) -> anyhow::Result<PathBuf> {
        let config_home = match std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from) {
            Some(dir) if dir.is_absolute() => dir,
            _ => {
                let home = std::env::var_os("HOME").context("neither XDG_CONFIG_HOME nor HOME is set")?;
                PathBuf::from(home).join(".config")
            }
        };
        Ok(config_home.join("backup-pro").join("credentials.json"))
    }
}

//! Photo Lab's settings, by flag or environment variable. The API key and product token come from the seller
//! console (or `POST /api/v1/products`); they stay on the server and never reach the browser.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "photo-lab",
    version,
    about = "Photo Lab: a hosted product sold through Tollgate"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "PHOTO_LAB_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// The Tollgate server that sells Photo Lab.
    #[arg(long, env = "TOLLGATE_URL", default_value = "http://127.0.0.1:8080")]
    pub tollgate_url: String,

    /// The seller's API key (`tg_sk_…`).
    #[arg(long, env = "TOLLGATE_API_KEY", hide_env_values = true)]
    pub api_key: String,

    /// Photo Lab's product token.
    #[arg(long, env = "PHOTO_LAB_PRODUCT_TOKEN", hide_env_values = true)]
    pub product_token: String,

    /// Photo Lab's product code, which also arrives as `ProductCode` on /welcome.
    #[arg(long, env = "PHOTO_LAB_PRODUCT_CODE")]
    pub product_code: String,

    /// The JSON file that keeps Photo Lab's users.
    #[arg(long, env = "PHOTO_LAB_USERS_FILE", default_value = "photo-lab-users.json")]
    pub users_file: PathBuf,
}

impl Config {
    pub fn tollgate_url(&self) -> &str {
        self.tollgate_url.trim_end_matches('/')
    }
}

//! Photo Lab, a hosted product sold through Tollgate: customers arrive from their order with an activation key,
//! Photo Lab activates it as the seller and keeps the customer's persistent identifier with its own user, and
//! checks the subscription on each visit.

mod config;
mod license;
mod routes;
mod users;

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

pub use config::Config;
use license::LicenseClient;
use routes::App;
use users::Users;

/// Serves Photo Lab on `listener` until the process ends. The product is looked up first, which shows a wrong
/// API key, product code or token at start rather than when the first customer arrives.
pub async fn serve(listener: TcpListener, config: Config) -> anyhow::Result<()> {
    let tollgate = LicenseClient::new(&config);
    let product = tollgate
        .product()
        .await
        .with_context(|| format!("looking up product {} in Tollgate", config.product_code))?;
    anyhow::ensure!(
        product.product_token == config.product_token,
        "the product token is not the token of product {}",
        config.product_code
    );
    let app = App {
        tollgate,
        users: Users::open(config.users_file.clone())?,
        tollgate_url: config.tollgate_url().to_owned(),
        product_code: config.product_code.clone(),
        purchase_url: product.purchase_url,
    };
    axum::serve(listener, routes::router(Arc::new(app))).await?;
    Ok(())
}

use anyhow::Context;
use clap::Parser;
use tollgate_example_hosted::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    println!("Photo Lab listening on http://{}", listener.local_addr()?);
    tollgate_example_hosted::serve(listener, config).await
}

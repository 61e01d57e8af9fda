use clap::Parser;
use tollgate::config::{Cli, Command};
use tollgate::startup::Application;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .init();
    match Cli::parse().command {
        Command::Migrate(args) => {
            let store = tollgate_store::Store::connect(&args.database_url).await?;
            store.migrate().await?;
            println!("migrations applied to {}", tollgate_store::redact(&args.database_url));
            Ok(())
        }
        Command::Serve(args) => {
            let app = Application::build(args).await?;
            // Printed whatever the log level: scripts and tests read it to find the port.
            println!("listening on http://{}", app.address());
            app.print_demo_guide();
            app.serve(shutdown_signal()).await
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

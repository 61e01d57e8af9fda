//! Building the application from its configuration: database, clocks, gateway, mail, the listener and the
//! workers. Binding port 0 works: [`Application::address`] reports the port taken.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use chrono::{SubsecRound, Utc};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tollgate_domain::calendar::parse_instant;
use tollgate_store::{Store, millis, redact};

use crate::clock::{BusinessClock, SystemClock};
use crate::config::ServeArgs;
use crate::gateway::{PaymentGateway, SandboxGateway};
use crate::keyring::SecretKey;
use crate::mail::delivery::{Mailer, deliver_due};
use crate::state::{AppState, Inner, Settings};
use crate::workers::{mail, scheduler};
use crate::{demo, http};

pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    state: AppState,
    mailer: Option<Arc<Mailer>>,
    demo: Option<demo::DemoGuide>,
}

impl Application {
    pub async fn build(args: ServeArgs) -> anyhow::Result<Application> {
        let store = Store::connect(&args.database.database_url)
            .await
            .with_context(|| format!("opening the database {}", redact(&args.database.database_url)))?;
        store.migrate().await.context("applying migrations")?;

        let sandbox = args.sandbox || args.demo;
        let clock = if sandbox {
            let start = match &args.sandbox_start {
                Some(text) => parse_instant(text).context("--sandbox-start must be an RFC 3339 instant")?,
                // Whole seconds, so the clock reads as people write instants.
                None => Utc::now().trunc_subsecs(0),
            };
            store.sandbox_clock_init(millis(start)).await?;
            BusinessClock::Simulated(store.clone())
        } else {
            BusinessClock::System
        };
        let gateway: Option<Arc<dyn PaymentGateway>> = if sandbox {
            Some(Arc::new(SandboxGateway::new(store.clone())))
        } else {
            None
        };

        let secret_key = SecretKey::load(args.secret_key.as_deref(), &args.database.database_url)?;
        let listener = TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("binding {}", args.addr))?;
        let address = listener.local_addr()?;
        let public_url = args.public_url.clone().unwrap_or_else(|| format!("http://{address}"));
        let mailer = match &args.smtp_url {
            Some(url) => Some(Arc::new(
                Mailer::new(url, &args.mail_from).context("TOLLGATE_SMTP_URL")?,
            )),
            None => None,
        };
        let state = AppState::new(Inner {
            store,
            clock,
            infra_clock: Arc::new(SystemClock),
            gateway,
            secret_key,
            settings: Settings {
                public_url: public_url.trim_end_matches('/').to_owned(),
                operator_name: args.operator_name.clone(),
                mail_from: args.mail_from.clone(),
                fees: args.fees()?,
                operator_token: args.operator_token.clone().filter(|t| !t.is_empty()),
                demo: args.demo,
            },
            scheduling: tokio::sync::Mutex::default(),
        });
        let demo = match args.demo {
            true => Some(demo::load(&state).await.context("loading the demo")?),
            false => None,
        };
        // Due work that fails now (a gateway that is down) is tried again by the scheduler; it must not keep the
        // server from starting.
        if let Err(error) = scheduler::run_due(&state, state.now().await?).await {
            tracing::warn!(%error, "due work at start-up failed; the scheduler retries it");
        }
        Ok(Application {
            listener,
            address,
            state,
            mailer,
            demo,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Prints the demo's URLs and logins, when the demo was loaded.
    pub fn print_demo_guide(&self) {
        if let Some(guide) = &self.demo {
            demo::print(&self.state, guide);
        }
    }

    /// Delivers every e-mail that is due now, as the mail worker does on its own every few seconds.
    pub async fn deliver_mail_now(&self) -> anyhow::Result<usize> {
        match &self.mailer {
            Some(mailer) => deliver_due(&self.state, mailer).await,
            None => Ok(0),
        }
    }

    /// Serves until `shutdown` completes, with the workers running beside.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let mut workers: Vec<JoinHandle<()>> = vec![scheduler::spawn(self.state.clone())];
        workers.extend(
            self.mailer
                .clone()
                .map(|mailer| mail::spawn(self.state.clone(), mailer)),
        );
        let router = http::router(self.state.clone());
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        for worker in workers {
            worker.abort();
        }
        self.state.store.close().await;
        Ok(served?)
    }

    /// A handle for tests and embedding: the address, the state, and serving in the background.
    pub fn spawn(self) -> RunningApp {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let address = self.address;
        let state = self.state.clone();
        let mailer = self.mailer.clone();
        let task = tokio::spawn(self.serve(async {
            let _ = stopped.await;
        }));
        RunningApp {
            address,
            state,
            mailer,
            stop: Some(stop),
            task,
        }
    }
}

pub struct RunningApp {
    pub address: SocketAddr,
    pub state: AppState,
    mailer: Option<Arc<Mailer>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningApp {
    pub async fn deliver_mail_now(&self) -> anyhow::Result<usize> {
        match &self.mailer {
            Some(mailer) => deliver_due(&self.state, mailer).await,
            None => Ok(0),
        }
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await?
    }
}

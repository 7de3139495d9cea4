//! `tandem proxy`: the access layer as a process. The topology comes from one of
//! three places:
//!
//! ```text
//!  --master/--replica      a static topology (epoch 1), like twemproxy
//!  --topology-file PATH    a JSON document re-read when it changes
//!  --routing URL           the routing store (tandem://host:port hosted by the
//!                          monitor, or etcd://host:port): followed with watch,
//!                          the last topology kept while the store is away;
//!                          link errors the proxy sees are reported back to it
//!                          as observations (evidence for the monitor)
//! ```

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tandem_routing::{RoutingStore, Topology};

/// `tandem proxy` options: the proxy's own, plus where its topology comes from.
#[derive(clap::Args, Debug, Clone)]
pub struct ProxyCmd {
    #[command(flatten)]
    pub proxy: tandem_proxy::ProxyArgs,
    /// Follow the routing store at this URL (`tandem://host:port` or
    /// `etcd://host:port[,host:port]`) instead of a static topology.
    #[arg(long, conflicts_with_all = ["master", "topology_file"])]
    pub routing: Option<String>,
    /// The cluster name in the routing store.
    #[arg(long, default_value = "tandem")]
    pub cluster: String,
}

fn init_logs(args: &tandem_proxy::ProxyArgs) -> anyhow::Result<()> {
    let builder = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_target(false);
    match &args.logfile {
        None => builder.with_ansi(std::io::stdout().is_terminal()).init(),
        Some(path) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("can't open the log file {}", path.display()))?;
            builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(f))
                .init();
        }
    }
    Ok(())
}

/// Waits (up to 30 s) for the store to hold a topology: at first start the
/// monitor publishes it moments after the proxy may have started.
async fn first_topology(store: &Arc<dyn RoutingStore>, url: &str) -> anyhow::Result<Topology> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match store.get().await {
            Ok(Some(t)) => return Ok(t),
            Ok(None) => tracing::info!("routing store {url} has no topology yet; waiting"),
            Err(e) => tracing::warn!("routing store {url}: {e}; retrying"),
        }
        if Instant::now() > deadline {
            anyhow::bail!("no topology from the routing store {url} within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn run(cmd: ProxyCmd) -> anyhow::Result<()> {
    let mut args = cmd.proxy.clone();
    init_logs(&args)?;
    // The routing follower and the observation reporter run on their own small
    // runtime; the proxy's hot path keeps its own.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("proxy-routing")
        .enable_all()
        .build()
        .context("starting the routing runtime")?;
    let (obs_tx, mut obs_rx) = tokio::sync::mpsc::channel(1024);
    let mut _static_tx = None;
    let mut _follow = None;
    let feed = if let Some(url) = &cmd.routing {
        let store = rt.block_on(tandem_routing::open(url, &cmd.cluster))?;
        let initial = rt.block_on(first_topology(&store, url))?;
        // The store's document also gives the static part of the configuration.
        if let Some(s) = initial.primary_shard() {
            args.master = Some(s.master.addr.clone());
            args.replica = s.replicas.iter().map(|r| r.addr.clone()).collect();
        }
        let (feed, handle) = {
            let _guard = rt.enter();
            tandem_routing::follow_with(store.clone(), Some(initial), Default::default())
        };
        _follow = Some(handle);
        let reporter = store.clone();
        rt.spawn(async move {
            while let Some(obs) = obs_rx.recv().await {
                if let Err(e) = reporter.report(obs).await {
                    tracing::debug!("reporting an observation: {e}");
                }
            }
        });
        feed
    } else {
        // Nobody listens to observations without a routing store: drain them.
        rt.spawn(async move { while obs_rx.recv().await.is_some() {} });
        match args.to_config().map_err(anyhow::Error::msg)?.1 {
            tandem_proxy::TopologySource::Static(t) => {
                let (tx, rx) = tandem_routing::fixed_feed(t);
                _static_tx = Some(tx);
                rx
            }
            tandem_proxy::TopologySource::File(path) => {
                let _guard = rt.enter();
                tandem_proxy::feed::file_feed(&path, Duration::from_millis(50))?
            }
        }
    };
    let cfg = match args.to_config() {
        Ok((c, _)) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    tracing::info!(
        "Tandem proxy {} starting, pid={}",
        env!("CARGO_PKG_VERSION"),
        std::process::id()
    );
    let handle = match tandem_proxy::start(cfg, feed, obs_tx) {
        Ok(h) => h,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    // SIGTERM and SIGINT stop it cleanly (its Unix socket file is removed).
    let stop = handle.shutdown_token();
    rt.spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("could not install signal handlers");
            return;
        };
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::warn!("Received {name}, shutting the proxy down");
        stop.cancel();
    });
    handle.wait();
    drop(rt);
    Ok(())
}

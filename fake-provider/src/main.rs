//! `fake-provider`: run the fake providers (GHN, GHTK, Viettel Post, MoMo, ZaloPay, VNPay, Stripe,
//! each under its own path prefix) on a local port for the quickstart and benchmarks.

use std::net::IpAddr;
use std::time::Duration;

use clap::Parser;

/// Serve the fake provider APIs (with fault-injection control endpoints) on a local address.
#[derive(Debug, Parser)]
#[command(name = "fake-provider", version)]
struct Args {
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// 0 binds an ephemeral port; the bound address is printed either way.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Latency added to every provider call.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// The only GHN Token accepted.
    #[arg(long, default_value = fake_provider::DEFAULT_TOKEN)]
    token: String,
    /// The only GHN ShopId accepted.
    #[arg(long, default_value_t = fake_provider::DEFAULT_SHOP_ID)]
    shop_id: i64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let fake = fake_provider::start(fake_provider::FakeConfig {
        host: args.host,
        port: args.port,
        latency: Duration::from_millis(args.latency_ms),
        token: args.token,
        shop_id: args.shop_id,
    })
    .await?;
    // Scripts wait for this exact line to learn the port.
    println!("fake-provider listening on {}", fake.url());
    tokio::signal::ctrl_c().await?;
    fake.shutdown().await;
    Ok(())
}

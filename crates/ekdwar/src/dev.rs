//! `ekdwar dev …`: tools for development and tests, never for production.

use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum DevCmd {
    /// Run the TEST payment gateway: a test double that speaks Ekdwar's gateway protocol and
    /// moves no money (see docs/payments.md). It prints its address on the first line.
    TestGateway {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// The merchant API key it accepts.
        #[arg(long, env = "EKDWAR_TEST_GATEWAY_KEY")]
        key: String,
        /// The secret it signs notifications with.
        #[arg(long, env = "EKDWAR_TEST_GATEWAY_SECRET")]
        secret: String,
        /// Seconds a delayed notification waits unless released.
        #[arg(long, default_value_t = 30)]
        delay: u64,
    },
}

pub(crate) async fn dev(cmd: DevCmd) -> anyhow::Result<()> {
    match cmd {
        DevCmd::TestGateway {
            listen,
            key,
            secret,
            delay,
        } => {
            let listener = tokio::net::TcpListener::bind(&listen).await?;
            let url = format!("http://{}", listener.local_addr()?);
            println!("{url}");
            eprintln!("TEST payment gateway (a test double; no money moves) at {url}");
            ekdwar_testgateway::serve(
                listener,
                ekdwar_testgateway::Options {
                    api_key: key,
                    secret,
                    public_url: url,
                    delay: std::time::Duration::from_secs(delay),
                },
            )
            .await?;
            Ok(())
        }
    }
}

//! Counters and histograms exported at `/metrics` in the Prometheus text format.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabels {
    pub channel: String,
}

pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: Family<RouteLabels, Histogram>,
    pub logins: Family<OutcomeLabels, Counter>,
    pub registrations: Counter,
    pub otps_sent: Family<ChannelLabels, Counter>,
    pub lockouts: Counter,
    pub deliveries: Family<OutcomeLabels, Counter>,
    /// Messages refused by a sending limit, by limit (`number`, `address`, `range`, `all`).
    pub sends_limited: Family<OutcomeLabels, Counter>,
    /// Requests refused because the database was unavailable, by reason (`no-space`,
    /// `unreachable`).
    pub unavailable: Family<OutcomeLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ekdwar");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_duration = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
        });
        let logins = Family::<OutcomeLabels, Counter>::default();
        let registrations = Counter::default();
        let otps_sent = Family::<ChannelLabels, Counter>::default();
        let lockouts = Counter::default();
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            http_duration.clone(),
        );
        registry.register("logins", "Login attempts by outcome", logins.clone());
        registry.register("registrations", "Accounts created", registrations.clone());
        registry.register(
            "otps_sent",
            "One-time codes and links sent",
            otps_sent.clone(),
        );
        registry.register(
            "lockouts",
            "Accounts or addresses put into back-off",
            lockouts.clone(),
        );
        registry.register(
            "message_deliveries",
            "Outbox delivery attempts by outcome",
            deliveries.clone(),
        );
        let sends_limited = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "messages_limited",
            "Messages refused by a sending limit, by limit",
            sends_limited.clone(),
        );
        let unavailable = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "database_unavailable",
            "Requests refused because the database was unavailable, by reason",
            unavailable.clone(),
        );
        Self {
            unavailable,
            sends_limited,
            registry,
            http_requests,
            http_duration,
            logins,
            registrations,
            otps_sent,
            lockouts,
            deliveries,
        }
    }
}

impl Metrics {
    pub fn login(&self, outcome: &str) {
        self.logins
            .get_or_create(&OutcomeLabels {
                outcome: outcome.into(),
            })
            .inc();
    }

    pub fn otp_sent(&self, channel: &str) {
        self.otps_sent
            .get_or_create(&ChannelLabels {
                channel: channel.into(),
            })
            .inc();
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

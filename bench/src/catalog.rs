//! Catalog search at scale: the in-process index over 10,000 services (built from the demo
//! definitions with varied names), against a plain scan of every name for the query, measured
//! in the same run.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ekdwar_app::catalog::{Bundle, SearchIndex};
use ekdwar_domain::catalog::{Service, Texts};

const PLACES: &[&str] = &[
    "Jaipur", "Jodhpur", "Kota", "Ajmer", "Udaipur", "Bikaner", "Kolkata", "Howrah", "Delhi",
    "Moscow", "Kazan", "Pune", "Nagpur", "Patna", "Lucknow", "Bhopal",
];
const KINDS: &[&str] = &[
    "certificate",
    "licence",
    "permit",
    "registration",
    "pension",
    "scholarship",
    "renewal",
    "allowance",
    "subsidy",
    "appointment",
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn measure(
    queries: &[&str],
    rounds: usize,
    mut run: impl FnMut(&str) -> usize,
) -> (Duration, Duration, usize) {
    let mut times = Vec::with_capacity(queries.len() * rounds);
    let mut hits = 0;
    for _ in 0..rounds {
        for q in queries {
            let start = Instant::now();
            hits += run(q);
            times.push(start.elapsed());
        }
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99), hits)
}

/// Prints search latency over 10,000 services.
pub fn figures() -> Result<()> {
    let files = Bundle::read_dir(std::path::Path::new("services")).context("services/")?;
    let langs = ekdwar_app::Catalog::languages();
    let langs: Vec<&str> = langs.iter().map(String::as_str).collect();
    let bundle = Bundle::parse(&files, &langs)
        .map_err(|p| anyhow::anyhow!("the demo definitions do not check: {}", p[0]))?;
    let mut services: Vec<Service> = Vec::with_capacity(10_000);
    for i in 0..10_000 {
        let base = &bundle.services[i % bundle.services.len()];
        let mut def = base.definition().clone();
        def.code = format!("svc-{i}");
        let suffix = format!(
            " {} {} {i}",
            KINDS[i % KINDS.len()],
            PLACES[(i / KINDS.len()) % PLACES.len()]
        );
        def.name = Texts(
            def.name
                .0
                .iter()
                .map(|(l, t)| (l.clone(), format!("{t}{suffix}")))
                .collect(),
        );
        services.push(
            Service::parse(def, &bundle.entries, &langs)
                .map_err(|p| anyhow::anyhow!("{}", p[0]))?,
        );
    }
    let refs: Vec<&Service> = services.iter().collect();
    let start = Instant::now();
    let index = SearchIndex::build(&refs);
    let built = start.elapsed();
    let queries = [
        "passport",
        "पासपोर्ट",
        "পাসপোর্ট",
        "паспорт",
        "pasport",
        "passprot",
        "income certificate jaipur",
        "kindergarden",
        "pension kazan",
        "licence",
    ];
    let (p50, p99, hits) = measure(&queries, 20, |q| index.search(q).len());
    // The baseline: every name in every language scanned for the query, lower-cased.
    let names: Vec<Vec<String>> = services
        .iter()
        .map(|s| s.name.all().map(str::to_lowercase).collect())
        .collect();
    let (b50, b99, _) = measure(&queries, 20, |q| {
        let q = q.to_lowercase();
        names
            .iter()
            .filter(|n| n.iter().any(|t| t.contains(&q)))
            .count()
    });
    println!(
        "Catalog search, 10,000 services (index built in {:.0} ms)",
        built.as_secs_f64() * 1000.0
    );
    println!("                                     p50        p99");
    println!(
        "  index (exact, prefix, typos)  {:>8.2} ms {:>8.2} ms   ({hits} hits)",
        p50.as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0
    );
    println!(
        "  scan of names (exact only)    {:>8.2} ms {:>8.2} ms   p50 ratio {:.1}×",
        b50.as_secs_f64() * 1000.0,
        b99.as_secs_f64() * 1000.0,
        b50.as_secs_f64() / p50.as_secs_f64().max(1e-9)
    );
    println!();
    Ok(())
}

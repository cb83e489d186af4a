//! The parsers that read what comes from outside — service definitions, centres files, filled
//! e-forms, bank statements, gateway notifications, phone numbers — given real samples with
//! random edits (characters replaced, inserted, removed): each answers with a value or an
//! error, and never panics. A few hundred cases each, every run.

use ekdwar_app::catalog::{Bundle, Catalog, SourceFile};
use ekdwar_app::payments::PaymentGateway;
use ekdwar_domain::appointments::{Centre, CentreFile};
use proptest::prelude::*;

/// A sample with up to `edits` random edits, each anywhere in it.
fn edited(sample: String, edits: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        (any::<prop::sample::Index>(), 0u8..3, any::<char>()),
        0..=edits,
    )
    .prop_map(move |ops| {
        let mut chars: Vec<char> = sample.chars().collect();
        for (at, op, c) in ops {
            if chars.is_empty() {
                chars.push(c);
                continue;
            }
            let i = at.index(chars.len());
            match op {
                0 => chars[i] = c,
                1 => chars.insert(i, c),
                _ => {
                    chars.remove(i);
                }
            }
        }
        chars.into_iter().collect()
    })
}

fn repo(path: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(path),
    )
    .unwrap()
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn langs() -> Vec<String> {
    Catalog::languages()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_service_definition_with_random_edits_is_checked_without_panicking(
        text in edited(repo("services/passport/fresh.toml"), 12),
    ) {
        let files = vec![
            SourceFile { name: "catalog.toml".into(), text: repo("services/catalog.toml") },
            SourceFile { name: "passport/fresh.toml".into(), text },
        ];
        let langs = langs();
        let _ = Bundle::parse(&files, &langs.iter().map(String::as_str).collect::<Vec<_>>());
    }

    #[test]
    fn a_centres_file_with_random_edits_is_read_without_panicking(
        text in edited(repo("centres/demo.toml"), 12),
    ) {
        if let Ok(file) = toml::from_str::<CentreFile>(&text) {
            for def in file.centres {
                let _ = Centre::parse(def);
            }
        }
    }

    #[test]
    fn a_bank_statement_with_random_edits_is_read_without_panicking(
        text in edited(
            "challan_reference,amount,currency,paid_at,bank_reference\n\
             EKC2612345678,1500.00,INR,2026-12-01T14:05:00+05:30,SBI0001\n\
             EKC2698765432,2000,INR,2026-12-02T10:00:00+05:30,HDFC/77\n".to_string(),
            16,
        ),
    ) {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
        for record in reader.records().flatten() {
            let fields: Vec<&str> = record.iter().collect();
            let _ = ekdwar_domain::payments::StatementLine::parse(&fields);
        }
    }

    #[test]
    fn a_phone_number_with_random_edits_is_read_without_panicking(
        text in edited("+91 98765 43210".to_string(), 6),
        local in edited("8 (912) 345-67-89".to_string(), 6),
    ) {
        let regions = ekdwar_domain::identity::Regions::india();
        let _ = ekdwar_domain::identity::Phone::parse(&text, &regions);
        let _ = ekdwar_domain::identity::Phone::parse(&local, &regions);
        let _ = ekdwar_domain::catalog::Arn::parse(&text);
        let _ = ekdwar_domain::payments::ChallanRef::parse(&local);
    }

    #[test]
    fn a_gateway_notification_with_random_edits_is_refused_or_read_without_panicking(
        body in edited(
            r#"{"event_id":"ev_1","payment":{"id":"pay_1","status":"succeeded","amount":150000,"currency":"INR","reference":"o-1"}}"#.to_string(),
            10,
        ),
        header in edited("t=1790000000,v1=00ff".to_string(), 6),
        payu in edited(
            "mihpayid=403993715&status=success&txnid=o-1&amount=1500.00&productinfo=fee&firstname=A&email=a%40b.in&hash=ab12".to_string(),
            10,
        ),
    ) {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let secret = "whsec-test-secret-test-secret";
        let gateway = ekdwar_app::payments::gateway::EkdwarGateway {
            name: "test".into(),
            url: "http://127.0.0.1:9".into(),
            api_key: "key".into(),
            secret: secret.into(),
            http: reqwest::Client::new(),
        };
        let now = 1_790_000_000;
        // Signed as the gateway signs, so that the body itself is read.
        let signed = ekdwar_domain::payments::signing::sign(secret.as_bytes(), now, body.as_bytes());
        let _ = gateway.read_notice(Some(&signed), body.as_bytes(), now);
        let _ = gateway.read_notice(Some(&header), body.as_bytes(), now);
        let _ = ekdwar_app::payments::payu::read_response("key", "salt", payu.as_bytes());
    }
}

/// A filled e-form (XML) with random edits: read into answers or refused, never a panic.
#[test]
fn a_filled_e_form_with_random_edits_is_read_without_panicking() {
    let files = [
        SourceFile {
            name: "catalog.toml".into(),
            text: repo("services/catalog.toml"),
        },
        SourceFile {
            name: "passport/fresh.toml".into(),
            text: repo("services/passport/fresh.toml"),
        },
    ];
    let langs = langs();
    let bundle = Bundle::parse(
        &files,
        &langs.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .expect("the demo service checks");
    let service = bundle
        .services
        .iter()
        .find(|s| s.code == "passport-fresh")
        .expect("passport-fresh");
    let form = service.form.as_ref().expect("it has a form");
    let sample = ekdwar_domain::catalog::eform::template("passport-fresh", 1, form, "en");
    let mut runner = proptest::test_runner::TestRunner::new(config());
    runner
        .run(&edited(sample, 16), |xml| {
            let _ = ekdwar_domain::catalog::eform::read("passport-fresh", form, xml.as_bytes());
            Ok(())
        })
        .unwrap();
}

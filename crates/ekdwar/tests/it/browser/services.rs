//! Finding a service as a person does: choose where you live, search in your own script (or
//! with a typo), open the service, read what to bring and what it costs. (axe-core runs in
//! the page, so pages are audited in the run with JavaScript.)

use super::Browser;
use crate::catalog::import_demo;
use crate::support::{TestApp, backends};

async fn finding_a_service(js: bool) {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        import_demo(&t).await;
        let b = Browser::start(&t.base, js).await;
        b.open("/").await;
        b.press("हिन्दी").await;
        if js {
            b.audit("home-with-services").await;
        }
        b.submit("a[href='/services']").await;
        assert_eq!(b.path().await, "/services");
        // Where do you live? Jaipur, Rajasthan.
        b.choose("region", "IN-RJ-JP").await;
        b.submit("form[action='/services/region'] button").await;
        assert_eq!(b.path().await, "/services");
        let text = b.text().await;
        assert!(
            text.contains("जयपुर"),
            "{backend}: the chosen place is shown"
        );
        assert!(text.contains("आय प्रमाण पत्र (राजस्थान)"), "{text}");
        assert!(!text.contains("किंडरगार्टन में नामांकन"), "{text}");
        if js {
            b.audit("services-in-jaipur").await;
        }
        // Search in Hindi.
        b.fill("q", "पासपोर्ट").await;
        b.submit("form[role='search'] button").await;
        assert!(b.path_and_query().await.starts_with("/services?q="));
        let text = b.text().await;
        assert!(text.contains("नया पासपोर्ट"), "{text}");
        if js {
            b.audit("services-search").await;
        }
        // And with a typo, in Latin letters.
        b.fill("q", "passprot").await;
        b.submit("form[role='search'] button").await;
        assert!(b.text().await.contains("नया पासपोर्ट"));
        // Nothing found says what to do.
        b.fill("q", "zzqqxx").await;
        b.submit("form[role='search'] button").await;
        assert!(b.text().await.contains("वर्तनी जाँचें"));
        if js {
            b.audit("services-none").await;
        }
        // The service: documents, fees in rupees, processing time.
        b.open("/services?q=passport").await;
        b.submit("a[href='/services/passport-fresh']").await;
        let text = b.text().await;
        for expected in ["जन्म तिथि का प्रमाण", "₹1,500", "₹2,000", "3 से 30 कार्य दिवस"]
        {
            assert!(text.contains(expected), "{expected} missing: {text}");
        }
        if js {
            b.audit("service-passport").await;
        }
        // A service of another place says where it is offered.
        b.open("/services/mos-kindergarten").await;
        assert!(b.text().await.contains("मॉस्को"));
        if js {
            b.audit("service-elsewhere").await;
        }
        // A service in a department's app links to it.
        b.open("/services/rj-recruitment").await;
        assert_eq!(
            b.attr("a.button[rel='noopener']", "href").await.as_deref(),
            Some("https://recruitment.rajasthan.example/start")
        );
        // Everywhere again.
        b.open("/services").await;
        b.choose("region", "").await;
        b.submit("form[action='/services/region'] button").await;
        assert!(b.text().await.contains("किंडरगार्टन में नामांकन"));
    }
}

#[tokio::test]
async fn finding_a_service_with_javascript() {
    finding_a_service(true).await;
}

#[tokio::test]
async fn finding_a_service_without_javascript() {
    finding_a_service(false).await;
}

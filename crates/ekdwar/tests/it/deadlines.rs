//! Time in the workflow: each state's deadline counts working days in the office's region
//! (weekends and that region's holidays skipped); an application past it is escalated once to
//! the role the workflow names, within that role's scope; an untouched draft is deleted after
//! a reminder, and touching it keeps it.

use std::time::Duration;

use ekdwar_app::audit::Actor;

use crate::accounts::PASSWORD;
use crate::applications::submitted_pcc;
use crate::catalog::import_demo;
use crate::officers::officer;
use crate::support::{TestApp, backends};

const DAY: Duration = Duration::from_secs(86_400);

#[tokio::test]
async fn an_application_past_its_working_day_deadline_is_escalated_once_within_scope() {
    for backend in backends() {
        // The test sweeps; no worker sweeps behind its back.
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .with_config(|c| c.server.run_worker = false)
            .start()
            .await;
        import_demo(&t).await;
        officer(
            &t,
            "sup.rj",
            1,
            "passport-supervisor",
            "mea",
            Some("IN-RJ"),
            None,
        )
        .await;
        officer(
            &t,
            "sup.wb",
            2,
            "passport-supervisor",
            "mea",
            Some("IN-WB"),
            None,
        )
        .await;
        officer(
            &t,
            "off.rj",
            3,
            "passport-officer",
            "mea",
            Some("IN-RJ"),
            None,
        )
        .await;
        let (id, arn) = submitted_pcc(&t, "asha.k").await;

        // Submitted today at the Jaipur office: three working days of Rajasthan's calendar.
        let today = t.app.applications.today();
        let expected = t
            .app
            .catalog
            .snapshot()
            .entries
            .add_working_days(Some("IN-RJ"), today, 3);
        let owner = t.account("asha.k").await;
        let loaded = t.app.applications.get(&owner.id, &id).await.unwrap();
        assert_eq!(loaded.due_on, Some(expected));
        assert!(expected.since(today).unwrap().get_days() >= 3);

        // Nothing is overdue yet.
        assert_eq!(t.app.applications.sweep().await.unwrap().escalated, 0);

        // A fortnight on, it is: the Rajasthan supervisor is told, the West Bengal one is not.
        t.advance(14 * DAY);
        let swept = t.app.applications.sweep().await.unwrap();
        assert_eq!((swept.escalated, swept.officers_told), (1, 1), "{backend}");
        let told = t.last_message("+919700000001").await;
        assert!(
            told.contains(&arn.to_string()) && told.contains("deadline"),
            "{told}"
        );
        assert_eq!(t.messages_to("+919700000002").await, 0);
        // Once per state.
        assert_eq!(t.app.applications.sweep().await.unwrap().escalated, 0);

        // The officer's queue shows it overdue; the filter keeps only such ones.
        let officer_id = t.account("off.rj").await.id;
        let queue = t.app.applications.queue(&officer_id).await.unwrap();
        assert!(queue.iter().any(|i| i.loaded.id == id && i.overdue));

        // The escalation is in the audit log, against the citizen.
        let (log, _) = t.app.audit.security_events(&owner.id, None).await.unwrap();
        assert!(
            log.iter()
                .any(|e| e.action == ekdwar_domain::audit::AuditAction::ApplicationEscalated),
            "{log:?}"
        );
    }
}

#[tokio::test]
async fn an_untouched_draft_is_deleted_after_a_reminder_and_a_touched_one_is_kept() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .with_user("ravi.k", PASSWORD)
            .with_config(|c| c.server.run_worker = false)
            .start()
            .await;
        import_demo(&t).await;
        let actor = Actor::command_line();
        let asha = t.account("asha.k").await;
        let ravi = t.account("ravi.k").await;
        let left = t
            .app
            .applications
            .start(&asha, "police-clearance", &actor)
            .await
            .unwrap()
            .unwrap();
        let kept = t
            .app
            .applications
            .start(&ravi, "police-clearance", &actor)
            .await
            .unwrap()
            .unwrap();

        // Thirty days by default, with a reminder seven days before.
        t.advance(20 * DAY);
        assert_eq!(t.app.applications.sweep().await.unwrap().reminded, 0);
        t.advance(4 * DAY);
        let swept = t.app.applications.sweep().await.unwrap();
        assert_eq!(swept.reminded, 2, "{backend}");
        let phone = asha.phone.clone().unwrap();
        let reminder = t.last_message(&phone).await;
        assert!(reminder.contains("will be deleted on"), "{reminder}");
        assert_eq!(t.app.applications.sweep().await.unwrap().reminded, 0);

        // Ravi continues his draft; Asha does not.
        let answers = [
            (
                "given_name".to_string(),
                ekdwar_domain::catalog::answers::Typed::One("Ravi".into()),
            ),
            (
                "surname".to_string(),
                ekdwar_domain::catalog::answers::Typed::One("Kumar".into()),
            ),
            (
                "date_of_birth".to_string(),
                ekdwar_domain::catalog::answers::Typed::One("1985-05-05".into()),
            ),
            (
                "passport_number".to_string(),
                ekdwar_domain::catalog::answers::Typed::One("K7654321".into()),
            ),
        ]
        .into_iter()
        .collect();
        t.app
            .applications
            .save_page(
                &ravi.id,
                &kept,
                "applicant",
                &answers,
                &ekdwar_app::i18n::Lang::english(),
            )
            .await
            .unwrap();

        // Deleted only once the reminder's seven days have passed, too.
        t.advance(7 * DAY - Duration::from_secs(3600));
        assert_eq!(t.app.applications.sweep().await.unwrap().expired, 0);
        t.advance(2 * Duration::from_secs(3600));
        let swept = t.app.applications.sweep().await.unwrap();
        assert_eq!(swept.expired, 1, "{backend}");
        assert!(t.app.applications.get(&asha.id, &left).await.is_err());
        assert!(t.app.applications.get(&ravi.id, &kept).await.is_ok());
    }
}

#[tokio::test]
async fn the_worker_schedules_the_sweep() {
    let t = TestApp::start("sqlite").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let jobs = t
            .app
            .jobs
            .jobs_of_kind(ekdwar_app::jobs::SWEEP_APPLICATIONS)
            .await
            .unwrap();
        if !jobs.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no sweep scheduled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

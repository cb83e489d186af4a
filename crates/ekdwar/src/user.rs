//! `ekdwar user …`: accounts.

use crate::common::{Common, app, explain};
use anyhow::{Context, bail};
use clap::Subcommand;
use ekdwar_app::i18n::Lang;
use ekdwar_app::identity::NewUserInput;
use ekdwar_app::views::AccountView;
use ekdwar_domain::password::Password;
use ekdwar_domain::{AccountStatus, Role};

#[derive(Subcommand)]
pub(crate) enum UserCmd {
    /// Create an account (the password is read from EKDWAR_NEW_PASSWORD or asked on stdin).
    Add {
        #[arg(long)]
        portal_id: String,
        #[arg(long)]
        first_name: String,
        #[arg(long)]
        last_name: String,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// An administrator of the portal.
        #[arg(long, conflicts_with = "reviewer")]
        admin: bool,
        /// A specialist who decides the registry checks sent to review.
        #[arg(long)]
        reviewer: bool,
        /// Language of the person's messages (en, hi, bn, ru); the portal's default if not given.
        #[arg(long)]
        language: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Show one account by id, portal ID, phone or e-mail.
    Show {
        who: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Find accounts: by phone, e-mail or portal ID exactly, or by the start of a name in any
    /// script or case (`amit` finds अमित); at most 20.
    Search {
        text: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: Common,
    },
    /// List accounts.
    List {
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long, default_value_t = 0)]
        offset: i64,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Lock an account and end its sessions.
    Lock {
        who: String,
        #[command(flatten)]
        common: Common,
    },
    /// Set an account's level (simplified, standard, verified), audited: until registry
    /// checks and in-person confirmation arrive, an administrator decides.
    SetLevel {
        who: String,
        level: String,
        #[command(flatten)]
        common: Common,
    },
    /// Unlock an account and clear its failed-login counter.
    Unlock {
        who: String,
        #[command(flatten)]
        common: Common,
    },
    /// Turn two-step login off for a person who lost both the app and the recovery codes
    /// (after checking who they are); their sessions end. An administrator sets it up again
    /// at the next login.
    TwoStepOff {
        who: String,
        #[command(flatten)]
        common: Common,
    },
}

pub(crate) fn print_user(u: &AccountView, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(u).unwrap_or_default());
    } else {
        println!(
            "{}  {:<20} {:<24} {:<10} {:<8} {}",
            u.id,
            u.portal_id,
            u.full_name(),
            u.level.as_str(),
            u.status.as_str(),
            u.contact().unwrap_or_default()
        );
    }
}

pub(crate) fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("EKDWAR_NEW_PASSWORD") {
        return Ok(p);
    }
    eprint!("Password: ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub(crate) async fn user(cmd: UserCmd) -> anyhow::Result<()> {
    match cmd {
        UserCmd::Add {
            portal_id,
            first_name,
            last_name,
            phone,
            email,
            admin,
            reviewer,
            language,
            common,
        } => {
            if phone.is_none() && email.is_none() {
                bail!("give --phone or --email so that the person can recover the account");
            }
            let language = match language.as_deref().map(|l| (l, Lang::parse(l))) {
                None => None,
                Some((_, Some(lang))) => Some(lang),
                Some((l, None)) => bail!("--language {l}: use one of en, hi, bn, ru"),
            };
            let app = app(&common).await?;
            let password = Password::new(read_password()?);
            let u = app
                .identity
                .admin_add_user(NewUserInput {
                    portal_id,
                    first_name,
                    last_name,
                    phone,
                    email,
                    password,
                    role: match (admin, reviewer) {
                        (true, _) => Role::Admin,
                        (_, true) => Role::Reviewer,
                        _ => Role::Citizen,
                    },
                    language,
                })
                .await
                .map_err(explain)?;
            print_user(&u, true);
        }
        UserCmd::Show { who, json, common } => {
            let app = app(&common).await?;
            let u = app
                .identity
                .admin_find_user(&who)
                .await
                .map_err(explain)?
                .context("no such account")?;
            print_user(&u, json);
        }
        UserCmd::Search { text, json, common } => {
            let app = app(&common).await?;
            let found = app
                .identity
                .admin_search_users(&text)
                .await
                .map_err(explain)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&found)?);
            } else {
                for u in &found.accounts {
                    print_user(u, false);
                }
                if found.accounts.is_empty() {
                    eprintln!("no account matches {text:?}");
                } else if found.more {
                    eprintln!("more accounts match: type more of the name");
                }
            }
        }
        UserCmd::List {
            limit,
            offset,
            json,
            common,
        } => {
            let app = app(&common).await?;
            let users = app
                .identity
                .admin_list_users(limit, offset)
                .await
                .map_err(explain)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                for u in &users {
                    print_user(u, false);
                }
            }
        }
        UserCmd::Lock { who, common } => {
            let app = app(&common).await?;
            let u = app
                .identity
                .admin_set_status(&who, AccountStatus::Locked)
                .await
                .map_err(explain)?;
            println!("{} is locked", u.portal_id);
        }
        UserCmd::TwoStepOff { who, common } => {
            let app = app(&common).await?;
            let u = app
                .identity
                .admin_two_step_off(&who)
                .await
                .map_err(explain)?;
            println!(
                "two-step login is off for {}; their sessions have ended",
                u.portal_id
            );
        }
        UserCmd::SetLevel { who, level, common } => {
            let Some(level) = ekdwar_domain::AccountLevel::parse(&level) else {
                bail!("{level}: use simplified, standard or verified");
            };
            let app = app(&common).await?;
            let u = app
                .identity
                .admin_set_level(&who, level)
                .await
                .map_err(explain)?;
            println!("{} is at the {} level", u.portal_id, u.level);
        }
        UserCmd::Unlock { who, common } => {
            let app = app(&common).await?;
            let u = app
                .identity
                .admin_set_status(&who, AccountStatus::Active)
                .await
                .map_err(explain)?;
            println!("{} is unlocked", u.portal_id);
        }
    }
    Ok(())
}

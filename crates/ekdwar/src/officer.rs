//! `ekdwar officer …`: department staff and what they may do where.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use ekdwar_app::applications::Assignment;
use ekdwar_app::audit::Actor;
use ekdwar_app::i18n::Lang;
use ekdwar_app::identity::NewUserInput;
use ekdwar_domain::Role;
use ekdwar_domain::password::Password;

use crate::common::{Common, app, explain};
use crate::user::{print_user, read_password};

/// Where an officer works: a workflow role in a department, narrowed to a region or office.
#[derive(Args)]
pub(crate) struct Scope {
    /// The workflow role (as the service definitions name it, e.g. passport-officer).
    #[arg(long)]
    role: String,
    /// The department's code.
    #[arg(long)]
    department: String,
    /// Only applications for offices in this region and the regions below it.
    #[arg(long)]
    region: Option<String>,
    /// Only applications for this office.
    #[arg(long)]
    office: Option<String>,
}

impl Scope {
    fn assignment(self) -> Assignment {
        Assignment {
            role: self.role,
            department: self.department,
            region: self.region,
            office: self.office,
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum OfficerCmd {
    /// Create an officer's account (password from EKDWAR_NEW_PASSWORD or stdin) with one
    /// assignment. Officers must set up two-step login at their first login.
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
        #[arg(long)]
        language: Option<String>,
        #[command(flatten)]
        scope: Scope,
        #[command(flatten)]
        common: Common,
    },
    /// Give an existing officer another assignment.
    Assign {
        /// The officer's portal ID, phone or e-mail.
        who: String,
        #[command(flatten)]
        scope: Scope,
        #[command(flatten)]
        common: Common,
    },
}

pub(crate) async fn officer(cmd: OfficerCmd) -> anyhow::Result<()> {
    match cmd {
        OfficerCmd::Add {
            portal_id,
            first_name,
            last_name,
            phone,
            email,
            language,
            scope,
            common,
        } => {
            if phone.is_none() && email.is_none() {
                bail!("give --phone or --email so that the officer can recover the account");
            }
            let language = match language.as_deref() {
                None => None,
                Some(l) => Some(
                    Lang::parse(l)
                        .with_context(|| format!("--language {l}: use en, hi, bn or ru"))?,
                ),
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
                    role: Role::Officer,
                    language,
                })
                .await
                .map_err(explain)?;
            app.applications
                .assign(&u.id, &scope.assignment(), &Actor::command_line())
                .await
                .map_err(explain)?;
            print_user(&u, true);
        }
        OfficerCmd::Assign { who, scope, common } => {
            let app = app(&common).await?;
            let u = app
                .identity
                .admin_find_user(&who)
                .await
                .map_err(explain)?
                .with_context(|| format!("no account {who}"))?;
            if u.role != Role::Officer {
                bail!("{who} is not an officer (create officers with `ekdwar officer add`)");
            }
            app.applications
                .assign(&u.id, &scope.assignment(), &Actor::command_line())
                .await
                .map_err(explain)?;
            println!("assigned");
        }
    }
    Ok(())
}

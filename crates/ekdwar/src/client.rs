//! `ekdwar client …`: departmental apps (OpenID Connect clients).

use crate::common::{Common, app, explain, print_json};
use anyhow::Context;
use clap::{Args, Subcommand};
use ekdwar_app::views::AppView;

#[derive(Args, Clone, Default)]
pub(crate) struct ClientFields {
    /// Where the app receives sign-in answers; repeat for several.
    #[arg(long = "redirect-uri")]
    pub(crate) redirect_uris: Vec<String>,
    /// Where the app may send people after logging out; repeat for several.
    #[arg(long = "post-logout-redirect-uri")]
    pub(crate) post_logout_redirect_uris: Vec<String>,
    /// The app's logo: an http(s) address or a file, PNG, JPEG or WebP up to 100 KB. It is read
    /// now, re-encoded and served by the portal; give it again to pick up a new image, or give
    /// "" to remove it.
    #[arg(long)]
    pub(crate) logo: Option<String>,
    /// The page the apps directory links to.
    #[arg(long)]
    pub(crate) launch_url: Option<String>,
    #[arg(long)]
    pub(crate) helpdesk_phone: Option<String>,
    #[arg(long)]
    pub(crate) helpdesk_email: Option<String>,
    /// Officer in charge of the app.
    #[arg(long)]
    pub(crate) officer: Option<String>,
    /// `pairwise` (default: each app sees a different subject) or `public`.
    #[arg(long)]
    pub(crate) subject_type: Option<String>,
    #[arg(long)]
    pub(crate) backchannel_logout_uri: Option<String>,
    /// Signature of ID tokens: ES256 (default) or RS256 for apps that cannot verify ES256.
    #[arg(long)]
    pub(crate) id_token_alg: Option<String>,
    /// An API scope of the app's own, which it may ask for with `client_credentials`
    /// (machine-to-machine calls); repeat for several. No person's data scopes. On update the
    /// list replaces the old one, and `--api-scope ""` removes them all.
    #[arg(long = "api-scope")]
    pub(crate) api_scopes: Vec<String>,
}

#[derive(Subcommand)]
pub(crate) enum ClientCmd {
    /// Register an app; prints its client_id and, for confidential apps, the secret (once).
    Add {
        #[arg(long)]
        name: String,
        /// A public app (mobile or single-page) has no secret and must use PKCE.
        #[arg(long)]
        public: bool,
        #[command(flatten)]
        fields: ClientFields,
        #[command(flatten)]
        common: Common,
    },
    List {
        #[command(flatten)]
        common: Common,
    },
    Show {
        client_id: String,
        #[command(flatten)]
        common: Common,
    },
    /// Change an app; the given lists replace the old ones.
    Update {
        client_id: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        fields: ClientFields,
        #[command(flatten)]
        common: Common,
    },
    /// Switch an app off: its logins and tokens stop working.
    Disable {
        client_id: String,
        #[command(flatten)]
        common: Common,
    },
    Enable {
        client_id: String,
        #[command(flatten)]
        common: Common,
    },
    /// Issue a new secret; the old one stops working at once.
    RotateSecret {
        client_id: String,
        #[command(flatten)]
        common: Common,
    },
}

pub(crate) fn client_json(c: &AppView, secret: Option<&str>) -> serde_json::Value {
    let mut v = serde_json::to_value(c).unwrap_or_default();
    if let Some(s) = secret {
        v["client_secret"] = serde_json::json!(s);
    }
    v
}

pub(crate) async fn client(cmd: ClientCmd) -> anyhow::Result<()> {
    use ekdwar_app::sso::{ClientInput, ClientPatch};
    let enable = matches!(cmd, ClientCmd::Enable { .. });
    match cmd {
        ClientCmd::Add {
            name,
            public,
            fields,
            common,
        } => {
            let app = app(&common).await?;
            let f = fields;
            let created = app
                .sso
                .add_client(ClientInput {
                    name,
                    redirect_uris: f.redirect_uris,
                    post_logout_redirect_uris: f.post_logout_redirect_uris,
                    public,
                    logo_url: f.logo,
                    api_scopes: f.api_scopes,
                    launch_url: f.launch_url,
                    helpdesk_phone: f.helpdesk_phone,
                    helpdesk_email: f.helpdesk_email,
                    officer: f.officer,
                    subject_type: f.subject_type,
                    backchannel_logout_uri: f.backchannel_logout_uri,
                    id_token_alg: f.id_token_alg,
                })
                .await
                .map_err(explain)?;
            print_json(&client_json(&created.app, created.secret.as_deref()))
        }
        ClientCmd::List { common } => {
            let list = app(&common)
                .await?
                .sso
                .clients(false)
                .await
                .map_err(explain)?;
            print_json(&serde_json::Value::Array(
                list.iter().map(|c| client_json(c, None)).collect(),
            ))
        }
        ClientCmd::Show { client_id, common } => {
            let c = app(&common)
                .await?
                .sso
                .app(&client_id)
                .await
                .map_err(explain)?
                .context("no such app")?;
            print_json(&client_json(&c, None))
        }
        ClientCmd::Update {
            client_id,
            name,
            fields,
            common,
        } => {
            let f = fields;
            let list = |v: Vec<String>| (!v.is_empty()).then_some(v);
            let c = app(&common)
                .await?
                .sso
                .update_client(
                    &client_id,
                    ClientPatch {
                        name,
                        redirect_uris: list(f.redirect_uris),
                        post_logout_redirect_uris: list(f.post_logout_redirect_uris),
                        logo_url: f.logo,
                        launch_url: f.launch_url,
                        helpdesk_phone: f.helpdesk_phone,
                        helpdesk_email: f.helpdesk_email,
                        officer: f.officer,
                        subject_type: f.subject_type,
                        backchannel_logout_uri: f.backchannel_logout_uri,
                        id_token_alg: f.id_token_alg,
                        // Given, the list replaces the old one; `--api-scope ""` empties it.
                        api_scopes: list(f.api_scopes)
                            .map(|v| v.into_iter().filter(|s| !s.is_empty()).collect()),
                    },
                )
                .await
                .map_err(explain)?;
            print_json(&client_json(&c, None))
        }
        ClientCmd::Disable { client_id, common } | ClientCmd::Enable { client_id, common } => {
            let c = app(&common)
                .await?
                .sso
                .set_client_enabled(&client_id, enable)
                .await
                .map_err(explain)?;
            print_json(&client_json(&c, None))
        }
        ClientCmd::RotateSecret { client_id, common } => {
            let secret = app(&common)
                .await?
                .sso
                .rotate_client_secret(&client_id)
                .await
                .map_err(explain)?;
            print_json(&serde_json::json!({ "client_id": client_id, "client_secret": secret }))
        }
    }
}

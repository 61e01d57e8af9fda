//! The demo's mailbox: every composed e-mail, so a demo needs no mail server. Only with `--demo`.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use tollgate_domain::calendar::format_instant;

use super::{Layout, error_page, render};
use crate::error::Error;
use crate::http::auth::Visitor;
use crate::state::AppState;

struct MailView {
    subject: String,
    to_address: String,
    created: String,
    state: String,
    text_body: String,
}

#[derive(Template)]
#[template(path = "pages/mailbox.html")]
struct MailboxPage {
    layout: Layout,
    emails: Vec<MailView>,
}

pub async fn page(State(state): State<AppState>, visitor: Visitor) -> Response {
    let layout = Layout::new(&state, &visitor);
    if !state.settings.demo {
        return error_page(Error::NotFound("page"), layout);
    }
    match state.store.recent_emails(200).await {
        Ok(emails) => render(MailboxPage {
            layout,
            emails: emails
                .into_iter()
                .map(|e| MailView {
                    created: format_instant(tollgate_store::instant(e.created_at)),
                    subject: e.subject,
                    to_address: e.to_address,
                    state: e.state,
                    text_body: e.text_body,
                })
                .collect(),
        }),
        Err(error) => error_page(error.into(), layout),
    }
}

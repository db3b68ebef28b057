//! Delivers the e-mail outbox through SMTP when one is configured.

use crate::store::Store;
use anyhow::Context;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Starts the delivery loop: every two seconds, sends what is queued and records the outcome.
pub fn spawn(store: Store, smtp_url: String, from: String) -> anyhow::Result<()> {
    let url = url::Url::parse(&smtp_url).ok().filter(|u| u.scheme() == "smtp" && u.host_str().is_some());
    let url = url.with_context(|| format!("the SMTP URL '{smtp_url}' is not valid (use smtp://HOST:PORT)"))?;
    // Plain SMTP to a local relay; the relay handles TLS and authentication onwards.
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(url.host_str().unwrap_or("localhost"))
        .port(url.port().unwrap_or(25))
        .timeout(Some(Duration::from_secs(10)))
        .build();
    let from: Mailbox = from.parse().with_context(|| format!("the sender '{from}' is not a valid address"))?;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tick.tick().await;
            if let Err(e) = deliver(&store, &transport, &from).await {
                tracing::warn!(error = %e, "mail delivery round failed");
            }
        }
    });
    Ok(())
}

async fn deliver(store: &Store, transport: &AsyncSmtpTransport<Tokio1Executor>, from: &Mailbox) -> anyhow::Result<()> {
    // A minute is far longer than sending 20 messages takes; a node that dies holding a claim
    // only delays those messages by that much.
    for mail in store.claim_mail(20, 60).await? {
        let built = mail.to_email.parse::<Mailbox>().map_err(anyhow::Error::from).and_then(|to| {
            Ok(Message::builder().from(from.clone()).to(to).subject(&mail.subject).body(mail.body.clone())?)
        });
        let outcome = match built {
            Ok(message) => transport.send(message).await.map(|_| ()).map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => store.mail_sent(mail.id).await?,
            Err(e) => {
                tracing::warn!(mail = mail.id, error = %e, "sending mail failed");
                store.mail_failed(mail.id, &e.to_string()).await?;
            }
        }
    }
    Ok(())
}

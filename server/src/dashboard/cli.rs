//! `latchkey admin create <email>`: creates a dashboard administrator, or sets a new password on an
//! existing one (which also lifts a lockout and signs out its sessions). The password comes from
//! `LATCHKEY_ADMIN_PASSWORD`, else from standard input (one line; typed at a prompt on a terminal).

use std::io::{BufRead, IsTerminal, Write};

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Create a dashboard administrator (or reset its password). The password is read from
    /// LATCHKEY_ADMIN_PASSWORD or standard input.
    Create {
        /// The administrator's email (the sign-in name).
        email: String,
    },
}

pub async fn run(config: crate::Config, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Create { email } => {
            let email = email.trim().to_ascii_lowercase();
            anyhow::ensure!(
                email.contains('@') && !email.contains(char::is_whitespace),
                "{email:?} is not an email address"
            );
            let password = match std::env::var("LATCHKEY_ADMIN_PASSWORD") {
                Ok(p) if !p.is_empty() => p,
                _ => read_password()?,
            };
            anyhow::ensure!(
                password.chars().count() >= MIN_PASSWORD,
                "the password must have at least {MIN_PASSWORD} characters"
            );
            create(&config.database_url, &email, &password).await?;
            println!(
                "administrator {email} can sign in at {}/dashboard/",
                config.public_url
            );
            Ok(())
        }
    }
}

/// Creates (or resets) an administrator in the database `config` names.
pub async fn create(database_url: &str, email: &str, password: &str) -> anyhow::Result<()> {
    let store = crate::storage::Store::connect(database_url).await?;
    let hash = super::auth::hash_password(password)?;
    store
        .upsert_admin(
            &email.trim().to_ascii_lowercase(),
            &hash,
            &crate::time::real_iso(),
        )
        .await?;
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password (at least {MIN_PASSWORD} characters; shown as you type): ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

//! `latchkey keys`: show, rotate or re-seal the `dev` environment's keys.

use super::database_location;
use clap::Subcommand;
use latchkey_server::{prepare, Config};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Print the keys (`--secret` prints only the secret key, for scripts).
    Show {
        /// Print only the secret key, nothing else (for `$(latchkey keys show --secret)`).
        #[arg(long)]
        secret: bool,
    },
    /// Replace the secret, public and/or webhook signing key with new random ones. Backends, pages
    /// and webhook receivers using an old key stop working at once.
    Rotate {
        /// A new secret key (for backends).
        #[arg(long)]
        secret: bool,
        /// A new public key (legacy frontend auth).
        #[arg(long)]
        public: bool,
        /// A new webhook signing key.
        #[arg(long)]
        webhook_signing: bool,
    },
    /// Re-seal every secret at rest with the current `LATCHKEY_ENCRYPTION_KEY` (after a rotation;
    /// the old key must be in `LATCHKEY_PREVIOUS_ENCRYPTION_KEYS`), printing progress. When it reports
    /// nothing failed, the previous key can be removed.
    Reseal,
}

pub async fn run(config: Config, command: KeysCommand) -> anyhow::Result<()> {
    let env_overrides = [
        ("LATCHKEY_SECRET_KEY", config.secret_key.is_some()),
        ("LATCHKEY_PUBLIC_KEY", config.public_key.is_some()),
        (
            "LATCHKEY_WEBHOOK_SIGNING_KEY",
            config.webhook_signing_key.is_some(),
        ),
    ];
    let database = database_location(&config);
    let (app, env, _) = prepare(config).await?;
    match command {
        KeysCommand::Show { secret: true } => println!("{}", env.secret_key.expose()),
        KeysCommand::Show { secret: false } => {
            print_keys(&env);
            println!("database:             {database}");
        }
        KeysCommand::Reseal => {
            use std::io::Write;
            let mut progress = |table: &str, done: usize, total: usize| {
                eprint!("\r{table}: {done}/{total}   ");
                if done == total {
                    eprintln!();
                }
                let _ = std::io::stderr().flush();
            };
            let done = latchkey_server::reseal::reseal_all(
                &app.vault,
                latchkey_server::reseal::Scope::All,
                &mut progress,
            )
            .await?;
            println!(
                "re-sealed: {} environment(s), {} integration(s), {} connection(s); {} could not be opened",
                done.environments, done.integrations, done.connections, done.failed
            );
            anyhow::ensure!(
                done.failed == 0,
                "some secrets are sealed by a key that is not in the keyring"
            );
        }
        KeysCommand::Rotate {
            secret,
            public,
            webhook_signing,
        } => {
            anyhow::ensure!(
                secret || public || webhook_signing,
                "say which key: --secret, --public and/or --webhook-signing"
            );
            for (var, set) in env_overrides {
                if set {
                    eprintln!(
                        "warning: {var} is set and will replace the rotated key at the next start"
                    );
                }
            }
            let new_secret = secret.then(|| uuid::Uuid::new_v4().to_string());
            let new_public = public.then(|| uuid::Uuid::new_v4().to_string());
            let new_signing = webhook_signing.then(|| uuid::Uuid::new_v4().to_string());
            let keys = latchkey_server::environment::KeyOverrides {
                secret: new_secret.as_deref(),
                public: new_public.as_deref(),
                webhook_signing: new_signing.as_deref(),
            };
            let env =
                latchkey_server::environment::set_keys(&app.store, &app.cipher, env, keys).await?;
            latchkey_server::activity::hooks::keys_rotated(
                &app.activity,
                env.id,
                secret,
                public,
                webhook_signing,
            );
            app.activity.flush().await;
            print_keys(&env);
        }
    }
    Ok(())
}

fn print_keys(env: &latchkey_server::environment::Environment) {
    println!("environment:          {}", env.name);
    println!("secret key:           {}", env.secret_key.expose());
    println!("public key:           {}", env.public_key);
    println!("webhook signing key:  {}", env.webhook_signing_key.expose());
}

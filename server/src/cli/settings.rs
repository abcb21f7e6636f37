//! `latchkey settings`: show the environment's settings, or set one through the same patch and
//! checks as `PATCH /environment/settings`.

use clap::Subcommand;
use latchkey_server::{prepare, Config};

#[derive(Subcommand)]
pub enum SettingsCommand {
    /// Print the settings as JSON (the HMAC key is masked).
    Show,
    /// Set one setting (the value is read as JSON when it parses as JSON, else as a string).
    ///
    /// Settings: callback_url, webhook_url, webhook_url_secondary (URLs or null),
    /// webhook_on_auth_creation, webhook_on_auth_refresh_error, hmac_enabled, browser_cookie_check
    /// (true/false), hmac_key (string or null), allowed_origins (JSON list of exact origins),
    /// connect_ui (merged into the current value; keys as Nango's connectUISettings, snake_case
    /// accepted too): {"defaultTheme": "light"|"dark"|"system", "showWatermark": bool,
    /// "theme": {"light": {"primary": "#rrggbb"}, "dark": {"primary": "#rrggbb"}}}.
    ///
    /// Examples: `settings set callback_url https://auth.example.com/callback`,
    /// `settings set allowed_origins '["https://app.example.com"]'`, `settings set hmac_key null`,
    /// `settings set connect_ui '{"defaultTheme":"dark"}'`.
    #[command(verbatim_doc_comment)]
    Set {
        /// The setting's name, e.g. `connect_ui`.
        name: String,
        /// JSON, or a plain string.
        value: String,
    },
}

pub async fn run(config: Config, command: SettingsCommand) -> anyhow::Result<()> {
    use latchkey_protocol::settings::EnvironmentSettingsPatch;
    use latchkey_server::settings;
    let (app, env, _) = prepare(config).await?;
    let shown = match command {
        SettingsCommand::Show => (*env.settings).clone(),
        SettingsCommand::Set { name, value } => {
            let fields = [name.clone()];
            let value = serde_json::from_str(&value).unwrap_or(serde_json::Value::String(value));
            // Through the same patch type and validation as `PATCH /environment/settings`.
            let patch: EnvironmentSettingsPatch =
                serde_json::from_value(serde_json::json!({ name: value }))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            let updated = env.update_settings(&app.store, &app.cipher, patch).await?;
            latchkey_server::activity::hooks::settings_changed(
                &app.activity,
                env.id,
                &fields,
                &updated,
            );
            app.activity.flush().await;
            updated.map_err(|e| anyhow::anyhow!("{e}"))?
        }
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&settings::redacted(&shown))?
    );
    Ok(())
}

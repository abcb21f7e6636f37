//! English texts (the reference language; wording follows Nango's Connect UI where it has one).

use super::Key;

pub(super) fn text(key: Key) -> &'static str {
    match key {
        Key::DialogLabel => "Connect an integration",
        Key::Close => "Close",
        Key::Loading => "Loading",
        Key::OpenedDirectly => {
            "This page can't be opened directly. Please start a connection from your application."
        }
        Key::SessionExpired => "Your session has expired, please refresh the modal",
        Key::FatalError => "An error occurred. Please refresh your page or contact our support.",
        Key::ListTitle => "Select Integration",
        Key::ListDescription => "Please select an API integration from the list below.",
        Key::ListEmpty => "No integration found.",
        Key::ConnectTo => "Connect to {name}",
        Key::ProviderLoadFailed => "This integration could not be loaded. Please try again.",
        Key::LinkAccount => "Link {name} Account",
        Key::Back => "Back",
        Key::WeWillConnect => "We'll connect you to {name}.",
        Key::PopupHint => "A pop-up will open, please make sure your browser doesn't block pop-ups.",
        Key::Connect => "Connect",
        Key::Connecting => "Connecting...",
        Key::UnsupportedAuthMode => {
            "Connecting {name} with this authentication method is not supported yet in this version."
        }
        Key::NeedHelp => "Need help?",
        Key::ViewGuide => "View connection guide",
        Key::SuccessTitle => "Success!",
        Key::SuccessText => "You've successfully set up your {name} integration.",
        Key::CloseTab => "You can now close this tab.",
        Key::Finish => "Finish",
        Key::FailureTitle => "Connection failed",
        Key::PopupBlocked => "The pop-up was blocked by your browser. Allow pop-ups and try again.",
        Key::PopupClosed => "The authorization window was closed before finishing.",
        Key::UnknownFailure => "An error occurred during authorization. Please try again.",
        Key::ErrorDetails => "Error details",
        Key::ErrorType => "Error type",
        Key::TryAgain => "Try again",
        Key::FieldRequired => "This field is required",
        Key::FieldIncorrect => "This {name} does not have the expected format",
        Key::Optional => "optional",
        Key::FieldApiKey => "API Key",
        Key::FieldUsername => "Username",
        Key::FieldPassword => "Password",
        Key::FieldClientId => "Client ID",
        Key::FieldClientSecret => "Client Secret",
        Key::FieldHelp => "Help for {name}",
        Key::InvalidCredentials => "These credentials were not accepted. Check them and try again.",
        Key::NetworkFailure => "The server could not be reached. Check your connection and try again.",
        Key::ConsentDenied => "The authorization was denied. Try again and accept the request to connect.",
        Key::ConfirmLeave => "Are you sure you want to leave?",
        Key::ContinueHere => "Continue in this window",
        Key::FillRequired => "Complete the fields marked * to continue.",
    }
}

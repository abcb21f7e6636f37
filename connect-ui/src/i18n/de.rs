//! Deutsche Texte.

use super::Key;

pub(super) fn text(key: Key) -> &'static str {
    match key {
        Key::DialogLabel => "Integration verbinden",
        Key::Close => "Schließen",
        Key::Loading => "Wird geladen",
        Key::OpenedDirectly => {
            "Diese Seite kann nicht direkt geöffnet werden. Bitte starten Sie eine Verbindung aus Ihrer Anwendung."
        }
        Key::SessionExpired => "Ihre Sitzung ist abgelaufen, bitte öffnen Sie das Fenster erneut",
        Key::FatalError => "Ein Fehler ist aufgetreten. Bitte laden Sie die Seite neu oder wenden Sie sich an den Support.",
        Key::ListTitle => "Integration auswählen",
        Key::ListDescription => "Bitte wählen Sie eine Integration aus der Liste unten.",
        Key::ListEmpty => "Keine Integration gefunden.",
        Key::ConnectTo => "Mit {name} verbinden",
        Key::ProviderLoadFailed => "Diese Integration konnte nicht geladen werden. Bitte versuchen Sie es erneut.",
        Key::LinkAccount => "{name}-Konto verknüpfen",
        Key::Back => "Zurück",
        Key::WeWillConnect => "Wir verbinden Sie mit {name}.",
        Key::PopupHint => "Ein Pop-up-Fenster wird geöffnet. Bitte stellen Sie sicher, dass Ihr Browser keine Pop-ups blockiert.",
        Key::Connect => "Verbinden",
        Key::Connecting => "Verbindung wird hergestellt…",
        Key::UnsupportedAuthMode => {
            "Die Verbindung mit {name} über diese Authentifizierungsmethode wird noch nicht unterstützt."
        }
        Key::NeedHelp => "Brauchen Sie Hilfe?",
        Key::ViewGuide => "Verbindungsanleitung ansehen",
        Key::SuccessTitle => "Erfolg!",
        Key::SuccessText => "Ihre {name}-Integration ist eingerichtet.",
        Key::CloseTab => "Sie können diesen Tab jetzt schließen.",
        Key::Finish => "Fertig",
        Key::FailureTitle => "Verbindung fehlgeschlagen",
        Key::PopupBlocked => "Das Pop-up wurde von Ihrem Browser blockiert. Erlauben Sie Pop-ups und versuchen Sie es erneut.",
        Key::PopupClosed => "Das Autorisierungsfenster wurde vor dem Abschluss geschlossen.",
        Key::UnknownFailure => "Bei der Autorisierung ist ein Fehler aufgetreten. Bitte versuchen Sie es erneut.",
        Key::ErrorDetails => "Fehlerdetails",
        Key::ErrorType => "Fehlertyp",
        Key::TryAgain => "Erneut versuchen",
        Key::FieldRequired => "Dieses Feld ist erforderlich",
        Key::FieldIncorrect => "{name} hat nicht das erwartete Format",
        Key::Optional => "optional",
        Key::FieldApiKey => "API-Schlüssel",
        Key::FieldUsername => "Benutzername",
        Key::FieldPassword => "Passwort",
        Key::FieldClientId => "Client-ID",
        Key::FieldClientSecret => "Client-Secret",
        Key::FieldHelp => "Hilfe zu {name}",
        Key::InvalidCredentials => "Diese Zugangsdaten wurden nicht akzeptiert. Prüfen Sie sie und versuchen Sie es erneut.",
        Key::NetworkFailure => "Der Server ist nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.",
        Key::ConsentDenied => "Die Autorisierung wurde abgelehnt. Versuchen Sie es erneut und stimmen Sie der Anfrage zu.",
        Key::ConfirmLeave => "Möchten Sie wirklich abbrechen?",
        Key::ContinueHere => "In diesem Fenster fortfahren",
        Key::FillRequired => "Füllen Sie die mit * markierten Felder aus, um fortzufahren.",
    }
}

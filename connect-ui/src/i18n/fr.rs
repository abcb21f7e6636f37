//! Textes français.

use super::Key;

pub(super) fn text(key: Key) -> &'static str {
    match key {
        Key::DialogLabel => "Connecter une intégration",
        Key::Close => "Fermer",
        Key::Loading => "Chargement",
        Key::OpenedDirectly => {
            "Cette page ne peut pas être ouverte directement. Veuillez démarrer une connexion depuis votre application."
        }
        Key::SessionExpired => "Votre session a expiré, veuillez rouvrir la fenêtre",
        Key::FatalError => "Une erreur est survenue. Veuillez actualiser la page ou contacter le support.",
        Key::ListTitle => "Sélectionnez une intégration",
        Key::ListDescription => "Veuillez choisir une intégration dans la liste ci-dessous.",
        Key::ListEmpty => "Aucune intégration trouvée.",
        Key::ConnectTo => "Se connecter à {name}",
        Key::ProviderLoadFailed => "Cette intégration n'a pas pu être chargée. Veuillez réessayer.",
        Key::LinkAccount => "Associer votre compte {name}",
        Key::Back => "Retour",
        Key::WeWillConnect => "Nous allons vous connecter à {name}.",
        Key::PopupHint => "Une fenêtre pop-up va s'ouvrir : vérifiez que votre navigateur ne bloque pas les pop-ups.",
        Key::Connect => "Connecter",
        Key::Connecting => "Connexion…",
        Key::UnsupportedAuthMode => {
            "La connexion à {name} avec cette méthode d'authentification n'est pas encore prise en charge."
        }
        Key::NeedHelp => "Besoin d'aide ?",
        Key::ViewGuide => "Voir le guide de connexion",
        Key::SuccessTitle => "Succès !",
        Key::SuccessText => "Votre intégration {name} est configurée.",
        Key::CloseTab => "Vous pouvez maintenant fermer cet onglet.",
        Key::Finish => "Terminer",
        Key::FailureTitle => "Échec de la connexion",
        Key::PopupBlocked => "La fenêtre pop-up a été bloquée par votre navigateur. Autorisez les pop-ups et réessayez.",
        Key::PopupClosed => "La fenêtre d'autorisation a été fermée avant la fin.",
        Key::UnknownFailure => "Une erreur est survenue pendant l'autorisation. Veuillez réessayer.",
        Key::ErrorDetails => "Détails de l'erreur",
        Key::ErrorType => "Type d'erreur",
        Key::TryAgain => "Réessayer",
        Key::FieldRequired => "Ce champ est obligatoire",
        Key::FieldIncorrect => "Le format de {name} n'est pas celui attendu",
        Key::Optional => "facultatif",
        Key::FieldApiKey => "Clé d'API",
        Key::FieldUsername => "Nom d'utilisateur",
        Key::FieldPassword => "Mot de passe",
        Key::FieldClientId => "ID client",
        Key::FieldClientSecret => "Secret client",
        Key::FieldHelp => "Aide pour {name}",
        Key::InvalidCredentials => "Ces identifiants n'ont pas été acceptés. Vérifiez-les et réessayez.",
        Key::NetworkFailure => "Le serveur est injoignable. Vérifiez votre connexion et réessayez.",
        Key::ConsentDenied => "L'autorisation a été refusée. Réessayez et acceptez la demande de connexion.",
        Key::ConfirmLeave => "Voulez-vous vraiment quitter ?",
        Key::ContinueHere => "Continuer dans cette fenêtre",
        Key::FillRequired => "Remplissez les champs marqués * pour continuer.",
    }
}

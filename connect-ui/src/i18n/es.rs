//! Textos en español.

use super::Key;

pub(super) fn text(key: Key) -> &'static str {
    match key {
        Key::DialogLabel => "Conectar una integración",
        Key::Close => "Cerrar",
        Key::Loading => "Cargando",
        Key::OpenedDirectly => {
            "Esta página no se puede abrir directamente. Inicie una conexión desde su aplicación."
        }
        Key::SessionExpired => "Su sesión ha caducado, vuelva a abrir la ventana",
        Key::FatalError => "Se produjo un error. Actualice la página o contacte con soporte.",
        Key::ListTitle => "Seleccione una integración",
        Key::ListDescription => "Elija una integración de la lista siguiente.",
        Key::ListEmpty => "No se encontró ninguna integración.",
        Key::ConnectTo => "Conectar con {name}",
        Key::ProviderLoadFailed => "No se pudo cargar esta integración. Inténtelo de nuevo.",
        Key::LinkAccount => "Vincular su cuenta de {name}",
        Key::Back => "Atrás",
        Key::WeWillConnect => "Le conectaremos con {name}.",
        Key::PopupHint => "Se abrirá una ventana emergente; asegúrese de que su navegador no bloquee las ventanas emergentes.",
        Key::Connect => "Conectar",
        Key::Connecting => "Conectando…",
        Key::UnsupportedAuthMode => {
            "Todavía no se admite conectar {name} con este método de autenticación."
        }
        Key::NeedHelp => "¿Necesita ayuda?",
        Key::ViewGuide => "Ver la guía de conexión",
        Key::SuccessTitle => "¡Listo!",
        Key::SuccessText => "Su integración de {name} está configurada.",
        Key::CloseTab => "Ya puede cerrar esta pestaña.",
        Key::Finish => "Finalizar",
        Key::FailureTitle => "La conexión falló",
        Key::PopupBlocked => "Su navegador bloqueó la ventana emergente. Permita las ventanas emergentes e inténtelo de nuevo.",
        Key::PopupClosed => "La ventana de autorización se cerró antes de terminar.",
        Key::UnknownFailure => "Se produjo un error durante la autorización. Inténtelo de nuevo.",
        Key::ErrorDetails => "Detalles del error",
        Key::ErrorType => "Tipo de error",
        Key::TryAgain => "Reintentar",
        Key::FieldRequired => "Este campo es obligatorio",
        Key::FieldIncorrect => "{name} no tiene el formato esperado",
        Key::Optional => "opcional",
        Key::FieldApiKey => "Clave de API",
        Key::FieldUsername => "Nombre de usuario",
        Key::FieldPassword => "Contraseña",
        Key::FieldClientId => "ID de cliente",
        Key::FieldClientSecret => "Secreto de cliente",
        Key::FieldHelp => "Ayuda sobre {name}",
        Key::InvalidCredentials => "No se aceptaron estas credenciales. Revíselas e inténtelo de nuevo.",
        Key::NetworkFailure => "No se pudo contactar con el servidor. Revise su conexión e inténtelo de nuevo.",
        Key::ConsentDenied => "Se denegó la autorización. Inténtelo de nuevo y acepte la solicitud de conexión.",
        Key::ConfirmLeave => "¿Seguro que desea salir?",
        Key::ContinueHere => "Continuar en esta ventana",
        Key::FillRequired => "Completa los campos marcados con * para continuar.",
    }
}

//! 日本語のテキスト。

use super::Key;

pub(super) fn text(key: Key) -> &'static str {
    match key {
        Key::DialogLabel => "連携を接続",
        Key::Close => "閉じる",
        Key::Loading => "読み込み中",
        Key::OpenedDirectly => {
            "このページは直接開けません。アプリケーションから接続を開始してください。"
        }
        Key::SessionExpired => "セッションの有効期限が切れました。もう一度開いてください",
        Key::FatalError => "エラーが発生しました。ページを再読み込みするか、サポートにお問い合わせください。",
        Key::ListTitle => "連携を選択",
        Key::ListDescription => "以下の一覧から連携を選択してください。",
        Key::ListEmpty => "連携が見つかりません。",
        Key::ConnectTo => "{name} に接続",
        Key::ProviderLoadFailed => "この連携を読み込めませんでした。もう一度お試しください。",
        Key::LinkAccount => "{name} アカウントをリンク",
        Key::Back => "戻る",
        Key::WeWillConnect => "{name} に接続します。",
        Key::PopupHint => "ポップアップが開きます。ブラウザーがポップアップをブロックしていないことを確認してください。",
        Key::Connect => "接続",
        Key::Connecting => "接続中…",
        Key::UnsupportedAuthMode => {
            "この認証方式での {name} への接続はまだサポートされていません。"
        }
        Key::NeedHelp => "お困りですか？",
        Key::ViewGuide => "接続ガイドを見る",
        Key::SuccessTitle => "完了しました！",
        Key::SuccessText => "{name} の連携を設定しました。",
        Key::CloseTab => "このタブを閉じてかまいません。",
        Key::Finish => "完了",
        Key::FailureTitle => "接続に失敗しました",
        Key::PopupBlocked => "ポップアップがブラウザーにブロックされました。ポップアップを許可して、もう一度お試しください。",
        Key::PopupClosed => "認可ウィンドウが完了前に閉じられました。",
        Key::UnknownFailure => "認可中にエラーが発生しました。もう一度お試しください。",
        Key::ErrorDetails => "エラーの詳細",
        Key::ErrorType => "エラーの種類",
        Key::TryAgain => "再試行",
        Key::FieldRequired => "この項目は必須です",
        Key::FieldIncorrect => "{name} の形式が正しくありません",
        Key::Optional => "任意",
        Key::FieldApiKey => "API キー",
        Key::FieldUsername => "ユーザー名",
        Key::FieldPassword => "パスワード",
        Key::FieldClientId => "クライアント ID",
        Key::FieldClientSecret => "クライアントシークレット",
        Key::FieldHelp => "{name} のヘルプ",
        Key::InvalidCredentials => "この認証情報は受け付けられませんでした。確認してもう一度お試しください。",
        Key::NetworkFailure => "サーバーに接続できませんでした。接続を確認して、もう一度お試しください。",
        Key::ConsentDenied => "認可が拒否されました。もう一度お試しのうえ、接続リクエストを承認してください。",
        Key::ConfirmLeave => "本当に終了しますか？",
        Key::ContinueHere => "このウィンドウで続ける",
        Key::FillRequired => "続行するには * の付いた項目を入力してください。",
    }
}

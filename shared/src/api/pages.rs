//! The two public pages of connecting a seller: the link's page, which sends the seller to Amazon's consent, and
//! the callback's page, which says what happened. Plain HTML with its style inline and no external asset (the
//! content security policy allows nothing else), in English or German as the browser prefers, never holding a
//! code, token or state but in the consent link itself; `Referrer-Policy: no-referrer`, as Amazon asks (Step 1),
//! keeps the link's and the callback's query out of any other site's logs.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::connect::{ConnectRefusal, Connected};
use crate::domain::connect::ConnectLink;
use crate::domain::{ImportInterval, LinkRefusal, Marketplace};

/// A page's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    /// English, the default.
    En,
    /// German.
    De,
}

impl Lang {
    /// The language an `Accept-Language` header prefers among English and German (highest weight first, the
    /// earlier on a tie); English when it names neither.
    pub(crate) fn from_accept_language(header: Option<&str>) -> Lang {
        let mut best: Option<(Lang, f32)> = None;
        for range in header.unwrap_or_default().split(',') {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or_default();
            let lang = match primary {
                "de" => Lang::De,
                "en" => Lang::En,
                _ => continue,
            };
            if weight > 0.0 && best.is_none_or(|(_, w)| weight > w) {
                best = Some((lang, weight));
            }
        }
        best.map_or(Lang::En, |(lang, _)| lang)
    }

    fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    fn pick<'a>(self, en: &'a str, de: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::De => de,
        }
    }
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;\
background:#f4f5f7;color:#16191f}main{max-width:34rem;margin:3rem auto;padding:2rem;background:#fff;\
border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.15)}h1{font-size:1.5rem;margin-top:0}\
.button{display:inline-block;padding:.75rem 1.25rem;background:#0b5cad;color:#fff;border-radius:6px;\
text-decoration:none;font-weight:600}.button:focus,.button:hover{background:#084a8c;outline:3px solid #ffbf47}\
.note{color:#4a5160;font-size:.9rem}ul{padding-left:1.25rem}";

/// A whole page: `status`, its title as the page's heading, and its body (already HTML).
fn page(status: StatusCode, lang: Lang, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{} - sellersync</title>\
         <style>{STYLE}</style></head><body><main><h1>{}</h1>{body}</main></body></html>\n",
        lang.code(),
        escape(title),
        escape(title),
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; \
             base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_LANGUAGE, lang.code()),
        (header::VARY, "Accept-Language"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn paragraph(text: &str) -> String {
    format!("<p>{}</p>", escape(text))
}

fn marketplace_name(id: &str) -> String {
    Marketplace::by_id(id).map_or_else(|| id.to_owned(), Marketplace::sales_channel)
}

fn interval(lang: Lang, interval: ImportInterval) -> String {
    match interval {
        ImportInterval::Never => lang.pick("only when asked", "nur auf Anfrage").to_owned(),
        ImportInterval::Minutes(m) if m % 60 == 0 => {
            let hours = m / 60;
            match (lang, hours) {
                (Lang::En, 1) => "every hour".to_owned(),
                (Lang::De, 1) => "stündlich".to_owned(),
                (Lang::En, h) => format!("every {h} hours"),
                (Lang::De, h) => format!("alle {h} Stunden"),
            }
        }
        ImportInterval::Minutes(m) => match lang {
            Lang::En => format!("every {m} minutes"),
            Lang::De => format!("alle {m} Minuten"),
        },
    }
}

/// The link's page: what connecting means, and the button to Amazon's consent page.
pub(crate) fn link_page(lang: Lang, link: &ConnectLink, consent_url: &str) -> Response {
    let store = marketplace_name(&link.marketplace_id);
    let title = lang.pick(
        "Connect your Amazon seller account",
        "Ihr Amazon-Verkäuferkonto verbinden",
    );
    let intro = match lang {
        Lang::En => format!(
            "sellersync imports your orders from Amazon and sends your shipment confirmations back. \
             To allow it, sign in to Seller Central ({store}) and confirm on Amazon's page."
        ),
        Lang::De => format!(
            "sellersync importiert Ihre Bestellungen von Amazon und meldet Ihre Versandbestätigungen zurück. \
             Melden Sie sich dazu in Seller Central ({store}) an und bestätigen Sie auf der Seite von Amazon."
        ),
    };
    let button = lang.pick("Continue to Amazon", "Weiter zu Amazon");
    let note = match lang {
        Lang::En => format!(
            "This link works once and until {} UTC. You can withdraw the authorization in Seller Central at \
             any time (Apps and Services, Manage Your Apps).",
            link.expires_at.format("%Y-%m-%d %H:%M")
        ),
        Lang::De => format!(
            "Dieser Link gilt einmal und bis {} UTC. Sie können die Berechtigung jederzeit in Seller Central \
             widerrufen (Apps und Services, Ihre Apps verwalten).",
            link.expires_at.format("%d.%m.%Y %H:%M")
        ),
    };
    let body = format!(
        "{}<p><a class=\"button\" rel=\"noreferrer\" href=\"{}\">{}</a></p><p class=\"note\">{}</p>",
        paragraph(&intro),
        escape(consent_url),
        escape(button),
        escape(&note)
    );
    page(StatusCode::OK, lang, title, &body)
}

/// The callback's page after the account was connected (or its token renewed).
pub(crate) fn connected_page(lang: Lang, connected: &Connected) -> Response {
    let account = &connected.account;
    let title = match (connected.renewed, lang) {
        (false, Lang::En) => "Your Amazon account is connected",
        (false, Lang::De) => "Ihr Amazon-Konto ist verbunden",
        (true, Lang::En) => "Your Amazon account is connected again",
        (true, Lang::De) => "Ihr Amazon-Konto ist wieder verbunden",
    };
    let seller = match lang {
        Lang::En => format!("Seller {} (account {}).", account.seller_id, account.id),
        Lang::De => format!("Verkäufer {} (Konto {}).", account.seller_id, account.id),
    };
    let items: String = account
        .marketplaces
        .iter()
        .map(|id| format!("<li>{}</li>", escape(&marketplace_name(id))))
        .collect();
    let marketplaces = lang.pick("Marketplaces imported:", "Importierte Marktplätze:");
    let next = match (connected.renewed, lang) {
        (false, Lang::En) => format!(
            "Your orders are imported within the next minutes, then {}. You can close this page.",
            interval(lang, account.import_interval)
        ),
        (false, Lang::De) => format!(
            "Ihre Bestellungen werden in den nächsten Minuten importiert, danach {}. Sie können diese Seite \
             schließen.",
            interval(lang, account.import_interval)
        ),
        (true, Lang::En) => {
            "The import resumes with its settings as they were. You can close this page.".to_owned()
        }
        (true, Lang::De) => {
            "Der Import läuft mit seinen bisherigen Einstellungen weiter. Sie können diese Seite schließen."
                .to_owned()
        }
    };
    let body = format!(
        "{}<p>{}</p><ul>{items}</ul>{}",
        paragraph(&seller),
        escape(marketplaces),
        paragraph(&next)
    );
    page(StatusCode::OK, lang, title, &body)
}

/// The page of a refusal: its status, a title and what the seller can do.
pub(crate) fn refusal_page(lang: Lang, refusal: &ConnectRefusal) -> Response {
    use ConnectRefusal as R;
    let start_over_en = "Open your connect link again to start over.";
    let start_over_de = "Öffnen Sie Ihren Verbindungslink erneut, um neu zu beginnen.";
    let ask_en = "Ask whoever sent you the link for a new one.";
    let ask_de = "Bitten Sie die Person, die Ihnen den Link geschickt hat, um einen neuen.";
    let (status, title, text): (StatusCode, (&str, &str), (String, String)) = match refusal {
        R::Link(LinkRefusal::Unknown) | R::Link(LinkRefusal::Forged) => (
            StatusCode::BAD_REQUEST,
            ("This link is not valid", "Dieser Link ist ungültig"),
            (
                format!(
                    "The link or Amazon's answer does not match one we handed out, so nothing was connected. {ask_en}"
                ),
                format!(
                    "Der Link oder die Antwort von Amazon passt zu keinem von uns ausgegebenen Link; es wurde \
                     nichts verbunden. {ask_de}"
                ),
            ),
        ),
        R::Link(LinkRefusal::Expired(_)) => (
            StatusCode::GONE,
            ("This link has expired", "Dieser Link ist abgelaufen"),
            (
                format!("Nothing was connected. {ask_en}"),
                format!("Es wurde nichts verbunden. {ask_de}"),
            ),
        ),
        R::Link(LinkRefusal::Used { .. }) => (
            StatusCode::GONE,
            ("This link has been used", "Dieser Link wurde bereits verwendet"),
            (
                format!("It connected an account already and works only once. {ask_en}"),
                format!("Er hat bereits ein Konto verbunden und gilt nur einmal. {ask_de}"),
            ),
        ),
        R::Link(LinkRefusal::StateExpired) => (
            StatusCode::GONE,
            ("This sign-in took too long", "Die Anmeldung hat zu lange gedauert"),
            (
                format!("Nothing was connected. {start_over_en}"),
                format!("Es wurde nichts verbunden. {start_over_de}"),
            ),
        ),
        R::Link(LinkRefusal::Busy) => (
            StatusCode::CONFLICT,
            ("This link is being used", "Dieser Link wird gerade verwendet"),
            (
                "Another window is connecting with this link right now. Wait a minute, then reload this page."
                    .to_owned(),
                "Ein anderes Fenster verbindet gerade mit diesem Link. Warten Sie eine Minute und laden Sie \
                 die Seite dann neu."
                    .to_owned(),
            ),
        ),
        R::Link(LinkRefusal::OtherSeller { .. }) => (
            StatusCode::FORBIDDEN,
            ("This link is for another seller", "Dieser Link gilt für einen anderen Verkäufer"),
            (
                format!(
                    "You signed in with a seller account the link was not made for, so nothing was connected. \
                     Sign in with the right account, or {}",
                    ask_en.to_lowercase()
                ),
                format!(
                    "Sie haben sich mit einem Verkäuferkonto angemeldet, für das der Link nicht gilt; es wurde \
                     nichts verbunden. Melden Sie sich mit dem richtigen Konto an. {ask_de}"
                ),
            ),
        ),
        R::NotSetUp => (
            StatusCode::SERVICE_UNAVAILABLE,
            ("Connecting is not set up", "Verbinden ist nicht eingerichtet"),
            (
                "This sellersync has no Amazon application configured. Tell whoever sent you the link."
                    .to_owned(),
                "Für dieses sellersync ist keine Amazon-Anwendung eingerichtet. Bitte informieren Sie die \
                 Person, die Ihnen den Link geschickt hat."
                    .to_owned(),
            ),
        ),
        R::Denied => (
            StatusCode::OK,
            ("You did not connect your account", "Sie haben Ihr Konto nicht verbunden"),
            (
                format!("Amazon did not authorize sellersync, so nothing was connected. {start_over_en}"),
                format!("Amazon hat sellersync nicht berechtigt; es wurde nichts verbunden. {start_over_de}"),
            ),
        ),
        R::Incomplete(_) => (
            StatusCode::BAD_REQUEST,
            ("Amazon's answer is incomplete", "Die Antwort von Amazon ist unvollständig"),
            (
                format!("Nothing was connected. {start_over_en}"),
                format!("Es wurde nichts verbunden. {start_over_de}"),
            ),
        ),
        R::CodeRefused => (
            StatusCode::BAD_REQUEST,
            ("Amazon's authorization is no longer valid", "Die Berechtigung von Amazon ist nicht mehr gültig"),
            (
                format!(
                    "Amazon's authorization works once and for five minutes, so nothing was connected. \
                     {start_over_en}"
                ),
                format!(
                    "Die Berechtigung von Amazon gilt einmal und fünf Minuten lang; es wurde nichts verbunden. \
                     {start_over_de}"
                ),
            ),
        ),
        R::NoMarketplaces => (
            StatusCode::UNPROCESSABLE_ENTITY,
            ("No marketplace to import", "Kein Marktplatz zum Importieren"),
            (
                "Your seller account sells in no Amazon marketplace of this region, so nothing was connected."
                    .to_owned(),
                "Ihr Verkäuferkonto verkauft auf keinem Amazon-Marktplatz dieser Region; es wurde nichts \
                 verbunden."
                    .to_owned(),
            ),
        ),
        R::AmazonUnavailable(_) | R::Store(_) | R::Account(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            ("Something went wrong", "Etwas ist schiefgelaufen"),
            (
                format!("Amazon or sellersync could not finish, so nothing was connected. {start_over_en}"),
                format!(
                    "Amazon oder sellersync konnte nicht abschließen; es wurde nichts verbunden. {start_over_de}"
                ),
            ),
        ),
    };
    page(
        status,
        lang,
        lang.pick(title.0, title.1),
        &paragraph(lang.pick(&text.0, &text.1)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browsers_preferred_language_wins_among_english_and_german() {
        let cases = [
            (None, Lang::En),
            (Some(""), Lang::En),
            (Some("de-DE,de;q=0.9,en;q=0.8"), Lang::De),
            (Some("en-GB,en;q=0.9,de;q=0.8"), Lang::En),
            (Some("fr-FR,fr;q=0.9,de;q=0.7,en;q=0.5"), Lang::De),
            (Some("en;q=0.2, de;q=0.5"), Lang::De),
            (Some("de;q=0, en"), Lang::En),
            (Some("fr"), Lang::En),
            (Some("DE-at"), Lang::De),
            (Some("de;q=abc"), Lang::De),
        ];
        for (header, expected) in cases {
            assert_eq!(Lang::from_accept_language(header), expected, "{header:?}");
        }
    }

    #[test]
    fn every_refusal_says_nothing_was_connected_in_both_languages() {
        use crate::app::connect::ConnectRefusal as R;
        let refusals = [
            R::Link(LinkRefusal::Unknown),
            R::Link(LinkRefusal::Expired(chrono::Utc::now())),
            R::Link(LinkRefusal::StateExpired),
            R::Link(LinkRefusal::Busy),
            R::CodeRefused,
            R::Denied,
            R::NoMarketplaces,
            R::NotSetUp,
        ];
        for refusal in &refusals {
            for lang in [Lang::En, Lang::De] {
                let response = refusal_page(lang, refusal);
                assert_eq!(response.headers()[header::REFERRER_POLICY], "no-referrer");
                assert_eq!(response.headers()[header::CONTENT_LANGUAGE], lang.code());
            }
        }
        assert_eq!(
            refusal_page(Lang::En, &R::Link(LinkRefusal::Busy)).status(),
            StatusCode::CONFLICT
        );
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}

//! Where the app is reached, and the session cookie that says who is signed in to its
//! pages.
//!
//! The public origin is configuration (`APP_PUBLIC_URL`, else the listen address),
//! never read from a request: it decides which requests count as the app's own (the
//! same-origin check on every state-changing request) and whether the cookie is
//! `Secure` with the `__Host-` prefix (an https origin). The cookie is HttpOnly and
//! SameSite=Lax always.

use crate::model::people::User;
use std::net::SocketAddr;

use axum::http::{HeaderMap, HeaderValue};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use crate::kernel::error::ServiceError;
use crate::services::accounts::{self, SESSION_TTL_MS};
use crate::store::db::Db;

const COOKIE_NAME: &str = "approvals_session";
/// Over https: a cookie only this exact origin can set or read (no Domain, Path=/,
/// Secure), so a sibling subdomain cannot plant a session of its own.
const HOST_COOKIE_NAME: &str = "__Host-approvals_session";

pub use axum::http::header::SET_COOKIE as SET_COOKIE_HEADER;

/// The origins the app answers as (`scheme://host[:port]`); the first is the public one.
/// And the hosts it serves: those origins' and the address it listens on (a request for
/// any other `Host`, a DNS-rebinding page's say, is refused before routing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    origins: Vec<String>,
    hosts: Vec<String>,
}

impl Site {
    /// The app as configured: `https://approvals.example.com` (a path is not allowed:
    /// the app serves from the root).
    pub fn from_public_url(url: &str) -> Result<Self, String> {
        let url = url.trim().trim_end_matches('/');
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("{url:?} is not a URL like https://approvals.example.com"))?;
        if scheme != "http" && scheme != "https" {
            return Err(format!("{url:?}: use http or https"));
        }
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(format!(
                "{url:?}: give only the scheme, host and port, like https://approvals.example.com"
            ));
        }
        let origin = format!("{scheme}://{}", rest.to_ascii_lowercase());
        Ok(Self {
            hosts: hosts_of(&origin),
            origins: vec![origin],
        })
    }

    /// Serves the address it listens on too, by its own name (and, on a loopback or an
    /// unspecified address, by the loopback names: local clients such as probes,
    /// sidecars and port-forwards use those). A page from elsewhere never uses them as
    /// its `Host`.
    pub fn listening_on(mut self, addr: SocketAddr) -> Self {
        let port = addr.port();
        let mut names = vec![addr.to_string()];
        if addr.ip().is_loopback() || addr.ip().is_unspecified() {
            names.extend(["127.0.0.1", "localhost", "[::1]"].map(|h| format!("{h}:{port}")));
        }
        for name in names {
            if !self.hosts.contains(&name) {
                self.hosts.push(name);
            }
        }
        self
    }

    /// The app as it listens, over plain http. On a loopback address its other
    /// loopback names are the app too (a browser may be pointed at either).
    pub fn for_listen_address(addr: SocketAddr) -> Self {
        let port = addr.port();
        let mut origins = vec![format!("http://{addr}")];
        if addr.ip().is_loopback() {
            for host in ["127.0.0.1", "localhost", "[::1]"] {
                let origin = format!("http://{host}:{port}");
                if !origins.contains(&origin) {
                    origins.push(origin);
                }
            }
        }
        let hosts = origins.iter().flat_map(|o| hosts_of(o)).collect();
        Self { origins, hosts }.listening_on(addr)
    }

    /// Whether a request for `host` (its `Host` header, or its URI's authority) is for
    /// this app.
    pub fn serves_host(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    /// The public origin, for links and messages.
    pub fn public_origin(&self) -> &str {
        &self.origins[0]
    }

    pub fn is_https(&self) -> bool {
        self.public_origin().starts_with("https://")
    }

    /// Whether `origin` (an `Origin` header, or a URL's origin) is this app.
    pub fn admits(&self, origin: &str) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        self.origins.contains(&origin)
    }

    /// Whether `url` (a `Referer`) is a page of this app.
    pub fn admits_url(&self, url: &str) -> bool {
        let Some((scheme, rest)) = url.split_once("://") else {
            return false;
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        self.admits(&format!("{scheme}://{authority}"))
    }

    fn cookie_name(&self) -> &'static str {
        if self.is_https() {
            HOST_COOKIE_NAME
        } else {
            COOKIE_NAME
        }
    }

    /// The session token the request's cookie carries, if any.
    pub fn session_token(&self, headers: &HeaderMap) -> Option<String> {
        CookieJar::from_headers(headers)
            .get(self.cookie_name())
            .map(|cookie| cookie.value().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// Who the request's session cookie belongs to.
    pub async fn user(&self, db: &Db, headers: &HeaderMap) -> Result<Option<User>, ServiceError> {
        match self.session_token(headers) {
            Some(token) => accounts::session_user(db, &token).await,
            None => Ok(None),
        }
    }

    /// The `Set-Cookie` value for `token`; an empty token removes the cookie.
    pub fn cookie(&self, token: &str) -> HeaderValue {
        let max_age = if token.is_empty() {
            0
        } else {
            SESSION_TTL_MS / 1000
        };
        let cookie = Cookie::build((self.cookie_name(), token.to_owned()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .max_age(cookie::time::Duration::seconds(max_age))
            .secure(self.is_https())
            .build();
        HeaderValue::from_str(&cookie.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("approvals_session=; Path=/; Max-Age=0"))
    }
}

/// The `Host` values that name `origin` (`scheme://host[:port]`): as written, and with
/// or without the scheme's default port.
fn hosts_of(origin: &str) -> Vec<String> {
    let (scheme, authority) = origin.split_once("://").unwrap_or(("http", origin));
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    // A port follows the last ':' past an IPv6 literal's ']'.
    let has_port = match authority.rfind(']') {
        Some(end) => authority[end..].contains(':'),
        None => authority.contains(':'),
    };
    if let Some(bare) = authority.strip_suffix(default_port) {
        vec![authority.to_owned(), bare.to_owned()]
    } else if has_port {
        vec![authority.to_owned()]
    } else {
        vec![authority.to_owned(), format!("{authority}{default_port}")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sites_own_hosts_are_served() {
        let site = Site::from_public_url("https://Approvals.example.com")
            .expect("valid")
            .listening_on("0.0.0.0:3000".parse().expect("an address"));
        for host in [
            "approvals.example.com",
            "Approvals.Example.com:443",
            "127.0.0.1:3000",
            "localhost:3000",
            "[::1]:3000",
        ] {
            assert!(site.serves_host(host), "{host}");
        }
        for host in [
            "evil.example",
            "approvals.example.com.evil.example",
            "approvals.example.com:8443",
            "127.0.0.1:3001",
            "localhost",
            "",
        ] {
            assert!(!site.serves_host(host), "{host}");
        }
        let local = Site::for_listen_address("127.0.0.1:3000".parse().expect("an address"));
        assert!(local.serves_host("localhost:3000"));
        assert!(!local.serves_host("rebound.example:3000"));
        let v6 = Site::from_public_url("http://[::1]").expect("valid");
        assert!(v6.serves_host("[::1]") && v6.serves_host("[::1]:80"));
    }

    #[test]
    fn an_https_origin_makes_the_cookie_secure_and_host_only() {
        let site = Site::from_public_url("https://Approvals.example.com/").expect("valid");
        assert_eq!(site.public_origin(), "https://approvals.example.com");
        let cookie = site.cookie("t0k");
        let cookie = Cookie::parse(cookie.to_str().expect("ascii")).expect("a cookie");
        assert_eq!(cookie.name_value(), ("__Host-approvals_session", "t0k"));
        assert_eq!(cookie.path(), Some("/"));
        assert_eq!(cookie.domain(), None);
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(
            cookie.max_age(),
            Some(cookie::time::Duration::seconds(SESSION_TTL_MS / 1000))
        );
        use axum::http::header::COOKIE;
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("approvals_session=plain"));
        assert_eq!(
            site.session_token(&headers),
            None,
            "only the __Host- cookie counts"
        );
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=b; __Host-approvals_session=t0k"),
        );
        assert_eq!(site.session_token(&headers).as_deref(), Some("t0k"));
    }

    #[test]
    fn plain_http_listens_without_secure_and_knows_its_loopback_names() {
        let site = Site::for_listen_address("127.0.0.1:3000".parse().expect("addr"));
        assert!(!site.is_https());
        let cookie = site.cookie("t");
        assert!(!cookie.to_str().expect("ascii").contains("Secure"));
        for ok in [
            "http://127.0.0.1:3000",
            "http://localhost:3000",
            "http://[::1]:3000",
        ] {
            assert!(site.admits(ok), "{ok}");
        }
        for refused in [
            "http://127.0.0.1:3001",
            "https://127.0.0.1:3000",
            "http://evil.example",
            "null",
        ] {
            assert!(!site.admits(refused), "{refused}");
        }
        assert!(site.admits_url("http://127.0.0.1:3000/orders?x=1"));
        assert!(!site.admits_url("http://127.0.0.1:30000/"));
        assert!(!site.admits_url("http://127.0.0.1:3000.evil.example/"));
    }

    #[test]
    fn a_public_url_is_scheme_host_and_port_only() {
        for bad in [
            "approvals.example.com",
            "ftp://x",
            "https://x/app",
            "https://u@x",
            "https://",
        ] {
            assert!(Site::from_public_url(bad).is_err(), "{bad}");
        }
        assert!(Site::from_public_url("http://10.0.0.5:8080").is_ok());
    }
}

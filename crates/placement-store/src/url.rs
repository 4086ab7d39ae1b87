//! SQLAlchemy-style database URLs, as operators already write them in
//! `[placement_database] connection`.
//!
//! Upstream hands the URL to SQLAlchemy, so existing `placement.conf` files
//! contain forms such as `sqlite:////var/lib/placement/placement.sqlite`,
//! `postgresql+psycopg2://placement:secret@db/placement` or
//! `mysql+pymysql://placement:secret@db/placement?charset=utf8`. This module
//! parses those forms into connection options for our drivers, so an operator
//! never has to rewrite the setting when switching implementations.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::db::Backend;

/// Why a connection URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid database connection URL: {0}")]
pub struct UrlError(String);

/// Where a SQLite database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteLocation {
    /// `sqlite://` with no path: a private in-memory database.
    Memory,
    /// A file path, relative to the working directory or absolute.
    File(PathBuf),
}

/// A parsed connection URL. `Debug` and `Display` hide the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    sqlite: Option<SqliteLocation>,
    username: Option<String>,
    password: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    database: Option<String>,
    query: BTreeMap<String, String>,
}

impl DatabaseUrl {
    /// Parses `dialect[+driver]://[user[:password]@][host][:port][/database][?k=v&…]`.
    ///
    /// # Errors
    /// [`UrlError`] naming what is wrong: unknown dialect, bad port, bad
    /// percent-escape, missing database name.
    pub fn parse(url: &str) -> Result<DatabaseUrl, UrlError> {
        let url = url.trim();
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| UrlError(format!("{:?} has no '://'", redact(url))))?;
        let dialect = scheme
            .split('+')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let backend = match dialect.as_str() {
            "sqlite" => Backend::Sqlite,
            "postgresql" | "postgres" => Backend::Postgres,
            "mysql" | "mariadb" => Backend::MySql,
            other => {
                return Err(UrlError(format!(
                    "unsupported dialect {other:?} (expected sqlite, postgresql or mysql)"
                )))
            }
        };
        let (rest, query_str) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let mut query = BTreeMap::new();
        if let Some(q) = query_str {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                query.insert(percent_decode(k)?, percent_decode(v)?);
            }
        }
        if backend == Backend::Sqlite {
            // sqlite:// → memory; sqlite:///rel → "rel"; sqlite:////abs → "/abs".
            let path = rest.strip_prefix('/').unwrap_or(rest);
            let sqlite = if path.is_empty() || path == ":memory:" {
                SqliteLocation::Memory
            } else {
                SqliteLocation::File(PathBuf::from(percent_decode(path)?))
            };
            return Ok(DatabaseUrl {
                backend,
                sqlite: Some(sqlite),
                username: None,
                password: None,
                host: None,
                port: None,
                database: None,
                query,
            });
        }
        let (authority, database) = match rest.split_once('/') {
            Some((a, d)) => (a, Some(d)),
            None => (rest, None),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((name, pw)) => (Some(percent_decode(name)?), Some(percent_decode(pw)?)),
                None => (Some(percent_decode(u)?), None),
            },
            None => (None, None),
        };
        let (host, port) = split_host_port(hostport)?;
        let database = match database {
            Some(d) if !d.is_empty() => Some(percent_decode(d)?),
            _ => None,
        };
        if database.is_none() {
            return Err(UrlError(format!("{} has no database name", redact(url))));
        }
        Ok(DatabaseUrl {
            backend,
            sqlite: None,
            username: username.filter(|u| !u.is_empty()),
            // `user:@host` means no password to SQLAlchemy and the drivers,
            // not an empty one (MySQL would then refuse a passwordless user).
            password: password.filter(|p| !p.is_empty()),
            host,
            port,
            database,
            query,
        })
    }

    /// Which backend the URL names.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite location, for SQLite URLs.
    pub fn sqlite_location(&self) -> Option<&SqliteLocation> {
        self.sqlite.as_ref()
    }

    /// The database name (PostgreSQL and MySQL).
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The user name, if the URL has one.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The password, if the URL has one. Kept out of `Debug`/`Display`.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The host name or address; `None` means the driver's default (or a
    /// socket given in the query string).
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The TCP port, if given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// A query-string option such as `charset` or `unix_socket`.
    pub fn query_param(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    /// The same server and credentials with another database name: used to
    /// create and drop scratch databases from an administrative URL.
    pub fn with_database(&self, database: &str) -> DatabaseUrl {
        let mut url = self.clone();
        url.database = Some(database.to_owned());
        url
    }

    /// The URL in SQLAlchemy form with the password included, for handing to
    /// tools (such as upstream's own `placement-manage`) that need it.
    pub fn to_url_string(&self) -> String {
        self.render(false)
    }

    fn render(&self, hide_password: bool) -> String {
        let scheme = match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
            Backend::MySql => "mysql+pymysql",
        };
        let mut out = format!("{scheme}://");
        if let Some(loc) = &self.sqlite {
            if let SqliteLocation::File(p) = loc {
                out.push('/');
                out.push_str(&p.to_string_lossy());
            }
        } else {
            if let Some(user) = &self.username {
                out.push_str(&percent_encode(user));
                if let Some(pw) = &self.password {
                    out.push(':');
                    if hide_password {
                        out.push_str("***");
                    } else {
                        out.push_str(&percent_encode(pw));
                    }
                }
                out.push('@');
            }
            if let Some(host) = &self.host {
                if host.contains(':') {
                    out.push_str(&format!("[{host}]"));
                } else {
                    out.push_str(host);
                }
            }
            if let Some(port) = self.port {
                out.push_str(&format!(":{port}"));
            }
            out.push('/');
            if let Some(db) = &self.database {
                out.push_str(&percent_encode(db));
            }
        }
        if !self.query.is_empty() {
            let q: Vec<String> = self
                .query
                .iter()
                .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
                .collect();
            out.push('?');
            out.push_str(&q.join("&"));
        }
        out
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(true))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.render(true))
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = UrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DatabaseUrl::parse(s)
    }
}

fn split_host_port(hostport: &str) -> Result<(Option<String>, Option<u16>), UrlError> {
    if hostport.is_empty() {
        return Ok((None, None));
    }
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        // [ipv6]:port
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| UrlError(format!("unterminated IPv6 address in {hostport:?}")))?;
        (h.to_owned(), after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (hostport.to_owned(), None),
        }
    };
    let port = match port {
        Some(p) if !p.is_empty() => Some(
            p.parse::<u16>()
                .map_err(|_| UrlError(format!("bad port {p:?}")))?,
        ),
        _ => None,
    };
    let host = percent_decode(&host)?;
    Ok(((!host.is_empty()).then_some(host), port))
}

fn percent_decode(s: &str) -> Result<String, UrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| UrlError(format!("bad percent-escape in {s:?}")))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                // SQLAlchemy decodes with unquote_plus.
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| UrlError(format!("{s:?} is not UTF-8 once decoded")))
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn redact(url: &str) -> String {
    match DatabaseUrl::parse_userinfo_free(url) {
        Some(r) => r,
        None => "<url>".to_owned(),
    }
}

impl DatabaseUrl {
    fn parse_userinfo_free(url: &str) -> Option<String> {
        let (scheme, rest) = url.split_once("://")?;
        let rest = match rest.split_once('@') {
            Some((_, after)) => after,
            None => rest,
        };
        Some(format!("{scheme}://{rest}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_relative_absolute_and_memory_forms_parse_like_sqlalchemy() {
        let rel = DatabaseUrl::parse("sqlite:///placement.sqlite").unwrap();
        assert_eq!(
            rel.sqlite_location(),
            Some(&SqliteLocation::File("placement.sqlite".into()))
        );
        let abs = DatabaseUrl::parse("sqlite:////var/lib/p.db").unwrap();
        assert_eq!(
            abs.sqlite_location(),
            Some(&SqliteLocation::File("/var/lib/p.db".into()))
        );
        let mem = DatabaseUrl::parse("sqlite://").unwrap();
        assert_eq!(mem.sqlite_location(), Some(&SqliteLocation::Memory));
    }

    #[test]
    fn postgres_with_driver_suffix_and_credentials_parses() {
        let u =
            DatabaseUrl::parse("postgresql+psycopg2://pl%40ce:s%3Acret@db.example:6543/placement")
                .unwrap();
        assert_eq!(u.backend(), Backend::Postgres);
        assert_eq!(u.username(), Some("pl@ce"));
        assert_eq!(u.password(), Some("s:cret"));
        assert_eq!(u.host(), Some("db.example"));
        assert_eq!(u.port(), Some(6543));
        assert_eq!(u.database(), Some("placement"));
    }

    #[test]
    fn mysql_query_options_are_kept() {
        let u =
            DatabaseUrl::parse("mysql+pymysql://root:pw@127.0.0.1/placement?charset=utf8").unwrap();
        assert_eq!(u.backend(), Backend::MySql);
        assert_eq!(u.query_param("charset"), Some("utf8"));
        assert_eq!(u.port(), None);
    }

    #[test]
    fn an_empty_password_is_no_password() {
        let u = DatabaseUrl::parse("mysql+pymysql://root:@127.0.0.1:3306/p?charset=utf8").unwrap();
        assert_eq!(u.username(), Some("root"));
        assert_eq!(u.password(), None);
    }

    #[test]
    fn ipv6_hosts_parse() {
        let u = DatabaseUrl::parse("mysql://root@[::1]:3306/p").unwrap();
        assert_eq!(u.host(), Some("::1"));
        assert_eq!(u.port(), Some(3306));
    }

    #[test]
    fn password_never_shows_in_debug_or_display() {
        let u = DatabaseUrl::parse("postgresql://user:hunter2@host/db").unwrap();
        assert!(!format!("{u:?}").contains("hunter2"));
        assert!(!format!("{u}").contains("hunter2"));
        assert!(u.to_url_string().contains("hunter2"));
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        assert!(DatabaseUrl::parse("oracle://x/y").is_err());
        assert!(DatabaseUrl::parse("postgresql://host:notaport/db").is_err());
        assert!(DatabaseUrl::parse("postgresql://host").is_err());
        assert!(DatabaseUrl::parse("no-scheme").is_err());
        let err = DatabaseUrl::parse("postgresql://u:secret@host").unwrap_err();
        assert!(!err.to_string().contains("secret"));
    }

    #[test]
    fn round_trip_keeps_everything() {
        let u = DatabaseUrl::parse("mysql://a:b%20c@h:1/d?charset=utf8").unwrap();
        let again = DatabaseUrl::parse(&u.to_url_string()).unwrap();
        assert_eq!(u, again);
    }
}

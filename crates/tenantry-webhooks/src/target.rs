//! Where deliveries may go (docs/security.md §12, SSRF). A target URL is `http` or `https`, names a host,
//! and carries no credentials. Unless the deployment sets `webhooks.allow_private_targets`, its host
//! must not be, or resolve to, an address of the machine or its networks: loopback, private
//! (RFC 1918, unique local), link-local (which holds the cloud metadata address 169.254.169.254),
//! unspecified, CGNAT, multicast, broadcast or reserved, including the same addresses written as
//! IPv4-mapped or NAT64 IPv6, or in the numeric forms (`2130706433`, `0x7f000001`, `127.1`) that the
//! URL parser normalizes.
//!
//! The check runs at creation ([`check_target`]) and again at delivery: [`GuardedResolver`] is the
//! HTTP client's resolver, so the address connected to is one that passed the check, whatever a
//! name resolves to by then (DNS rebinding).

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::time::Duration;

use url::{Host, Url};

/// The longest accepted URL.
pub const MAX_URL_LEN: usize = 2048;
/// How long a creation-time lookup may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a URL is not a delivery target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("{0}")]
    Invalid(&'static str),
    #[error("The URL must use http or https.")]
    Scheme,
    #[error("The URL's host is, or resolves to, a loopback, private, link-local or otherwise internal address.")]
    Forbidden,
}

/// Whether a delivery must not go to `ip`.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || a == 0 // "this network"
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, with the metadata address 169.254.169.254
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || ip.is_multicast()
        || a >= 240 // reserved, and the broadcast address
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return forbidden_v4(v4);
    }
    let s = ip.segments();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0) // discard-only 100::/64
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) or 6to4 (`2002:AABB:CCDD::`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_loopback() && !ip.is_unspecified() {
        return Some(low);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(low);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
    }
    None
}

/// Parses a target URL: syntax, scheme, host, no credentials, at most [`MAX_URL_LEN`] bytes.
/// Literal addresses (in any numeric form) are checked here when `allow_private` is off.
pub fn parse_target_url(raw: &str, allow_private: bool) -> Result<Url, TargetError> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > MAX_URL_LEN {
        return Err(TargetError::Invalid("The URL must be 1 to 2048 characters."));
    }
    let url = Url::parse(raw).map_err(|_| TargetError::Invalid("The URL is not a valid absolute URL."))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::Invalid("The URL must not carry a user name or password."));
    }
    match url.host() {
        None => return Err(TargetError::Invalid("The URL must name a host.")),
        Some(host) if !allow_private && literal_forbidden(&host) => return Err(TargetError::Forbidden),
        Some(_) => {}
    }
    Ok(url)
}

/// Whether the host, as written, is a forbidden address or a name that always means this machine.
fn literal_forbidden(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => forbidden_v4(*ip),
        Host::Ipv6(ip) => forbidden_v6(*ip),
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost") || name.ends_with(".internal")
        }
    }
}

/// Resolves host names to addresses; the system's resolver in production, a stub in tests.
pub trait HostResolver: Send + Sync {
    fn lookup<'a>(&'a self, host: &'a str) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>>;
}

/// The operating system's resolver (through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl HostResolver for SystemResolver {
    fn lookup<'a>(&'a self, host: &'a str) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>> {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host, 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// The creation-time check of a parsed URL: with `allow_private` off, a host name must not resolve
/// to any forbidden address. A name that does not resolve (yet) is accepted; delivery checks again.
pub async fn check_target(url: &Url, allow_private: bool, resolver: &dyn HostResolver) -> Result<(), TargetError> {
    if allow_private {
        return Ok(());
    }
    let Some(Host::Domain(name)) = url.host() else { return Ok(()) };
    match tokio::time::timeout(LOOKUP_TIMEOUT, resolver.lookup(name)).await {
        Ok(Ok(addrs)) if addrs.iter().any(|ip| is_forbidden(*ip)) => Err(TargetError::Forbidden),
        _ => Ok(()),
    }
}

/// The addresses a delivery may connect to, out of what a name resolved to.
pub fn allowed_addrs(resolved: impl IntoIterator<Item = IpAddr>, allow_private: bool) -> Vec<IpAddr> {
    resolved.into_iter().filter(|ip| allow_private || !is_forbidden(*ip)).collect()
}

/// The delivery client's resolver: resolves with the system, then drops forbidden addresses, so
/// the connection goes only to an address that passed the check at this very moment.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let resolved = SystemResolver.lookup(name.as_str()).await?;
            let allowed = allowed_addrs(resolved, allow_private);
            if allowed.is_empty() {
                return Err(Box::new(io::Error::other(format!(
                    "{} resolves to no address that webhooks may be sent to",
                    name.as_str()
                ))) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_forbidden() {
        for s in [
            "127.0.0.1",
            "127.255.255.254",
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "100.127.255.255",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "2002:7f00:1::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "fd00:ec2::254",
        ] {
            assert!(is_forbidden(ip(s)), "{s} must be refused");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for s in [
            "93.184.216.34",
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "169.253.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
        ] {
            assert!(!is_forbidden(ip(s)), "{s} must be allowed");
        }
    }

    #[test]
    fn urls_need_http_a_host_and_no_credentials() {
        assert!(parse_target_url("https://hooks.example.com/tenantry", false).is_ok());
        assert!(parse_target_url("http://93.184.216.34:8080/x", false).is_ok());
        assert_eq!(parse_target_url("ftp://example.com/", false), Err(TargetError::Scheme));
        assert_eq!(parse_target_url("file:///etc/passwd", false), Err(TargetError::Scheme));
        assert_eq!(parse_target_url("gopher://example.com/", false), Err(TargetError::Scheme));
        assert!(matches!(parse_target_url("not a url", false), Err(TargetError::Invalid(_))));
        assert!(matches!(parse_target_url("/relative", false), Err(TargetError::Invalid(_))));
        assert!(matches!(parse_target_url("https://user:pw@example.com/", false), Err(TargetError::Invalid(_))));
        assert!(matches!(parse_target_url("", false), Err(TargetError::Invalid(_))));
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(matches!(parse_target_url(&long, false), Err(TargetError::Invalid(_))));
    }

    #[test]
    fn literal_internal_hosts_are_refused_in_every_spelling() {
        for u in [
            "http://127.0.0.1/",
            "http://localhost:8080/",
            "http://LOCALHOST./",
            "http://api.localhost/",
            "http://[::1]/",
            "http://0.0.0.0/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.1.2.3/",
            "http://192.168.0.10/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://100.64.1.1/",
            "http://metadata.google.internal/",
        ] {
            assert_eq!(parse_target_url(u, false), Err(TargetError::Forbidden), "{u}");
            assert!(parse_target_url(u, true).is_ok(), "{u} is allowed with allow_private_targets");
        }
    }

    struct Stub(Vec<IpAddr>);

    impl HostResolver for Stub {
        fn lookup<'a>(&'a self, _: &'a str) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>> {
            let addrs = self.0.clone();
            Box::pin(async move { Ok(addrs) })
        }
    }

    struct Failing;

    impl HostResolver for Failing {
        fn lookup<'a>(&'a self, _: &'a str) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>> {
            Box::pin(async { Err(io::Error::other("no such host")) })
        }
    }

    #[tokio::test]
    async fn names_that_resolve_inside_are_refused() {
        let url = parse_target_url("https://rebind.example.com/hook", false).unwrap();
        let inside = Stub(vec![ip("93.184.216.34"), ip("10.0.0.7")]);
        assert_eq!(check_target(&url, false, &inside).await, Err(TargetError::Forbidden));
        assert_eq!(check_target(&url, true, &inside).await, Ok(()));
        assert_eq!(check_target(&url, false, &Stub(vec![ip("93.184.216.34")])).await, Ok(()));
        assert_eq!(
            check_target(&url, false, &Stub(vec![ip("::ffff:169.254.169.254")])).await,
            Err(TargetError::Forbidden)
        );
        assert_eq!(check_target(&url, false, &Failing).await, Ok(()), "delivery checks again");
    }

    #[test]
    fn delivery_connects_only_to_allowed_addresses() {
        let resolved = [ip("127.0.0.1"), ip("93.184.216.34"), ip("::1")];
        assert_eq!(allowed_addrs(resolved, false), vec![ip("93.184.216.34")]);
        assert_eq!(allowed_addrs(resolved, true).len(), 3);
        assert!(allowed_addrs([ip("169.254.169.254")], false).is_empty());
    }
}

//! Who is on the other end of a request: the client address and scheme, read through trusted
//! reverse proxies only (`--trusted-proxies`), so one value is recorded and limited by everywhere.

use crate::config::{ProxyHeader, TrustedProxies};
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The resolved origin of one request, attached to it by [`attach_peer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// The client's address: the socket peer, or the rightmost untrusted hop a trusted proxy named.
    pub ip: IpAddr,
    /// `Some(true)` when a trusted proxy said the client used HTTPS, `Some(false)` for HTTP,
    /// `None` when nobody trusted said.
    pub forwarded_https: Option<bool>,
    /// Whether the request reached us through a trusted proxy.
    pub via_proxy: bool,
}

/// Resolves the client address and scheme of a request that came from `peer`.
///
/// Forwarding headers count only when `peer` is trusted, and only the family the proxies write
/// (`--proxy-header`). The hops are walked from the right, skipping trusted proxies; the first
/// address that is not trusted is the client. A hop that cannot be read (garbage, `unknown`, an
/// obfuscated name) stops the walk and the peer's own address is used: it is never a reason for
/// an error. The scheme is the one the nearest proxy reported (the rightmost value).
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> Peer {
    let peer = peer.to_canonical();
    let direct = Peer { ip: peer, forwarded_https: None, via_proxy: false };
    if !trusted.contains(peer) {
        return direct;
    }
    let (hops, protos): (Vec<Option<IpAddr>>, Vec<Option<bool>>) = match trusted.header() {
        ProxyHeader::Forwarded => match joined(headers, header::FORWARDED.as_str()) {
            Some(value) => value.split(',').map(forwarded_element).unzip(),
            None => (Vec::new(), Vec::new()),
        },
        ProxyHeader::XForwardedFor => match joined(headers, "x-forwarded-for") {
            Some(value) => (value.split(',').map(|h| parse_hop(h.trim())).collect(), Vec::new()),
            None => (Vec::new(), Vec::new()),
        },
    };
    let mut ip = peer;
    let mut chosen = None;
    for (i, hop) in hops.iter().enumerate().rev() {
        match hop {
            Some(addr) if trusted.contains(*addr) => ip = *addr,
            Some(addr) => {
                ip = *addr;
                chosen = Some(i);
                break;
            }
            None => {
                ip = peer;
                break;
            }
        }
    }
    if chosen.is_none() && hops.iter().all(Option::is_some) && !hops.is_empty() {
        // Every hop is a trusted proxy: the leftmost is as far as anyone can see.
        chosen = Some(0);
    }
    let https = match trusted.header() {
        ProxyHeader::Forwarded => chosen.and_then(|i| protos.get(i).copied().flatten()),
        ProxyHeader::XForwardedFor => {
            joined(headers, "x-forwarded-proto").and_then(|v| scheme(v.rsplit(',').next().unwrap_or("")))
        }
    };
    Peer { ip, forwarded_https: https, via_proxy: true }
}

/// Every line of a header joined with commas, as RFC 9110 allows; `None` when absent. Bytes that
/// are not text become U+FFFD, so a client's garbage spoils only its own (leftmost) part.
fn joined(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut out: Option<String> = None;
    for v in headers.get_all(name) {
        let s = String::from_utf8_lossy(v.as_bytes());
        match &mut out {
            Some(o) => {
                o.push(',');
                o.push_str(&s);
            }
            None => out = Some(s.into_owned()),
        }
    }
    out
}

fn scheme(v: &str) -> Option<bool> {
    match v.trim().trim_matches('"').to_ascii_lowercase().as_str() {
        "https" => Some(true),
        "http" => Some(false),
        _ => None,
    }
}

/// One `Forwarded` element (`for=…;proto=…;by=…`): its `for` address and its `proto`.
fn forwarded_element(element: &str) -> (Option<IpAddr>, Option<bool>) {
    let mut hop = None;
    let mut proto = None;
    for pair in element.split(';') {
        let Some((k, v)) = pair.split_once('=') else { continue };
        match k.trim().to_ascii_lowercase().as_str() {
            "for" => hop = parse_hop(v.trim().trim_matches('"')),
            "proto" => proto = scheme(v),
            _ => {}
        }
    }
    (hop, proto)
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]`, `[2001:db8::1]:80`
/// or a bare IPv6 address.
fn parse_hop(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip().to_canonical());
    }
    let (inner, after) = s.strip_prefix('[')?.split_once(']')?;
    let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(|p| p.parse::<u16>().is_ok());
    port_ok.then(|| inner.parse::<IpAddr>().ok()).flatten().map(|ip| ip.to_canonical())
}

/// Middleware: resolves the [`Peer`] once and attaches it to the request, and marks every cookie
/// `Secure` when a trusted proxy says the browser used HTTPS.
pub async fn attach_peer(trusted: Arc<TrustedProxies>, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| resolve(c.0.ip(), req.headers(), &trusted));
    if let Some(peer) = peer {
        req.extensions_mut().insert(peer);
    }
    let mut response = next.run(req).await;
    if peer.is_some_and(|p| p.forwarded_https == Some(true)) {
        let cookies: Vec<HeaderValue> = response.headers().get_all(header::SET_COOKIE).iter().cloned().collect();
        if !cookies.is_empty() {
            response.headers_mut().remove(header::SET_COOKIE);
            for c in cookies {
                let secured = match c.to_str() {
                    Ok(s) if !s.to_ascii_lowercase().contains("; secure") => {
                        HeaderValue::from_str(&format!("{s}; Secure")).unwrap_or(c)
                    }
                    _ => c,
                };
                response.headers_mut().append(header::SET_COOKIE, secured);
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_cidrs_and_bare_addresses() {
        let t = TrustedProxies::parse(" 10.0.0.0/8, 127.0.0.1 ,::1").unwrap();
        assert!(t.contains(ip("10.1.2.3")));
        assert!(t.contains(ip("127.0.0.1")));
        assert!(t.contains(ip("::ffff:127.0.0.1")), "IPv4-mapped peers count as IPv4");
        assert!(t.contains(ip("::1")));
        assert!(!t.contains(ip("11.0.0.1")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.local").is_err());
    }

    #[test]
    fn headers_from_an_untrusted_peer_change_nothing() {
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("forwarded", "for=2.2.2.2;proto=https"),
            ("x-forwarded-proto", "https"),
        ]);
        let p = resolve(ip("203.0.113.9"), &h, &t);
        assert_eq!(p, Peer { ip: ip("203.0.113.9"), forwarded_https: None, via_proxy: false });
        // Nothing is trusted by default.
        assert_eq!(resolve(ip("10.0.0.1"), &h, &TrustedProxies::default()).ip, ip("10.0.0.1"));
    }

    #[test]
    fn a_chain_of_proxies_resolves_to_the_rightmost_untrusted_hop() {
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        // The proxies write X-Forwarded-For, so a client's own Forwarded header is never read.
        let h = headers(&[("forwarded", "for=6.6.6.6"), ("x-forwarded-for", "198.51.100.9")]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &t).ip, ip("198.51.100.9"));
        // A proxy that appends to X-Forwarded-Proto: the nearest one's value counts.
        let h = headers(&[("x-forwarded-for", "198.51.100.9"), ("x-forwarded-proto", "https, http")]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &t).forwarded_https, Some(false));
        // Bytes that are not text on the client's side spoil nothing to their right.
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", HeaderValue::from_bytes(b"\xff\xfe, 198.51.100.10").unwrap());
        assert_eq!(resolve(ip("10.0.0.1"), &h, &t).ip, ip("198.51.100.10"));
        // The client forged "6.6.6.6"; the edge proxy appended the real client, the inner proxy the edge.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.2"), ("x-forwarded-proto", "https")]);
        let p = resolve(ip("10.0.0.1"), &h, &t);
        assert_eq!(p, Peer { ip: ip("198.51.100.7"), forwarded_https: Some(true), via_proxy: true });
        // Several header lines read as one list.
        let h = headers(&[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "198.51.100.8")]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &t).ip, ip("198.51.100.8"));
        // All hops trusted: the leftmost.
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.2")]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &t).ip, ip("10.9.9.9"));
    }

    #[test]
    fn forwarded_is_read_when_the_proxies_write_it_and_carries_the_chosen_hops_proto() {
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap().with_header(ProxyHeader::Forwarded);
        let h = headers(&[
            ("forwarded", r#"for=6.6.6.6;proto=http, for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.2"#),
            ("x-forwarded-for", "7.7.7.7"),
        ]);
        let p = resolve(ip("10.0.0.1"), &h, &t);
        assert_eq!(p, Peer { ip: ip("2001:db8:cafe::17"), forwarded_https: Some(true), via_proxy: true });
        let h = headers(&[("forwarded", "for=192.0.2.60:8080;proto=http;by=10.0.0.1")]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &h, &t),
            Peer { ip: ip("192.0.2.60"), forwarded_https: Some(false), via_proxy: true }
        );
    }

    #[test]
    fn malformed_headers_fall_back_to_the_peer() {
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        for bad in ["", "not-an-ip", "1.2.3.4.5", "999.1.1.1", ",,,", "[::1", "unknown"] {
            let h = headers(&[("x-forwarded-for", bad)]);
            assert_eq!(resolve(ip("10.0.0.1"), &h, &t).ip, ip("10.0.0.1"), "{bad:?}");
        }
        let f = t.clone().with_header(ProxyHeader::Forwarded);
        for bad in ["for=unknown", "for=_hidden", "garbage", "for=", "for=\"[zz]\""] {
            let h = headers(&[("forwarded", bad)]);
            assert_eq!(resolve(ip("10.0.0.1"), &h, &f).ip, ip("10.0.0.1"), "{bad:?}");
            assert_eq!(resolve(ip("10.0.0.1"), &h, &t).ip, ip("10.0.0.1"), "{bad:?}");
        }
        // Garbage left of the real client is never reached.
        let h = headers(&[("x-forwarded-for", "garbage, 198.51.100.7")]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &t).ip, ip("198.51.100.7"));
        let h = headers(&[("x-forwarded-proto", "gopher")]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &t).forwarded_https, None);
    }
}

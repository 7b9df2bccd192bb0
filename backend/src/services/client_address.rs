//! Which client a request comes from, for the limits that key on it (see `sign_in`).
//!
//! The TCP peer is the client unless it is one of the configured proxies
//! (`TRUSTED_PROXIES`): then `X-Forwarded-For` says who it forwarded for. The header
//! is read from its right end, the hops our own proxies appended, and the first
//! address not among them is the client. Entries further left were written by the
//! client itself and prove nothing, so a client cannot pick its own address; and a
//! peer that is not a trusted proxy is never asked at all.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::http::{Extensions, HeaderMap};
use ipnet::IpNet;

const FORWARDED_FOR: &str = "x-forwarded-for";

/// The proxies whose `X-Forwarded-For` is believed: addresses or networks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is neither an IP address nor a network (10.0.0.0/8, fd00::/8)")]
pub struct NotAnAddress(String);

impl FromStr for TrustedProxies {
    type Err = NotAnAddress;

    /// A comma-separated list of addresses and networks; empty trusts nobody.
    fn from_str(list: &str) -> Result<Self, Self::Err> {
        list.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| NotAnAddress(item.to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request the server accepted from the peer in `extensions`
    /// (`ConnectInfo`, as the connection loop records it). `None` when the request
    /// did not come over a connection (tests that call the router directly).
    pub fn client(&self, extensions: &Extensions, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()?
            .0
            .ip()
            .to_canonical();
        if !self.trusts(peer) {
            return Some(peer);
        }
        // Every X-Forwarded-For line, in order, is one list.
        let hops: Vec<&str> = headers
            .get_all(FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            // A hop our proxy wrote is an address; anything else means the list past
            // this point is not to be believed, and the last trusted hop is the client.
            let Ok(ip) = hop.parse::<IpAddr>() else {
                break;
            };
            client = ip.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        Some(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, forwarded: &[&str]) -> (Extensions, HeaderMap) {
        let mut extensions = Extensions::new();
        let peer = SocketAddr::new(peer.parse().expect("an address"), 40000);
        extensions.insert(axum::extract::ConnectInfo(peer));
        let mut headers = HeaderMap::new();
        for line in forwarded {
            headers.append(FORWARDED_FOR, line.parse().expect("a header value"));
        }
        (extensions, headers)
    }

    fn client(proxies: &str, peer: &str, forwarded: &[&str]) -> Option<IpAddr> {
        let proxies: TrustedProxies = proxies.parse().expect("proxies");
        let (extensions, headers) = request(peer, forwarded);
        proxies.client(&extensions, &headers)
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().expect("an address"))
    }

    #[test]
    fn the_peer_is_the_client_unless_it_is_a_trusted_proxy() {
        // Nobody trusted: the header is whatever the client wished.
        assert_eq!(client("", "192.0.2.7", &["203.0.113.9"]), ip("192.0.2.7"));
        // A peer outside the proxies' network is not asked either.
        assert_eq!(
            client("10.0.0.0/8", "192.0.2.7", &["203.0.113.9"]),
            ip("192.0.2.7")
        );
        // Our proxy forwarded for the client.
        assert_eq!(
            client("10.0.0.0/8", "10.1.2.3", &["203.0.113.9"]),
            ip("203.0.113.9")
        );
        // A proxy with nothing to say is the client itself.
        assert_eq!(client("10.1.2.3", "10.1.2.3", &[]), ip("10.1.2.3"));
    }

    #[test]
    fn a_client_cannot_choose_its_address_by_writing_the_header_itself() {
        // The client sent "1.1.1.1"; our proxy appended the address it saw.
        assert_eq!(
            client("10.0.0.0/8", "10.1.2.3", &["1.1.1.1, 203.0.113.9"]),
            ip("203.0.113.9")
        );
        // Two of our proxies in a row, as two header lines.
        assert_eq!(
            client(
                "10.0.0.0/8, fd00::/8",
                "10.1.2.3",
                &["1.1.1.1, 203.0.113.9", "10.9.9.9"]
            ),
            ip("203.0.113.9")
        );
        // Garbage where our proxy's hop should be: the proxy is the client.
        assert_eq!(
            client("10.0.0.0/8", "10.1.2.3", &["1.1.1.1, not-an-address"]),
            ip("10.1.2.3")
        );
        // IPv4 seen as IPv6 (a dual-stack socket) is the same proxy.
        assert_eq!(
            client("10.0.0.0/8", "::ffff:10.1.2.3", &["203.0.113.9"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_list_of_proxies_names_what_it_cannot_read() {
        assert_eq!(
            "10.0.0.1, 10.2.0.0/16,fd00::/8"
                .parse::<TrustedProxies>()
                .map(|p| p.0.len()),
            Ok(3)
        );
        assert_eq!(
            "10.0.0.1, proxy.internal".parse::<TrustedProxies>(),
            Err(NotAnAddress("proxy.internal".to_owned()))
        );
    }
}

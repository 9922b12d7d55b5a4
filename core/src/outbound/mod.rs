//! Outbound requests to URLs chosen by tenants (callbacks): only public addresses, unless the
//! operator allows private ones (tests and on-premises setups do, explicitly).
//!
//! Three checks, each for what the others cannot see:
//! - [`check_url`] at submission: the URL's shape, literal addresses and internal names, so that
//!   the caller learns at once;
//! - [`check_target`] at delivery: literal addresses again, because the client connects to those
//!   without asking its resolver;
//! - the [`client`]'s resolver at delivery: the addresses a name resolves to when the client
//!   connects, which are the addresses it connects to (no window for DNS rebinding).
//!
//! The client follows no redirect (a public URL could send it to a private one) and uses no
//! proxy from the environment (a proxy would resolve and connect past the resolver).

mod ip;
mod resolver;
#[cfg(test)]
mod tests;

use std::error::Error as StdError;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use url::Host;

use crate::error::{Error, Result};

pub use ip::is_non_public;
pub use resolver::{FilteringResolver, Lookup, NonPublicAddress, StaticLookup, SystemLookup};

/// How the outbound client behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// Let requests reach non-public addresses (tests, on-premises receivers).
    pub allow_private: bool,
    /// The whole request, connection to last body byte.
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

/// The client for tenant-chosen URLs, resolving through the system's resolver.
pub fn client(policy: &OutboundPolicy) -> Result<reqwest::Client> {
    client_with_lookup(policy, Arc::new(SystemLookup))
}

/// [`client`] with another resolver underneath the filter (tests map names to local servers).
pub fn client_with_lookup(
    policy: &OutboundPolicy,
    lookup: Arc<dyn Lookup>,
) -> Result<reqwest::Client> {
    let resolver = FilteringResolver::new(lookup, policy.allow_private);
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(policy.timeout)
        .connect_timeout(policy.connect_timeout)
        .dns_resolver(Arc::new(resolver))
        .build()
        // Never a default client instead: it would have none of the protections above.
        .map_err(|e| Error::internal(format!("outbound HTTP client: {}", describe(&e))))
}

/// An error and its causes, joined with ": ". reqwest's own text is only "error sending request
/// for url (…)"; the reason (a refused address, a timeout, a TLS failure) is in the causes.
pub fn describe(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(e) = cause {
        let part = e.to_string();
        // Some errors repeat their cause's text in their own.
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = e.source();
    }
    text
}

/// The resolver's refusal, when that is why a request failed: a policy decision, not a network
/// failure, so trying again does not help while the host's DNS says the same.
pub fn refused_by_policy<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a NonPublicAddress> {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(refused) = e.downcast_ref::<NonPublicAddress>() {
            return Some(refused);
        }
        cause = e.source();
    }
    None
}

/// Refuse non-public literal addresses and internal host names. Other names are left to the
/// resolver: what they resolve to is only known when connecting.
fn check_host(host: Host<&str>) -> Result<()> {
    let ip = match host {
        Host::Ipv4(v4) => IpAddr::V4(v4),
        Host::Ipv6(v6) => IpAddr::V6(v6),
        Host::Domain(name) => {
            // "localhost." is "localhost", written as an absolute name.
            let name = name.strip_suffix('.').unwrap_or(name);
            if name == "localhost" || name.ends_with(".localhost") || name.ends_with(".internal") {
                return Err(Error::validation(
                    "callbackUrl: internal host names are not allowed",
                ));
            }
            return Ok(());
        }
    };
    if is_non_public(ip) {
        return Err(Error::validation(format!(
            "callbackUrl: {ip} is not a public address (private, loopback, link-local or \
             reserved addresses are not allowed)"
        )));
    }
    Ok(())
}

/// Check the URL's shape and, for literal addresses, its range, at submission. Hostnames are
/// checked when connecting, by the [`client`]'s resolver.
pub fn check_url(raw: &str, allow_private: bool) -> Result<url::Url> {
    let url = url::Url::parse(raw).map_err(|e| Error::validation(format!("callbackUrl: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        other => {
            return Err(Error::validation(format!(
                "callbackUrl: scheme '{other}' not allowed; use https"
            )))
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::validation("callbackUrl: must not carry credentials"));
    }
    let host = url
        .host()
        .ok_or_else(|| Error::validation("callbackUrl: no host"))?;
    if !allow_private {
        check_host(host)?;
    }
    Ok(url)
}

/// Check a URL's host right before delivering to it. The client connects to literal addresses
/// (`https://10.0.0.1/`, `https://[::ffff:10.0.0.1]/`) without asking its resolver, so those
/// are checked here; names are checked by the resolver.
pub fn check_target(url: &url::Url, allow_private: bool) -> Result<()> {
    if allow_private {
        return Ok(());
    }
    let host = url
        .host()
        .ok_or_else(|| Error::validation("callbackUrl: no host"))?;
    check_host(host)
}

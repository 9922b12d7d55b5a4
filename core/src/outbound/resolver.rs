//! The DNS resolver of the outbound client. Checking a name before the request and letting the
//! client resolve it again leaves a window (DNS rebinding: the second answer may differ); here
//! the addresses the client connects to are the ones that were checked, because the filter sits
//! in the resolver itself.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use futures::future::BoxFuture;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::is_non_public;

/// Where names are resolved before filtering: the system's resolver in service, a table in
/// tests.
pub trait Lookup: Send + Sync + 'static {
    fn lookup(&self, host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>>;
}

/// The system's resolver (getaddrinfo: /etc/hosts, then DNS), as reqwest uses by default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        let host = host.to_string();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// A fixed table of answers, for tests here and in other crates (a test name mapped to
/// 127.0.0.1); unknown names fail as a resolver's "no such host" would.
#[derive(Debug, Clone, Default)]
pub struct StaticLookup(pub HashMap<String, Vec<IpAddr>>);

impl Lookup for StaticLookup {
    fn lookup(&self, host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        let found = self.0.get(host).cloned();
        Box::pin(async move {
            found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such host"))
        })
    }
}

/// The resolver's refusal: every address of the host is non-public. Found in the source chain
/// of the request's error (see [`super::refused_by_policy`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonPublicAddress {
    pub host: String,
}

impl fmt::Display for NonPublicAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} resolves only to non-public addresses (private, loopback, link-local or \
             reserved); requests to hosts a tenant chose go to public addresses only",
            self.host
        )
    }
}

impl std::error::Error for NonPublicAddress {}

/// Resolves through `inner` and drops non-public addresses unless `allow_private`.
#[derive(Clone)]
pub struct FilteringResolver {
    inner: Arc<dyn Lookup>,
    allow_private: bool,
}

impl fmt::Debug for FilteringResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilteringResolver")
            .field("allow_private", &self.allow_private)
            .finish_non_exhaustive()
    }
}

impl FilteringResolver {
    pub fn new(inner: Arc<dyn Lookup>, allow_private: bool) -> Self {
        Self {
            inner,
            allow_private,
        }
    }
}

impl Resolve for FilteringResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let lookup = self.inner.lookup(&host);
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found = lookup.await?;
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter(|ip| allow_private || !is_non_public(*ip))
                // Port 0: the client puts the URL's port (or the scheme's) in its place.
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if kept.is_empty() && !allow_private {
                return Err(Box::new(NonPublicAddress { host }) as _);
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn table(entries: &[(&str, &[&str])]) -> Arc<dyn Lookup> {
        Arc::new(StaticLookup(
            entries
                .iter()
                .map(|(host, ips)| {
                    let ips = ips.iter().map(|ip| ip.parse().expect("test ip")).collect();
                    (host.to_string(), ips)
                })
                .collect(),
        ))
    }

    async fn resolve(resolver: &FilteringResolver, host: &str) -> Result<Vec<IpAddr>, String> {
        let name = Name::from_str(host).map_err(|e| e.to_string())?;
        match resolver.resolve(name).await {
            Ok(addrs) => Ok(addrs.map(|a| a.ip()).collect()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[tokio::test]
    async fn non_public_answers_are_dropped_and_public_ones_kept() {
        let lookup = table(&[
            ("mixed.example.test", &["10.0.0.1", "93.184.216.34", "::1"]),
            ("public.example.test", &["93.184.216.34", "2606:4700::1111"]),
            (
                "private.example.test",
                &["127.0.0.1", "::ffff:10.0.0.1", "fd00::1"],
            ),
        ]);
        let strict = FilteringResolver::new(lookup.clone(), false);
        let mixed = resolve(&strict, "mixed.example.test").await;
        assert_eq!(mixed, Ok(vec!["93.184.216.34".parse().expect("ip")]));
        let public = resolve(&strict, "public.example.test").await;
        assert_eq!(public.map(|a| a.len()), Ok(2));
        let err = resolve(&strict, "private.example.test")
            .await
            .expect_err("only private answers");
        assert!(
            err.contains("private.example.test resolves only to non-public addresses"),
            "{err}"
        );
        let missing = resolve(&strict, "missing.example.test")
            .await
            .expect_err("lookup failure passes through");
        assert!(missing.contains("no such host"), "{missing}");

        let lenient = FilteringResolver::new(lookup, true);
        let all = resolve(&lenient, "private.example.test").await;
        assert_eq!(all.map(|a| a.len()), Ok(3));
    }
}

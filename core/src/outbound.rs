//! Outbound URLs chosen by tenants (callbacks): only public addresses, unless the operator
//! allows private ones (tests and on-premises setups do, explicitly).

use std::net::IpAddr;

use crate::error::{Error, Result};

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64 // CGNAT 100.64/10
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // link local
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// Check the URL's shape and, for literal addresses, its range. Hostnames are checked again
/// after resolution, at delivery time ([`check_resolved`]).
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
        .host_str()
        .ok_or_else(|| Error::validation("callbackUrl: no host"))?;
    if !allow_private {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            if is_private(ip) {
                return Err(Error::validation(
                    "callbackUrl: private, loopback and link-local addresses are not allowed",
                ));
            }
        } else if host == "localhost" || host.ends_with(".localhost") || host.ends_with(".internal")
        {
            return Err(Error::validation(
                "callbackUrl: internal host names are not allowed",
            ));
        }
    }
    Ok(url)
}

/// Resolve the URL's host and refuse private addresses (DNS may point anywhere).
pub async fn check_resolved(url: &url::Url, allow_private: bool) -> Result<()> {
    if allow_private {
        return Ok(());
    }
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs = tokio::net::lookup_host((host, port)).await.map_err(|e| {
        Error::new(
            crate::ErrorKind::NetworkError,
            format!("resolve {host}: {e}"),
        )
    })?;
    for addr in addrs {
        if is_private(addr.ip()) {
            return Err(Error::validation(format!(
                "callbackUrl: {host} resolves to a private address"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_targets_are_refused_unless_allowed() {
        for bad in [
            "https://127.0.0.1/cb",
            "https://10.1.2.3/cb",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/cb",
            "https://localhost/cb",
            "http://example.com/cb",
            "ftp://example.com/cb",
            "https://user:pw@example.com/cb",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad} must be refused");
        }
        assert!(check_url("https://example.com/cb", false).is_ok());
        assert!(check_url("http://127.0.0.1:8080/cb", true).is_ok());
    }
}

//! What the core's tests share.

/// One IntelMQ event line of a Citrix scan of `ip` on 10 January 2020.
pub fn scan(ip: &str) -> String {
    format!(
        "{{\"feed.name\":\"scan-citrix\",\"time.source\":\"2020-01-10T06:00:00+00:00\",\
         \"source.ip\":\"{ip}\",\"source.port\":443,\"protocol.transport\":\"tcp\",\
         \"classification.taxonomy\":\"vulnerable\",\"classification.type\":\"vulnerable-system\",\
         \"classification.identifier\":\"citrix\",\"product.vulnerabilities\":\"CVE-2019-19781\"}}\n"
    )
}

//! The principal of a TLS client that presented a certificate: Kafka's default (without
//! `ssl.principal.mapping.rules`) is `User:` + the certificate's subject distinguished name in RFC 2253
//! form — last RDN first, comma-separated, specials escaped — e.g. `User:CN=alice,OU=eng,O=acme`.

use super::Principal;
use x509_cert::der::Decode;
use x509_cert::Certificate;

/// `User:<subject>` of a DER certificate (already verified by the TLS layer).
pub fn from_certificate(der: &[u8]) -> Result<Principal, String> {
    let cert = Certificate::from_der(der).map_err(|e| format!("cannot parse: {e}"))?;
    Ok(Principal::user(&cert.tbs_certificate.subject.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, KeyPair};

    fn cert_with_subject(entries: &[(DnType, &str)]) -> Vec<u8> {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (kind, value) in entries {
            params.distinguished_name.push(kind.clone(), *value);
        }
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn the_subject_becomes_an_rfc2253_principal() {
        // DER order O, OU, CN prints last first, as Java's X500Principal.getName() does.
        let der = cert_with_subject(&[
            (DnType::OrganizationName, "acme"),
            (DnType::OrganizationalUnitName, "eng"),
            (DnType::CommonName, "alice"),
        ]);
        assert_eq!(
            from_certificate(&der).unwrap().to_string(),
            "User:CN=alice,OU=eng,O=acme"
        );
        let der = cert_with_subject(&[(DnType::CommonName, "smith, john+x")]);
        assert_eq!(
            from_certificate(&der).unwrap().to_string(),
            r"User:CN=smith\, john\+x"
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [&b""[..], b"\x30\x03\x02\x01", &[0xff; 64]] {
            assert!(from_certificate(bad).is_err());
        }
    }
}

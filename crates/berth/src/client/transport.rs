//! Opening a byte stream to the daemon: unix socket, TCP, or TCP with TLS.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::{bail, Context};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};

use super::host::{Endpoint, Target, TlsOptions};

pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

pub type BoxStream = Pin<Box<dyn Stream>>;

/// Why a connection could not be made: refused/absent daemons get docker's message,
/// TLS and certificate problems their own.
#[derive(Debug)]
pub enum ConnectError {
    Unreachable(String),
    Other(anyhow::Error),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Unreachable(host) => write!(
                f,
                "Cannot connect to the Docker daemon at {host}. Is the docker daemon running?"
            ),
            ConnectError::Other(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for ConnectError {}

pub async fn connect(target: &Target) -> Result<BoxStream, ConnectError> {
    let unreachable = || ConnectError::Unreachable(target.display.clone());
    match &target.endpoint {
        Endpoint::Unix(path) => {
            let stream = tokio::net::UnixStream::connect(path)
                .await
                .map_err(|_| unreachable())?;
            Ok(Box::pin(stream))
        }
        Endpoint::Tcp { host, port } => {
            let stream = tokio::net::TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(|_| unreachable())?;
            let _ = stream.set_nodelay(true);
            match &target.tls {
                None => Ok(Box::pin(stream)),
                Some(options) => {
                    let config = client_config(options).map_err(ConnectError::Other)?;
                    let name = ServerName::try_from(host.clone()).map_err(|e| {
                        ConnectError::Other(anyhow::anyhow!("invalid server name {host}: {e}"))
                    })?;
                    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
                    let tls = connector.connect(name, stream).await.map_err(|e| {
                        ConnectError::Other(anyhow::anyhow!(
                            "error during connect: TLS handshake with {}: {e}",
                            target.display
                        ))
                    })?;
                    Ok(Box::pin(tls))
                }
            }
        }
    }
}

fn client_config(options: &TlsOptions) -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = if options.verify {
        let mut roots = rustls::RootCertStore::empty();
        for cert in read_certs(&options.ca)? {
            roots
                .add(cert)
                .with_context(|| format!("invalid CA certificate {}", options.ca.display()))?;
        }
        builder.with_root_certificates(roots)
    } else {
        // `--tls` without `--tlsverify` encrypts but trusts any server, as docker does.
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServer(provider)))
    };
    // A client certificate is sent when the files exist; a daemon with --tlsverify
    // refuses the handshake otherwise.
    let config = if options.cert.exists() && options.key.exists() {
        builder
            .with_client_auth_cert(read_certs(&options.cert)?, read_key(&options.key)?)
            .context("client certificate and key do not match")?
    } else {
        builder.with_no_client_auth()
    };
    Ok(config)
}

fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let file = File::open(path).with_context(|| {
        format!(
            "could not read CA certificate {:?}",
            path.display().to_string()
        )
    })?;
    let certs = rustls_pemfile::certs(&mut BufReader::new(file))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("invalid PEM in {}", path.display()))?;
    if certs.is_empty() {
        bail!("no certificate found in {}", path.display());
    }
    Ok(certs)
}

fn read_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    let file =
        File::open(path).with_context(|| format!("could not read key {}", path.display()))?;
    rustls_pemfile::private_key(&mut BufReader::new(file))
        .with_context(|| format!("invalid PEM in {}", path.display()))?
        .with_context(|| format!("no private key found in {}", path.display()))
}

#[derive(Debug)]
struct AcceptAnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

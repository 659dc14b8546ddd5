//! Accept loops for every listener, HTTP/1.x connections with upgrades (for hijacked
//! attach/exec streams later), and graceful shutdown: stop accepting, let in-flight
//! requests finish, end long-lived streams.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::listeners::Listener;
use crate::routes;

/// How long in-flight requests may take to finish after a stop signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Server {
    router: Router,
    connections: TaskTracker,
    shutdown: CancellationToken,
}

impl Server {
    pub fn new(router: Router, shutdown: CancellationToken) -> Self {
        Server {
            router,
            connections: TaskTracker::new(),
            shutdown,
        }
    }

    /// Runs one accept loop per listener until shutdown, then drains connections.
    pub async fn run(self, listeners: Vec<(Listener, Option<TlsAcceptor>)>) {
        let mut loops = tokio::task::JoinSet::new();
        for (listener, tls) in listeners {
            let router = self.router.clone();
            let connections = self.connections.clone();
            let shutdown = self.shutdown.clone();
            loops.spawn(accept_loop(listener, tls, router, connections, shutdown));
        }
        self.shutdown.cancelled().await;
        loops.shutdown().await;
        self.connections.close();
        if tokio::time::timeout(DRAIN_TIMEOUT, self.connections.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "some connections did not finish within {DRAIN_TIMEOUT:?}; closing them"
            );
        }
    }
}

async fn accept_loop(
    listener: Listener,
    tls: Option<TlsAcceptor>,
    router: Router,
    connections: TaskTracker,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = accept(&listener) => accepted,
        };
        match accepted {
            Ok(Conn::Unix(stream)) => serve(stream, router.clone(), &connections, &shutdown),
            Ok(Conn::Tcp(stream)) => match &tls {
                None => serve(stream, router.clone(), &connections, &shutdown),
                Some(acceptor) => {
                    let acceptor = acceptor.clone();
                    let router = router.clone();
                    let connections = connections.clone();
                    let shutdown = shutdown.clone();
                    // The handshake runs in its own task so a slow client cannot stall accepts.
                    tokio::spawn(async move {
                        match acceptor.accept(stream).await {
                            Ok(tls_stream) => serve(tls_stream, router, &connections, &shutdown),
                            Err(e) => tracing::debug!("TLS handshake failed: {e}"),
                        }
                    });
                }
            },
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                // Out of descriptors or similar: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

enum Conn {
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream),
}

async fn accept(listener: &Listener) -> std::io::Result<Conn> {
    match listener {
        Listener::Unix { listener, .. } => listener.accept().await.map(|(s, _)| Conn::Unix(s)),
        Listener::Tcp { listener, .. } => {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            Ok(Conn::Tcp(stream))
        }
    }
}

fn serve<IO>(io: IO, router: Router, connections: &TaskTracker, shutdown: &CancellationToken)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let router = router.clone();
        async move { Ok::<_, Infallible>(handle(router, request).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    let shutdown = shutdown.clone();
    connections.spawn(async move {
        tokio::pin!(connection);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            _ = shutdown.cancelled() => {
                // Finish the request in flight, then close instead of keeping it alive.
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(e) = result {
            tracing::debug!("connection ended with error: {e}");
        }
    });
}

/// Strips and checks the `/vX.Y` prefix, then routes.
async fn handle(router: Router, request: Request<Incoming>) -> axum::response::Response {
    let mut request = request.map(Body::new);
    match routes::version::apply(&mut request) {
        Ok(()) => match router.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        Err(error) => routes::error_response(&error),
    }
}

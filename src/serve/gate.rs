//! The gate in front of the Flight SQL service: what happens to a call before tonic decodes its
//! body and Persona's handlers see it.
//!
//! - Every method but `Handshake` (the login) needs a valid bearer token: a call without one is
//!   `UNAUTHENTICATED` before its body reaches the protobuf decoder, so an anonymous client can
//!   reach nothing but the login. (Before, `ListActions` listed the protocol's action names to
//!   anyone, and an anonymous call with an undecodable body was decoded before its token was
//!   checked.)
//! - A body that does not decode is the client's error: tonic answers `INTERNAL` ("failed to
//!   decode Protobuf message: …"), which clients and proxies take for a server fault and may
//!   retry; the gate answers `INVALID_ARGUMENT` with the same message.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::codegen::http::{Request, Response};
use tonic::codegen::{BoxFuture, Service};
use tonic::metadata::MetadataMap;
use tonic::server::NamedService;
use tonic::{Code, Status};

use super::auth::Authenticator;

/// The login method, the one call allowed without a token.
const HANDSHAKE: &str = "/arrow.flight.protocol.FlightService/Handshake";

/// What prost's decode errors start with (tonic turns them into `INTERNAL`).
const UNDECODABLE: &str = "failed to decode Protobuf message";

/// `inner` (the Flight service) behind the gate of the module documentation.
#[derive(Clone)]
pub struct Gate<S> {
    inner: S,
    auth: Arc<Authenticator>,
}

impl<S> Gate<S> {
    pub fn new(inner: S, auth: Arc<Authenticator>) -> Self {
        Self { inner, auth }
    }
}

impl<S> Service<Request<Body>> for Gate<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Response<Body>, Infallible>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if request.uri().path() != HANDSHAKE {
            if let Err(status) = self.auth.check(&MetadataMap::from_headers(request.headers().clone())) {
                return Box::pin(async move { Ok(status.into_http()) });
            }
        }
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            Ok(match response.extensions().get::<Status>() {
                Some(status) if status.code() == Code::Internal && status.message().starts_with(UNDECODABLE) => {
                    Status::invalid_argument(status.message()).into_http()
                }
                _ => response,
            })
        })
    }
}

impl<S: NamedService> NamedService for Gate<S> {
    const NAME: &'static str = S::NAME;
}
